package passert

import (
	stdcmp "cmp"
	"iter"
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Grouped turns the output of a GroupByKey into values that assertions can
// compare: each KV[K, iter.Seq[V]] becomes a KV[K, []V] whose values are
// sorted, so that a group compares equal to a want list written in sorted
// order whatever order the runner grouped the values in. The elements keep
// their timestamps, windows and panes. It is one ParDo named name.
func Grouped[K comparable, V stdcmp.Ordered](s dataflow.Scope, name string, pc dataflow.PCollection[dataflow.KV[K, iter.Seq[V]]]) dataflow.PCollection[dataflow.KV[K, []V]] {
	return GroupedFunc(s, name, pc, stdcmp.Compare[V])
}

// GroupedFunc is Grouped for values of any type, sorted with compare. With a
// nil compare the values keep the order in which the runner yields them,
// which a runner does not define.
func GroupedFunc[K comparable, V any](s dataflow.Scope, name string, pc dataflow.PCollection[dataflow.KV[K, iter.Seq[V]]], compare func(a, b V) int) dataflow.PCollection[dataflow.KV[K, []V]] {
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[dataflow.KV[K, iter.Seq[V]], dataflow.KV[K, []V]](
		func(_ *dataflow.Context, g dataflow.KV[K, iter.Seq[V]], emit dataflow.Emitter[dataflow.KV[K, []V]]) error {
			vs := slices.Collect(g.Value)
			if compare != nil {
				slices.SortStableFunc(vs, compare)
			}
			emit.Emit(dataflow.KV[K, []V]{Key: g.Key, Value: vs})
			return nil
		}), pc)
}
