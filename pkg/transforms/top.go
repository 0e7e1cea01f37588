package transforms

import (
	"cmp"
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// TopAccumulator is the accumulator of TopFn: up to n items, kept as a heap
// whose root is the least of them.
type TopAccumulator[T any] struct {
	Items []T
}

// TopFn returns the CombineFn that keeps the n greatest inputs according to
// less and outputs them sorted from greatest to least (Beam's
// Top.TopCombineFn). Which of several equal inputs are kept is unspecified.
// less must be a strict weak order; it may be called concurrently.
func TopFn[T any](n int, less func(a, b T) bool) dataflow.CombineFn[T, TopAccumulator[T], []T] {
	return topFn[T]{n: n, less: less}
}

type topFn[T any] struct {
	n    int
	less func(a, b T) bool
}

func (topFn[T]) CreateAccumulator() TopAccumulator[T] { return TopAccumulator[T]{} }

func (f topFn[T]) AddInput(acc TopAccumulator[T], v T) TopAccumulator[T] {
	acc.Items = heapPush(acc.Items, v, f.n, f.less)
	return acc
}

func (f topFn[T]) MergeAccumulators(a, b TopAccumulator[T]) TopAccumulator[T] {
	for _, v := range b.Items {
		a.Items = heapPush(a.Items, v, f.n, f.less)
	}
	return a
}

func (f topFn[T]) ExtractOutput(acc TopAccumulator[T]) []T {
	out := slices.Clone(acc.Items) // the accumulator may still be used (accumulating panes)
	if out == nil {
		out = []T{}
	}
	slices.SortFunc(out, func(a, b T) int { // greatest first
		switch {
		case f.less(b, a):
			return -1
		case f.less(a, b):
			return 1
		}
		return 0
	})
	return out
}

// heapPush adds v to h, a min-heap (by less) of at most n items: if h is full,
// v replaces the least item when it is greater.
func heapPush[T any](h []T, v T, n int, less func(a, b T) bool) []T {
	switch {
	case n <= 0:
		return h
	case len(h) < n:
		h = append(h, v)
		for i := len(h) - 1; i > 0; { // sift up
			p := (i - 1) / 2
			if !less(h[i], h[p]) {
				break
			}
			h[i], h[p] = h[p], h[i]
			i = p
		}
		return h
	case !less(h[0], v):
		return h
	}
	h[0] = v
	for i := 0; ; { // sift down
		l, m := 2*i+1, i
		if l < len(h) && less(h[l], h[m]) {
			m = l
		}
		if r := l + 1; r < len(h) && less(h[r], h[m]) {
			m = r
		}
		if m == i {
			return h
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func checkTop[T any](s dataflow.Scope, name string, n int, less func(a, b T) bool) bool {
	if n < 0 {
		s.Errorf(name, "count %d is negative", n)
		return false
	}
	if less == nil {
		s.Errorf(name, "nil less function")
		return false
	}
	return true
}

// Top returns, for each window, the n greatest elements according to less,
// greatest first (Beam's Top.of(n, comparator)); an empty slice for an empty
// input in the global window.
func Top[T any](s dataflow.Scope, name string, n int, less func(a, b T) bool, in dataflow.PCollection[T]) dataflow.PCollection[[]T] {
	if !checkTop(s, name, n, less) {
		return dataflow.PCollection[[]T]{}
	}
	return combineGlobally(s, name, TopFn(n, less), in, true)
}

// TopPerKey returns, for each key and window, the n greatest values according
// to less, greatest first (Beam's Top.perKey(n, comparator)).
func TopPerKey[K comparable, V any](s dataflow.Scope, name string, n int, less func(a, b V) bool, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, []V]] {
	if !checkTop(s, name, n, less) {
		return dataflow.PCollection[KV[K, []V]]{}
	}
	return dataflow.CombinePerKey(s, name, TopFn(n, less), in)
}

// greater orders the other way round, so that the "top" by it are the smallest.
func greater[T cmp.Ordered](a, b T) bool { return cmp.Less(b, a) }

// Largest returns the n largest elements of each window, largest first
// (Beam's Top.largest). NaNs are smaller than every other float.
func Largest[T cmp.Ordered](s dataflow.Scope, name string, n int, in dataflow.PCollection[T]) dataflow.PCollection[[]T] {
	return Top(s, name, n, cmp.Less[T], in)
}

// Smallest returns the n smallest elements of each window, smallest first
// (Beam's Top.smallest).
func Smallest[T cmp.Ordered](s dataflow.Scope, name string, n int, in dataflow.PCollection[T]) dataflow.PCollection[[]T] {
	return Top(s, name, n, greater[T], in)
}

// LargestPerKey returns the n largest values of each key and window, largest
// first (Beam's Top.largestPerKey).
func LargestPerKey[K comparable, V cmp.Ordered](s dataflow.Scope, name string, n int, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, []V]] {
	return TopPerKey(s, name, n, cmp.Less[V], in)
}

// SmallestPerKey returns the n smallest values of each key and window,
// smallest first (Beam's Top.smallestPerKey).
func SmallestPerKey[K comparable, V cmp.Ordered](s dataflow.Scope, name string, n int, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, []V]] {
	return TopPerKey(s, name, n, greater[V], in)
}
