package transforms

import (
	"fmt"
	"strconv"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Partition splits in into n collections: an element goes to the collection
// whose index fn returns (Beam's Partition.of). An index outside [0, n) fails
// the element, and the run. Partition is one ParDo with n outputs: "out" for
// partition 0 and "out1", ..., "out<n-1>" for the others.
func Partition[T any](s dataflow.Scope, name string, n int, fn func(T) int, in dataflow.PCollection[T]) []dataflow.PCollection[T] {
	if n < 1 {
		s.Errorf(name, "partition count %d is less than 1", n)
		return nil
	}
	res := make([]dataflow.PCollection[T], n) // invalid until built, so callers can still index it
	if fn == nil {
		s.Errorf(name, "nil partition function")
		return res
	}
	extra := make([]*dataflow.Output[T], n-1)
	outs := make([]dataflow.AnyOutput, n-1)
	for i := range extra {
		extra[i] = dataflow.NewOutput[T]("out" + strconv.Itoa(i+1))
		outs[i] = extra[i]
	}
	main := dataflow.ParDo(s, name, dataflow.DoFnFunc[T, T](
		func(c *dataflow.Context, v T, emit dataflow.Emitter[T]) error {
			switch i := fn(v); {
			case i == 0:
				emit.Emit(v)
			case i > 0 && i < n:
				extra[i-1].Emit(c, v)
			default:
				return fmt.Errorf("partition function returned %d, want an index in [0, %d)", i, n)
			}
			return nil
		}), in, dataflow.WithOutputs(outs...))
	if !main.Valid() {
		return res
	}
	res[0] = main
	for i, o := range extra {
		res[i+1] = o.PCollection()
	}
	return res
}
