package generator

import (
	"context"
	"fmt"

	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Source is the bounded source of events [start, end) of a Generator, each
// at its event timestamp in the global window. It splits by event-number
// range; since every event is a function of its number, any split reads the
// same events.
type Source struct {
	gen        *Generator
	start, end int64
}

var (
	_ dataflow.BoundedSource[model.Event] = (*Source)(nil)
	_ dataflow.SizedSource                = (*Source)(nil)
)

// NewSource returns the source of events [0, n) of g.
func NewSource(g *Generator, n int64) *Source {
	return &Source{gen: g, start: 0, end: max(n, 0)}
}

// Split divides the range into at most desired parts of nearly equal length.
func (s *Source) Split(_ context.Context, desired int) ([]dataflow.BoundedSource[model.Event], error) {
	return splitRange(s.start, s.end, desired, func(lo, hi int64) dataflow.BoundedSource[model.Event] {
		return &Source{gen: s.gen, start: lo, end: hi}
	}), nil
}

// Read generates the events in batches of dataflow.BatchSize.
func (s *Source) Read(ctx context.Context, out dataflow.Consumer[model.Event]) error {
	batch := make([]dataflow.Elem[model.Event], 0, min(max(s.end-s.start, 0), dataflow.BatchSize))
	for lo := s.start; lo < s.end; lo += dataflow.BatchSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = batch[:0]
		for n := lo; n < min(lo+dataflow.BatchSize, s.end); n++ {
			e, ts := s.gen.Event(n)
			batch = append(batch, dataflow.Elem[model.Event]{Value: e, Time: ts, Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane})
		}
		if err := out.Consume(batch); err != nil {
			return err
		}
		clear(batch) // the events belong downstream now
	}
	return nil
}

// EstimatedBytes implements dataflow.SizedSource.
func (s *Source) EstimatedBytes() int64 { return s.gen.EstimatedBytes(s.end - s.start) }

func (s *Source) String() string { return fmt.Sprintf("Nexmark[%d, %d)", s.start, s.end) }

// SliceSource is a bounded source of events held in memory, each at its
// Timestamp in the global window: for timing queries without generation.
type SliceSource struct {
	events []model.Event
	bytes  int64 // estimated, of all of events
	off    int   // of events[0] in the whole slice, for String
}

var _ dataflow.BoundedSource[model.Event] = (*SliceSource)(nil)

// NewSliceSource returns a source of events, which must not change while it is read.
func NewSliceSource(g *Generator, events []model.Event) *SliceSource {
	return &SliceSource{events: events, bytes: g.EstimatedBytes(int64(len(events)))}
}

// Split divides the slice into at most desired parts of nearly equal length.
func (s *SliceSource) Split(_ context.Context, desired int) ([]dataflow.BoundedSource[model.Event], error) {
	n := int64(len(s.events))
	return splitRange(0, n, desired, func(lo, hi int64) dataflow.BoundedSource[model.Event] {
		return &SliceSource{events: s.events[lo:hi], bytes: s.bytes * (hi - lo) / max(n, 1), off: s.off + int(lo)}
	}), nil
}

// Read emits the events in batches of dataflow.BatchSize.
func (s *SliceSource) Read(ctx context.Context, out dataflow.Consumer[model.Event]) error {
	batch := make([]dataflow.Elem[model.Event], 0, min(len(s.events), dataflow.BatchSize))
	for lo := 0; lo < len(s.events); lo += dataflow.BatchSize {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch = batch[:0]
		for _, e := range s.events[lo:min(lo+dataflow.BatchSize, len(s.events))] {
			batch = append(batch, dataflow.Elem[model.Event]{Value: e, Time: e.Timestamp(), Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane})
		}
		if err := out.Consume(batch); err != nil {
			return err
		}
	}
	return nil
}

// EstimatedBytes implements dataflow.SizedSource.
func (s *SliceSource) EstimatedBytes() int64 { return s.bytes }

func (s *SliceSource) String() string {
	return fmt.Sprintf("NexmarkSlice[%d, %d)", s.off, s.off+len(s.events))
}

// splitRange cuts [start, end) into at most desired non-empty parts of nearly equal length.
func splitRange[S any](start, end int64, desired int, part func(lo, hi int64) S) []S {
	n := end - start
	if desired <= 1 || n <= 1 {
		return []S{part(start, end)}
	}
	parts := min(int64(desired), n)
	size, extra := n/parts, n%parts
	out := make([]S, 0, parts)
	lo := start
	for i := range parts {
		hi := lo + size
		if i < extra {
			hi++
		}
		out = append(out, part(lo, hi))
		lo = hi
	}
	return out
}
