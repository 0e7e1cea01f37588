package transforms

import (
	"github.com/sluicedata/sluice/pkg/dataflow"
)

// LatestFn returns the CombineFn that keeps the input with the greatest
// timestamp (Beam's Latest.combineFn). Of inputs with equal timestamps, any
// may be kept. The output of an empty input is T's zero value.
func LatestFn[T any]() dataflow.CombineFn[Timestamped[T], ReduceAccumulator[Timestamped[T]], T] {
	return latestFn[T]{}
}

type latestFn[T any] struct{}

func (latestFn[T]) CreateAccumulator() ReduceAccumulator[Timestamped[T]] {
	return ReduceAccumulator[Timestamped[T]]{}
}

func (latestFn[T]) AddInput(acc ReduceAccumulator[Timestamped[T]], v Timestamped[T]) ReduceAccumulator[Timestamped[T]] {
	if !acc.Set || v.Time > acc.Value.Time {
		return ReduceAccumulator[Timestamped[T]]{Value: v, Set: true}
	}
	return acc
}

func (f latestFn[T]) MergeAccumulators(a, b ReduceAccumulator[Timestamped[T]]) ReduceAccumulator[Timestamped[T]] {
	if !b.Set {
		return a
	}
	return f.AddInput(a, b.Value)
}

func (latestFn[T]) ExtractOutput(acc ReduceAccumulator[Timestamped[T]]) T { return acc.Value.Value }

// Latest returns, for each window, the element with the greatest event
// timestamp (Beam's Latest.globally). It emits nothing for an empty input
// (Beam Java emits null).
func Latest[T any](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[T] {
	s = s.Scope(name)
	reified := ReifyTimestamps(s, "ReifyTimestamps", in)
	if !reified.Valid() {
		return dataflow.PCollection[T]{}
	}
	return combineGlobally(s, "Latest", LatestFn[T](), reified, false)
}

// LatestPerKey returns, for each key and window, the value with the greatest
// event timestamp (Beam's Latest.perKey).
func LatestPerKey[K comparable, V any](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, V]] {
	s = s.Scope(name)
	reified := dataflow.ParDo(s, "ReifyTimestamps", dataflow.DoFnFunc[KV[K, V], KV[K, Timestamped[V]]](
		func(c *dataflow.Context, kv KV[K, V], emit dataflow.Emitter[KV[K, Timestamped[V]]]) error {
			emit.Emit(KV[K, Timestamped[V]]{Key: kv.Key, Value: Timestamped[V]{Value: kv.Value, Time: c.Timestamp()}})
			return nil
		}), in)
	if !reified.Valid() {
		return dataflow.PCollection[KV[K, V]]{}
	}
	return dataflow.CombinePerKey(s, "Latest", LatestFn[V](), reified)
}
