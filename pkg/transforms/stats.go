package transforms

import (
	"cmp"
	"math"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Number is the constraint of the arithmetic combines (Sum, Mean): Go's
// integer and floating-point types.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~float32 | ~float64
}

// CountFn returns the CombineFn that counts its inputs (Beam's Count.combineFn).
func CountFn[T any]() dataflow.CombineFn[T, int64, int64] { return countFn[T]{} }

type countFn[T any] struct{}

func (countFn[T]) CreateAccumulator() int64           { return 0 }
func (countFn[T]) AddInput(n int64, _ T) int64        { return n + 1 }
func (countFn[T]) MergeAccumulators(a, b int64) int64 { return a + b }
func (countFn[T]) ExtractOutput(n int64) int64        { return n }

// Count returns the number of elements in each window (Beam's Count.globally);
// 0 for an empty input in the global window.
func Count[T any](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[int64] {
	return combineGlobally(s, name, CountFn[T](), in, true)
}

// CountPerKey returns the number of values of each key and window (Beam's Count.perKey).
func CountPerKey[K comparable, V any](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, int64]] {
	return dataflow.CombinePerKey(s, name, CountFn[V](), in)
}

// unit is the value of keyed collections whose values do not matter (Beam's Void).
type unit = struct{}

// CountPerElement returns, for each distinct element of each window, how many
// times it occurs (Beam's Count.perElement). T must have a deterministic coder.
func CountPerElement[T comparable](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[KV[T, int64]] {
	s = s.Scope(name)
	keyed := dataflow.ParDo(s, "WithKeys", dataflow.DoFnFunc[T, KV[T, unit]](
		func(_ *dataflow.Context, v T, emit dataflow.Emitter[KV[T, unit]]) error {
			emit.Emit(KV[T, unit]{Key: v})
			return nil
		}), in)
	if !keyed.Valid() {
		return dataflow.PCollection[KV[T, int64]]{}
	}
	return CountPerKey(s, "Count", keyed)
}

// SumFn returns the CombineFn that adds its inputs (Beam's Sum.ofIntegers,
// ofLongs, ofDoubles). Integer sums wrap around on overflow, as Go's do.
func SumFn[T Number]() dataflow.CombineFn[T, T, T] { return sumFn[T]{} }

type sumFn[T Number] struct{}

func (sumFn[T]) CreateAccumulator() T       { return 0 }
func (sumFn[T]) AddInput(a, v T) T          { return a + v }
func (sumFn[T]) MergeAccumulators(a, b T) T { return a + b }
func (sumFn[T]) ExtractOutput(a T) T        { return a }

// Sum returns the sum of the elements of each window (Beam's Sum.globally);
// 0 for an empty input in the global window.
func Sum[T Number](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[T] {
	return combineGlobally(s, name, SumFn[T](), in, true)
}

// SumPerKey returns the sum of the values of each key and window (Beam's Sum.perKey).
func SumPerKey[K comparable, V Number](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, V]] {
	return dataflow.CombinePerKey(s, name, SumFn[V](), in)
}

// MeanAccumulator is the accumulator of MeanFn: a sum and a count.
type MeanAccumulator struct {
	Sum   float64
	Count int64
}

// MeanFn returns the CombineFn that averages its inputs as float64 (Beam's
// Mean.of). The mean of nothing is NaN, as in Beam.
func MeanFn[T Number]() dataflow.CombineFn[T, MeanAccumulator, float64] { return meanFn[T]{} }

type meanFn[T Number] struct{}

func (meanFn[T]) CreateAccumulator() MeanAccumulator { return MeanAccumulator{} }
func (meanFn[T]) AddInput(a MeanAccumulator, v T) MeanAccumulator {
	return MeanAccumulator{Sum: a.Sum + float64(v), Count: a.Count + 1}
}
func (meanFn[T]) MergeAccumulators(a, b MeanAccumulator) MeanAccumulator {
	return MeanAccumulator{Sum: a.Sum + b.Sum, Count: a.Count + b.Count}
}
func (meanFn[T]) ExtractOutput(a MeanAccumulator) float64 {
	if a.Count == 0 {
		return math.NaN()
	}
	return a.Sum / float64(a.Count)
}

// Mean returns the mean of the elements of each window (Beam's
// Mean.globally); NaN for an empty input in the global window.
func Mean[T Number](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[float64] {
	return combineGlobally(s, name, MeanFn[T](), in, true)
}

// MeanPerKey returns the mean of the values of each key and window (Beam's Mean.perKey).
func MeanPerKey[K comparable, V Number](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, float64]] {
	return dataflow.CombinePerKey(s, name, MeanFn[V](), in)
}

// MinFn returns the CombineFn that keeps the least input (Beam's
// Min.naturalOrder). A NaN input makes the result NaN, as Go's min does.
func MinFn[T cmp.Ordered]() dataflow.CombineFn[T, ReduceAccumulator[T], T] {
	return BinaryCombineFn(func(a, b T) T { return min(a, b) })
}

// MaxFn returns the CombineFn that keeps the greatest input (Beam's Max.naturalOrder).
func MaxFn[T cmp.Ordered]() dataflow.CombineFn[T, ReduceAccumulator[T], T] {
	return BinaryCombineFn(func(a, b T) T { return max(a, b) })
}

// Min returns the least element of each window (Beam's Min.globally). It
// emits nothing for an empty input (Beam Java emits null).
func Min[T cmp.Ordered](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[T] {
	return combineGlobally(s, name, MinFn[T](), in, false)
}

// MinPerKey returns the least value of each key and window (Beam's Min.perKey).
func MinPerKey[K comparable, V cmp.Ordered](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, V]] {
	return dataflow.CombinePerKey(s, name, MinFn[V](), in)
}

// Max returns the greatest element of each window (Beam's Max.globally). It
// emits nothing for an empty input (Beam Java emits null).
func Max[T cmp.Ordered](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[T] {
	return combineGlobally(s, name, MaxFn[T](), in, false)
}

// MaxPerKey returns the greatest value of each key and window (Beam's Max.perKey).
func MaxPerKey[K comparable, V cmp.Ordered](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, V]] {
	return dataflow.CombinePerKey(s, name, MaxFn[V](), in)
}
