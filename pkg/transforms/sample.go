package transforms

import (
	"math/rand/v2"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// SampleFn returns the CombineFn that picks n of its inputs uniformly at
// random, without replacement (Beam's Sample.FixedSizedSampleFn). It gives
// every input a random 64-bit priority and keeps the n highest, so that
// samples merge without bias. The output is in no particular order.
func SampleFn[T any](n int) dataflow.CombineFn[T, TopAccumulator[KV[uint64, T]], []T] {
	return sampleFn[T]{top: topFn[KV[uint64, T]]{n: n, less: lessPriority[T]}}
}

func lessPriority[T any](a, b KV[uint64, T]) bool { return a.Key < b.Key }

type sampleFn[T any] struct {
	top topFn[KV[uint64, T]]
}

func (f sampleFn[T]) CreateAccumulator() TopAccumulator[KV[uint64, T]] {
	return f.top.CreateAccumulator()
}

func (f sampleFn[T]) AddInput(acc TopAccumulator[KV[uint64, T]], v T) TopAccumulator[KV[uint64, T]] {
	// math/rand/v2's global source is safe for concurrent use and seeded per process.
	return f.top.AddInput(acc, KV[uint64, T]{Key: rand.Uint64(), Value: v})
}

func (f sampleFn[T]) MergeAccumulators(a, b TopAccumulator[KV[uint64, T]]) TopAccumulator[KV[uint64, T]] {
	return f.top.MergeAccumulators(a, b)
}

func (f sampleFn[T]) ExtractOutput(acc TopAccumulator[KV[uint64, T]]) []T {
	out := make([]T, len(acc.Items))
	for i, kv := range acc.Items {
		out[i] = kv.Value
	}
	return out
}

// SampleFixedSize returns, for each window, n of its elements picked
// uniformly at random without replacement, or all of them if there are fewer
// (Beam's Sample.fixedSizeGlobally); an empty slice for an empty input in the
// global window.
func SampleFixedSize[T any](s dataflow.Scope, name string, n int, in dataflow.PCollection[T]) dataflow.PCollection[[]T] {
	if n < 0 {
		s.Errorf(name, "sample size %d is negative", n)
		return dataflow.PCollection[[]T]{}
	}
	return combineGlobally(s, name, SampleFn[T](n), in, true)
}

// SampleFixedSizePerKey returns, for each key and window, n of its values
// picked uniformly at random without replacement (Beam's Sample.fixedSizePerKey).
func SampleFixedSizePerKey[K comparable, V any](s dataflow.Scope, name string, n int, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, []V]] {
	if n < 0 {
		s.Errorf(name, "sample size %d is negative", n)
		return dataflow.PCollection[KV[K, []V]]{}
	}
	return dataflow.CombinePerKey(s, name, SampleFn[V](n), in)
}
