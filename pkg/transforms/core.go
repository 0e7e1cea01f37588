package transforms

import (
	"iter"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// KV is dataflow.KV: a key and a value, the element type of keyed collections.
type KV[K, V any] = dataflow.KV[K, V]

// Pair makes a KV.
func Pair[K, V any](k K, v V) KV[K, V] { return KV[K, V]{Key: k, Value: v} }

// ParDo is dataflow.ParDo (Beam's ParDo): fn applied to every element of in.
func ParDo[I, O any](s dataflow.Scope, name string, fn dataflow.DoFn[I, O], in dataflow.PCollection[I], opts ...dataflow.ParDoOption) dataflow.PCollection[O] {
	return dataflow.ParDo(s, name, fn, in, opts...)
}

// GroupByKey is dataflow.GroupByKey (Beam's GroupByKey): the values of each
// key and window, as a re-iterable sequence.
func GroupByKey[K comparable, V any](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, iter.Seq[V]]] {
	return dataflow.GroupByKey(s, name, in)
}

// Flatten is dataflow.Flatten (Beam's Flatten): the union of collections
// with the same window fn.
func Flatten[T any](s dataflow.Scope, name string, ins ...dataflow.PCollection[T]) dataflow.PCollection[T] {
	return dataflow.Flatten(s, name, ins...)
}

// WindowInto is dataflow.WindowInto (Beam's Window.into): assigns windows and
// sets the trigger, accumulation mode, allowed lateness and timestamp combiner.
func WindowInto[T any](s dataflow.Scope, name string, fn dataflow.WindowFn, in dataflow.PCollection[T], opts ...dataflow.WindowOption) dataflow.PCollection[T] {
	return dataflow.WindowInto(s, name, fn, in, opts...)
}

// Reshuffle is dataflow.Reshuffle (Beam's Reshuffle): redistributes elements
// across workers, a fusion break.
func Reshuffle[T any](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[T] {
	return dataflow.Reshuffle(s, name, in)
}

// CombinePerKey is dataflow.CombinePerKey (Beam's Combine.perKey): the values
// of each key and window combined with fn.
func CombinePerKey[K comparable, I, A, O any](s dataflow.Scope, name string, fn dataflow.CombineFn[I, A, O], in dataflow.PCollection[KV[K, I]]) dataflow.PCollection[KV[K, O]] {
	return dataflow.CombinePerKey(s, name, fn, in)
}
