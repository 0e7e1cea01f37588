package transforms

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Precisions of ApproximateCountDistinct and HLLFn. A sketch of precision p
// holds 2^p one-byte registers and estimates with a relative standard error
// of about 1.04/sqrt(2^p): 0.8% at the default 14, 0.4% at 16.
const (
	MinHLLPrecision     = 4
	MaxHLLPrecision     = 18
	DefaultHLLPrecision = 14
)

// HLLSketch is the accumulator of HLLFn: a HyperLogLog sketch of 64-bit
// hashes. While it is small it is sparse, the exact set of hashes it has seen;
// once that set would take more memory than the registers, it becomes dense.
type HLLSketch struct {
	// Hashes is the sparse form: hashes seen, not yet deduplicated past
	// the first Sorted, which are sorted and distinct. Nil once dense.
	Hashes []uint64
	Sorted int
	// Registers is the dense form: for each of the 2^p buckets, the largest
	// rank seen (the position of the first 1 bit after the bucket bits).
	Registers []uint8
}

// HLLFn returns the CombineFn that estimates how many distinct 64-bit hashes
// it is given, with a HyperLogLog sketch of the given precision (Beam's
// HllCount and ApproximateCountDistinct, which use HyperLogLog++). Below
// 2^precision/8 distinct hashes the count is exact; above, the estimate uses
// Ertl's improved estimator ("New cardinality estimation algorithms for
// HyperLogLog sketches", 2017), which needs no bias-correction tables. The
// inputs must be well-mixed hashes (see ApproximateCountDistinct). HLLFn panics
// if precision is outside [MinHLLPrecision, MaxHLLPrecision].
func HLLFn(precision int) dataflow.CombineFn[uint64, HLLSketch, int64] {
	if precision < MinHLLPrecision || precision > MaxHLLPrecision {
		panic(fmt.Sprintf("transforms.HLLFn: precision %d outside [%d, %d]", precision, MinHLLPrecision, MaxHLLPrecision))
	}
	m := 1 << precision
	// Eight bytes per sparse hash against one per register: the sparse form
	// stays no larger than the dense one.
	return hllFn{p: uint8(precision), sparseMax: max(m/8, 1)}
}

type hllFn struct {
	p         uint8
	sparseMax int
}

func (hllFn) CreateAccumulator() HLLSketch { return HLLSketch{} }

func (f hllFn) AddInput(s HLLSketch, h uint64) HLLSketch {
	if s.Registers != nil {
		f.set(s.Registers, h)
		return s
	}
	s.Hashes = append(s.Hashes, h)
	if len(s.Hashes) >= 2*f.sparseMax {
		s = f.compact(s)
	}
	return s
}

func (f hllFn) MergeAccumulators(a, b HLLSketch) HLLSketch {
	switch {
	case a.Registers == nil && b.Registers == nil:
		a.Hashes = append(a.Hashes, b.Hashes...)
		if len(a.Hashes) >= 2*f.sparseMax {
			a = f.compact(a)
		}
		return a
	case a.Registers == nil:
		a = f.densify(a)
	}
	if b.Registers != nil {
		for i, r := range b.Registers {
			a.Registers[i] = max(a.Registers[i], r)
		}
		return a
	}
	for _, h := range b.Hashes {
		f.set(a.Registers, h)
	}
	return a
}

func (f hllFn) ExtractOutput(s HLLSketch) int64 {
	if s.Registers == nil {
		// Count on a copy: the accumulator may still be used (accumulating panes).
		return int64(len(sortedDistinct(slices.Clone(s.Hashes), s.Sorted)))
	}
	return int64(math.Round(ertlEstimate(s.Registers, int(f.p))))
}

// compact deduplicates the sparse hashes, and turns the sketch dense if there
// are still too many.
func (f hllFn) compact(s HLLSketch) HLLSketch {
	s.Hashes = sortedDistinct(s.Hashes, s.Sorted)
	s.Sorted = len(s.Hashes)
	if len(s.Hashes) > f.sparseMax {
		return f.densify(s)
	}
	return s
}

func (f hllFn) densify(s HLLSketch) HLLSketch {
	regs := make([]uint8, 1<<f.p)
	for _, h := range s.Hashes {
		f.set(regs, h)
	}
	return HLLSketch{Registers: regs}
}

// set records hash h: its first p bits choose the register, and the rank of
// the rest is one more than its count of leading zeros.
func (f hllFn) set(regs []uint8, h uint64) {
	q := 64 - int(f.p)
	idx := h >> q
	rank := uint8(min(bits.LeadingZeros64(h<<f.p), q) + 1)
	if rank > regs[idx] {
		regs[idx] = rank
	}
}

