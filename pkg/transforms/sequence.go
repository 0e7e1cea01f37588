package transforms

import (
	"context"
	"fmt"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Sequence returns the integers in [start, end), each at MinTime in the global
// window (Beam's GenerateSequence.from(start).to(end)). It is a splittable
// bounded source: runners read its parts in parallel.
func Sequence(s dataflow.Scope, name string, start, end int64) dataflow.PCollection[int64] {
	if end < start {
		s.Errorf(name, "sequence end %d is before its start %d", end, start)
		return dataflow.PCollection[int64]{}
	}
	return dataflow.Read[int64](s, name, sequenceSource{start: start, end: end})
}

// sequenceSource is the range [start, end).
type sequenceSource struct{ start, end int64 }

var _ dataflow.BoundedSource[int64] = sequenceSource{}

// Split divides the range into at most desired parts of nearly equal length,
// none of them empty.
func (r sequenceSource) Split(_ context.Context, desired int) ([]dataflow.BoundedSource[int64], error) {
	n := uint64(r.end - r.start) // end >= start, so this does not overflow as uint64
	if desired <= 1 || n <= 1 {
		return []dataflow.BoundedSource[int64]{r}, nil
	}
	parts := min(uint64(desired), n)
	size, extra := n/parts, n%parts
	out := make([]dataflow.BoundedSource[int64], 0, parts)
	lo := r.start
	for i := range parts {
		l := size
		if i < extra {
			l++
		}
		hi := lo + int64(l)
		out = append(out, sequenceSource{start: lo, end: hi})
		lo = hi
	}
	return out, nil
}

// Read emits the range in batches of dataflow.BatchSize, reusing one batch.
func (r sequenceSource) Read(ctx context.Context, out dataflow.Consumer[int64]) error {
	if r.end <= r.start {
		return nil
	}
	batch := make([]dataflow.Elem[int64], 0, min(uint64(r.end-r.start), dataflow.BatchSize))
	for lo := r.start; lo < r.end; {
		if err := ctx.Err(); err != nil {
			return err
		}
		// A count, not lo+BatchSize, so that ranges ending near MaxInt64 do not overflow.
		n := min(uint64(r.end-lo), dataflow.BatchSize)
		batch = batch[:0]
		for i := range n {
			batch = append(batch, dataflow.Elem[int64]{Value: lo + int64(i), Time: dataflow.MinTime, Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane})
		}
		if err := out.Consume(batch); err != nil {
			return err
		}
		lo += int64(n) // at most end, so no overflow
	}
	return nil
}

func (r sequenceSource) String() string { return fmt.Sprintf("Sequence[%d, %d)", r.start, r.end) }
