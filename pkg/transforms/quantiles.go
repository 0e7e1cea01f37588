package transforms

import (
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// DefaultQuantilesBufferSize is the default size of the buffers of a
// quantiles sketch: inputs of up to this many elements per key and window
// give exact quantiles.
const DefaultQuantilesBufferSize = 1024

// QuantilesOption configures ApproximateQuantiles and QuantilesFn.
type QuantilesOption func(*quantilesConfig)

type quantilesConfig struct {
	bufferSize int
}

// QuantilesBufferSize sets k, the size of each buffer of the sketch (default
// the larger of DefaultQuantilesBufferSize and 4*numQuantiles). Up to k inputs
// give exact quantiles; past that the sketch holds about k*log2(n/k) of its n
// inputs, and larger buffers give smaller errors.
func QuantilesBufferSize(k int) QuantilesOption {
	return func(c *quantilesConfig) { c.bufferSize = k }
}

// QuantilesAccumulator is the accumulator of QuantilesFn: a mergeable sketch
// in the style of Munro and Paterson's, as Beam's ApproximateQuantiles uses.
// Levels[h] holds items that each stand for 2^h inputs; a level that grows
// past the buffer size is sorted and compacted: one item of each adjacent pair
// moves up a level, the lower and the upper alternately so that the errors
// cancel. Min and Max are exact.
type QuantilesAccumulator[T any] struct {
	Count    int64
	Min, Max T
	Levels   [][]T
	// Parity has bit h set when level h keeps the upper item of each pair at
	// its next compaction.
	Parity uint64
}

// QuantilesFn returns the CombineFn that computes numQuantiles quantiles of
// its inputs, ordered by less (Beam's ApproximateQuantilesCombineFn): the
// least input, numQuantiles-2 evenly spaced quantiles and the greatest input,
// or an empty slice for no input. It panics if numQuantiles < 2 or the buffer
// size is less than 2.
func QuantilesFn[T any](numQuantiles int, less func(a, b T) bool, opts ...QuantilesOption) dataflow.CombineFn[T, QuantilesAccumulator[T], []T] {
	if numQuantiles < 2 {
		panic("transforms.QuantilesFn: numQuantiles must be at least 2")
	}
	cfg := quantilesConfig{bufferSize: max(DefaultQuantilesBufferSize, 4*numQuantiles)}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.bufferSize < 2 {
		panic("transforms.QuantilesFn: buffer size must be at least 2")
	}
	f := quantilesFn[T]{n: numQuantiles, k: cfg.bufferSize, less: less}
	f.cmp = func(a, b T) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	}
	return f
}

type quantilesFn[T any] struct {
	n    int // number of quantiles
	k    int // buffer size
	less func(a, b T) bool
	cmp  func(a, b T) int
}

func (quantilesFn[T]) CreateAccumulator() QuantilesAccumulator[T] { return QuantilesAccumulator[T]{} }

func (f quantilesFn[T]) AddInput(acc QuantilesAccumulator[T], v T) QuantilesAccumulator[T] {
	switch {
	case acc.Count == 0:
		acc.Min, acc.Max = v, v
	case f.less(v, acc.Min):
		acc.Min = v
	case f.less(acc.Max, v):
		acc.Max = v
	}
	acc.Count++
	if len(acc.Levels) == 0 {
		acc.Levels = append(acc.Levels, make([]T, 0, min(f.k+1, 64)))
	}
	acc.Levels[0] = append(acc.Levels[0], v)
	f.compact(&acc, 0)
	return acc
}

func (f quantilesFn[T]) MergeAccumulators(a, b QuantilesAccumulator[T]) QuantilesAccumulator[T] {
	if b.Count == 0 {
		return a
	}
	if a.Count == 0 {
		a.Min, a.Max = b.Min, b.Max
	} else {
		if f.less(b.Min, a.Min) {
			a.Min = b.Min
		}
		if f.less(a.Max, b.Max) {
			a.Max = b.Max
		}
	}
	a.Count += b.Count
	// Copy b's items into a's levels: b must stay as it was.
	for h, items := range b.Levels {
		if h == len(a.Levels) {
			a.Levels = append(a.Levels, nil)
		}
		a.Levels[h] = append(a.Levels[h], items...)
	}
	for h := 0; h < len(a.Levels); h++ {
		f.compact(&a, h)
	}
	return a
}