// sortedDistinct sorts hs, of which the first sorted are already sorted and
// distinct, and removes duplicates.
func sortedDistinct(hs []uint64, sorted int) []uint64 {
	if sorted < len(hs) {
		slices.Sort(hs[sorted:])
		if sorted > 0 {
			// Merge the two sorted runs; most of the time the new run is the
			// shorter, so a full sort would redo work.
			merged := make([]uint64, 0, len(hs))
			a, b := hs[:sorted], hs[sorted:]
			for len(a) > 0 && len(b) > 0 {
				if a[0] <= b[0] {
					merged, a = append(merged, a[0]), a[1:]
				} else {
					merged, b = append(merged, b[0]), b[1:]
				}
			}
			merged = append(append(merged, a...), b...)
			hs = merged
		}
	}
	return slices.Compact(hs)
}

// ertlEstimate is the improved raw estimator of Ertl (2017), algorithm 6: it
// is unbiased from empty sketches to saturated ones, with no linear-counting
// switch and no empirical bias correction.
func ertlEstimate(regs []uint8, p int) float64 {
	q := 64 - p
	m := float64(len(regs))
	var c [66]float64 // c[k] counts the registers holding k, 0 <= k <= q+1
	for _, r := range regs {
		c[r]++
	}
	z := m * ertlTau(1-c[q+1]/m)
	for k := q; k >= 1; k-- {
		z = 0.5 * (z + c[k])
	}
	z += m * ertlSigma(c[0]/m)
	return m * m / (2 * math.Ln2) / z
}

func ertlSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func ertlTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}

// hash64 hashes b with FNV-1a and then murmur3's 64-bit finalizer, so that
// every bit of the result depends on every input bit (HyperLogLog reads the
// top bits and the leading zeros). It has a fixed seed: every worker, every
// run and every runner hash a value alike, so sketches merge.
func hash64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// hashFn hashes the deterministic encoding of each element.
type hashFn[T any] struct {
	coder dataflow.Coder[T]
	buf   []byte // per worker: the runner copies the struct
}

func (f *hashFn[T]) ProcessElement(_ *dataflow.Context, v T, emit dataflow.Emitter[uint64]) error {
	f.buf = f.coder.Encode(f.buf[:0], v)
	emit.Emit(hash64(f.buf))
	return nil
}

// hashValueFn hashes the deterministic encoding of each value, keeping the key.
type hashValueFn[K comparable, V any] struct {
	coder dataflow.Coder[V]
	buf   []byte
}

func (f *hashValueFn[K, V]) ProcessElement(_ *dataflow.Context, kv KV[K, V], emit dataflow.Emitter[KV[K, uint64]]) error {
	f.buf = f.coder.Encode(f.buf[:0], kv.Value)
	emit.Emit(KV[K, uint64]{Key: kv.Key, Value: hash64(f.buf)})
	return nil
}

func checkPrecision(s dataflow.Scope, name string, precision int) bool {
	if precision < MinHLLPrecision || precision > MaxHLLPrecision {
		s.Errorf(name, "precision %d outside [%d, %d]", precision, MinHLLPrecision, MaxHLLPrecision)
		return false
	}
	return true
}

// ApproximateCountDistinct estimates the number of distinct elements in each
// window with a HyperLogLog sketch of the given precision (Beam's
// ApproximateCountDistinct.globally; see HLLFn for the error). Elements are
// equal when their encodings are, so T must have a deterministic coder; the
// encodings are hashed with a fixed seed, so results are reproducible. It
// emits 0 for an empty input in the global window.
func ApproximateCountDistinct[T any](s dataflow.Scope, name string, precision int, in dataflow.PCollection[T]) dataflow.PCollection[int64] {
	if !checkPrecision(s, name, precision) {
		return dataflow.PCollection[int64]{}
	}
	c, err := dataflow.KeyCoderOf[T]()
	if err != nil {
		s.Errorf(name, "elements cannot be hashed: %v", err)
		return dataflow.PCollection[int64]{}
	}
	s = s.Scope(name)
	hashed := dataflow.ParDo[T, uint64](s, "Hash", &hashFn[T]{coder: c}, in)
	if !hashed.Valid() {
		return dataflow.PCollection[int64]{}
	}
	return combineGlobally(s, "Combine", HLLFn(precision), hashed, true)
}

// ApproximateCountDistinctPerKey estimates the number of distinct values of
// each key and window (Beam's ApproximateCountDistinct.perKey). V must have a
// deterministic coder.
func ApproximateCountDistinctPerKey[K comparable, V any](s dataflow.Scope, name string, precision int, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, int64]] {
	if !checkPrecision(s, name, precision) {
		return dataflow.PCollection[KV[K, int64]]{}
	}
	c, err := dataflow.KeyCoderOf[V]()
	if err != nil {
		s.Errorf(name, "values cannot be hashed: %v", err)
		return dataflow.PCollection[KV[K, int64]]{}
	}
	s = s.Scope(name)
	hashed := dataflow.ParDo[KV[K, V], KV[K, uint64]](s, "Hash", &hashValueFn[K, V]{coder: c}, in)
	if !hashed.Valid() {
		return dataflow.PCollection[KV[K, int64]]{}
	}
	return dataflow.CombinePerKey(s, "Combine", HLLFn(precision), hashed)
}
