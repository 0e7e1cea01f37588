package transforms

import (
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Timestamped is a value with an event timestamp: the input of
// CreateTimestamped and the output of ReifyTimestamps (Beam's TimestampedValue).
type Timestamped[T any] struct {
	Value T
	Time  dataflow.EventTime
}

// Create returns a bounded collection of values, each at MinTime in the global
// window (Beam's Create.of). The values are copied when the pipeline is built.
//
// Create is an Impulse followed by a ParDo that emits the values, so one
// worker emits them all; Reshuffle the result to spread expensive work on a
// long list, or use a splittable source (Sequence, Read) for large inputs.
func Create[T any](s dataflow.Scope, name string, values ...T) dataflow.PCollection[T] {
	vs := slices.Clone(values)
	s = s.Scope(name)
	imp := dataflow.Impulse(s, "Impulse")
	if !imp.Valid() {
		return dataflow.PCollection[T]{}
	}
	return dataflow.ParDo(s, "Values", dataflow.DoFnFunc[[]byte, T](
		func(_ *dataflow.Context, _ []byte, emit dataflow.Emitter[T]) error {
			for _, v := range vs {
				emit.Emit(v)
			}
			return nil
		}), imp)
}

// CreateTimestamped returns a bounded collection of values with the given
// event timestamps, in the global window (Beam's Create.timestamped). Apply
// WindowInto to window them by their timestamps.
func CreateTimestamped[T any](s dataflow.Scope, name string, values []Timestamped[T]) dataflow.PCollection[T] {
	vs := slices.Clone(values)
	for i, v := range vs {
		if v.Time < dataflow.MinTime || v.Time > dataflow.MaxTime {
			s.Errorf(name, "value %d has timestamp %d, outside [MinTime, MaxTime]", i, int64(v.Time))
			return dataflow.PCollection[T]{}
		}
	}
	s = s.Scope(name)
	imp := dataflow.Impulse(s, "Impulse")
	if !imp.Valid() {
		return dataflow.PCollection[T]{}
	}
	// The impulse is at MinTime, so no output is ever before its input: no skew needed.
	return dataflow.ParDo(s, "Values", dataflow.DoFnFunc[[]byte, T](
		func(_ *dataflow.Context, _ []byte, emit dataflow.Emitter[T]) error {
			for _, v := range vs {
				emit.EmitAt(v.Value, v.Time)
			}
			return nil
		}), imp)
}
