package transforms

import (
	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Distinct returns the distinct elements of each window (Beam's
// Distinct.create). T must have a deterministic coder: elements are equal when
// their encodings are. Each output is timestamped as the windowing's timestamp
// combiner says (by default, the end of its window).
func Distinct[T comparable](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[T] {
	s = s.Scope(name)
	keyed := dataflow.ParDo(s, "WithKeys", dataflow.DoFnFunc[T, KV[T, unit]](
		func(_ *dataflow.Context, v T, emit dataflow.Emitter[KV[T, unit]]) error {
			emit.Emit(KV[T, unit]{Key: v})
			return nil
		}), in)
	if !keyed.Valid() {
		return dataflow.PCollection[T]{}
	}
	combined := dataflow.CombinePerKey(s, "Combine", dataflow.CombineFn[unit, unit, unit](unitFn{}), keyed)
	if !combined.Valid() {
		return dataflow.PCollection[T]{}
	}
	return Keys(s, "Keys", combined)
}

// unitFn combines values that do not matter into nothing.
type unitFn struct{}

func (unitFn) CreateAccumulator() unit           { return unit{} }
func (unitFn) AddInput(unit, unit) unit          { return unit{} }
func (unitFn) MergeAccumulators(unit, unit) unit { return unit{} }
func (unitFn) ExtractOutput(unit) unit           { return unit{} }