// compact compacts level h, and then the levels above it, while they hold
// more than k items.
func (f quantilesFn[T]) compact(acc *QuantilesAccumulator[T], h int) {
	for ; h < len(acc.Levels) && len(acc.Levels[h]) > f.k; h++ {
		items := acc.Levels[h]
		slices.SortFunc(items, f.cmp)
		if h+1 == len(acc.Levels) {
			acc.Levels = append(acc.Levels, make([]T, 0, f.k+1))
		}
		up := acc.Levels[h+1]
		off := int(acc.Parity>>h) & 1
		acc.Parity ^= 1 << h
		pairs := len(items) / 2
		for i := range pairs {
			up = append(up, items[2*i+off])
		}
		acc.Levels[h+1] = up
		// An odd item out (the greatest) stays at this level, with its weight.
		rest := items[:0]
		if len(items)%2 == 1 {
			rest = append(rest, items[len(items)-1])
		}
		clear(items[len(rest):]) // drop references for the GC
		acc.Levels[h] = rest
	}
}

func (f quantilesFn[T]) ExtractOutput(acc QuantilesAccumulator[T]) []T {
	if acc.Count == 0 {
		return []T{}
	}
	type weighted struct {
		v T
		w int64
	}
	var all []weighted
	for h, items := range acc.Levels {
		for _, v := range items {
			all = append(all, weighted{v, int64(1) << h})
		}
	}
	slices.SortStableFunc(all, func(a, b weighted) int { return f.cmp(a.v, b.v) })
	out := make([]T, 0, f.n)
	out = append(out, acc.Min)
	// As Beam does: the j-th intermediate quantile is the item at position
	// j*step + offset of the sorted inputs (each item repeated by its weight).
	total := float64(acc.Count)
	step := total / float64(f.n-1)
	offset := (total - 1) / float64(f.n-1)
	i, cur := 0, float64(all[0].w)
	for j := 0; j < f.n-2; j++ {
		target := float64(j)*step + offset
		for cur <= target && i+1 < len(all) {
			i++
			cur += float64(all[i].w)
		}
		out = append(out, all[i].v)
	}
	return append(out, acc.Max)
}

func checkQuantiles[T any](s dataflow.Scope, name string, numQuantiles int, less func(a, b T) bool, opts []QuantilesOption) bool {
	var cfg quantilesConfig
	cfg.bufferSize = 2
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case numQuantiles < 2:
		s.Errorf(name, "numQuantiles %d is less than 2", numQuantiles)
	case less == nil:
		s.Errorf(name, "nil less function")
	case cfg.bufferSize < 2:
		s.Errorf(name, "buffer size %d is less than 2", cfg.bufferSize)
	default:
		return true
	}
	return false
}

// ApproximateQuantiles returns, for each window, numQuantiles elements
// ordered by less: the least, numQuantiles-2 evenly spaced quantiles and the
// greatest (Beam's ApproximateQuantiles.globally). With numQuantiles 5, for
// example, the minimum, the quartiles and the maximum. The result is exact
// for inputs that fit one buffer (see QuantilesBufferSize), and approximate in
// rank beyond. It emits an empty slice for an empty input in the global
// window.
func ApproximateQuantiles[T any](s dataflow.Scope, name string, numQuantiles int, less func(a, b T) bool, in dataflow.PCollection[T], opts ...QuantilesOption) dataflow.PCollection[[]T] {
	if !checkQuantiles(s, name, numQuantiles, less, opts) {
		return dataflow.PCollection[[]T]{}
	}
	return combineGlobally(s, name, QuantilesFn(numQuantiles, less, opts...), in, true)
}

// ApproximateQuantilesPerKey returns, for each key and window, numQuantiles
// values ordered by less (Beam's ApproximateQuantiles.perKey); see
// ApproximateQuantiles.
func ApproximateQuantilesPerKey[K comparable, V any](s dataflow.Scope, name string, numQuantiles int, less func(a, b V) bool, in dataflow.PCollection[KV[K, V]], opts ...QuantilesOption) dataflow.PCollection[KV[K, []V]] {
	if !checkQuantiles(s, name, numQuantiles, less, opts) {
		return dataflow.PCollection[KV[K, []V]]{}
	}
	return dataflow.CombinePerKey(s, name, QuantilesFn(numQuantiles, less, opts...), in)
}
