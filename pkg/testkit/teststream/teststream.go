// Package teststream scripts an unbounded input for tests, as Beam's
// TestStream does: elements with timestamps, watermark advances and
// processing-time advances, in order.
//
// Contract: a runner applies each event only after everything the previous
// events caused has been processed (the streaming runner gives every event
// a round of its own), so the panes a pipeline produces are a function of
// the script alone. The stream's output is in the global window. Its
// watermark starts at -inf, moves only when the script advances it (never
// backwards), and goes to +inf when the script ends. Processing time
// starts at the Unix epoch and moves only when the script advances it;
// while a TestStream is read, it drives the runner's processing-time
// clock. Elements may be added behind the watermark: that is how tests
// produce late data.
//
// The direct runner reads bounded input only and rejects a TestStream.
package teststream

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

type eventKind uint8

const (
	addElements eventKind = iota
	advanceWatermark
	advanceProcessingTime
)

type event[T any] struct {
	kind  eventKind
	elems []dataflow.Elem[T]
	wm    dataflow.EventTime
	d     time.Duration
}

// Stream is a script of events, built with its methods in order.
type Stream[T any] struct {
	events []event[T]
	wm     dataflow.EventTime
	err    error
}

// New returns an empty script.
func New[T any]() *Stream[T] { return &Stream[T]{wm: dataflow.MinTime} }

// TimestampedValue is an element to add.
type TimestampedValue[T any] struct {
	Value T
	Time  dataflow.EventTime
}

// At is a TimestampedValue.
func At[T any](v T, t dataflow.EventTime) TimestampedValue[T] {
	return TimestampedValue[T]{Value: v, Time: t}
}

// AddElements adds elements, all made available at once.
func (s *Stream[T]) AddElements(elems ...TimestampedValue[T]) *Stream[T] {
	if len(elems) == 0 {
		s.fail(fmt.Errorf("AddElements with no element"))
		return s
	}
	e := event[T]{kind: addElements}
	for _, tv := range elems {
		if tv.Time < dataflow.MinTime || tv.Time > dataflow.EndOfGlobalWindow {
			s.fail(fmt.Errorf("element timestamp %v is outside [MinTime, EndOfGlobalWindow]", tv.Time))
			return s
		}
		e.elems = append(e.elems, dataflow.Elem[T]{Value: tv.Value, Time: tv.Time, Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane})
	}
	s.events = append(s.events, e)
	return s
}

// AddElementsAt adds values that all have timestamp t.
func (s *Stream[T]) AddElementsAt(t dataflow.EventTime, values ...T) *Stream[T] {
	tvs := make([]TimestampedValue[T], len(values))
	for i, v := range values {
		tvs[i] = At(v, t)
	}
	return s.AddElements(tvs...)
}

// AdvanceWatermark moves the watermark to t, which must not be behind it.
func (s *Stream[T]) AdvanceWatermark(t dataflow.EventTime) *Stream[T] {
	if t < s.wm {
		s.fail(fmt.Errorf("watermark moves back from %v to %v", s.wm, t))
		return s
	}
	s.wm = t
	s.events = append(s.events, event[T]{kind: advanceWatermark, wm: t})
	return s
}

// AdvanceWatermarkToInfinity ends the script's event time: every window
// closes. (A script ends there anyway.)
func (s *Stream[T]) AdvanceWatermarkToInfinity() *Stream[T] {
	return s.AdvanceWatermark(dataflow.MaxTime)
}

// AdvanceProcessingTime moves processing time forward by d.
func (s *Stream[T]) AdvanceProcessingTime(d time.Duration) *Stream[T] {
	if d <= 0 {
		s.fail(fmt.Errorf("processing time advances by %v: it must move forward", d))
		return s
	}
	s.events = append(s.events, event[T]{kind: advanceProcessingTime, d: d})
	return s
}

func (s *Stream[T]) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// Create reads the script as an unbounded collection.
func Create[T any](sc dataflow.Scope, name string, s *Stream[T]) dataflow.PCollection[T] {
	if s == nil {
		sc.Errorf(name, "teststream: nil stream")
		return dataflow.PCollection[T]{}
	}
	if s.err != nil {
		sc.Errorf(name, "teststream: %v", s.err)
		return dataflow.PCollection[T]{}
	}
	return dataflow.ReadUnbounded[T](sc, name, &source[T]{events: s.events})
}

// Epoch is the processing time at which a TestStream starts.
var Epoch = time.UnixMilli(0).UTC()

type source[T any] struct{ events []event[T] }

func (s *source[T]) String() string { return fmt.Sprintf("teststream(%d events)", len(s.events)) }

// Split keeps the script in one split: its order is the point.
func (s *source[T]) Split(context.Context, int) ([]dataflow.UnboundedSource[T], error) {
	return []dataflow.UnboundedSource[T]{s}, nil
}

// Open resumes at a position: the index of the next event.
func (s *source[T]) Open(_ context.Context, pos []byte) (dataflow.UnboundedReader[T], error) {
	r := &reader[T]{events: s.events, wm: dataflow.MinTime, pt: Epoch}
	if len(pos) > 0 {
		next, n := binary.Uvarint(pos)
		if n <= 0 || next > uint64(len(s.events)) {
			return nil, fmt.Errorf("teststream: bad position %x", pos)
		}
		// Replay the clocks up to the position; the elements before it
		// were delivered.
		for _, e := range s.events[:next] {
			r.apply(e)
		}
		r.next = int(next)
	}
	return r, nil
}

type reader[T any] struct {
	events []event[T]
	next   int
	wm     dataflow.EventTime
	pt     time.Time
}

func (r *reader[T]) apply(e event[T]) {
	switch e.kind {
	case advanceWatermark:
		r.wm = e.wm
	case advanceProcessingTime:
		r.pt = r.pt.Add(e.d)
	}
}

// Read applies the next event: one event per call, so that a runner
// processes each event's consequences before the next.
func (r *reader[T]) Read(_ context.Context, dst []dataflow.Elem[T], _ int) ([]dataflow.Elem[T], error) {
	if r.next >= len(r.events) {
		r.wm = dataflow.MaxTime
		return dst, dataflow.ErrEndOfInput
	}
	e := r.events[r.next]
	r.next++
	r.apply(e)
	if e.kind == addElements {
		dst = append(dst, e.elems...)
	}
	return dst, nil
}

func (r *reader[T]) Position() ([]byte, error) {
	return binary.AppendUvarint(nil, uint64(r.next)), nil
}

func (r *reader[T]) Watermark(time.Time) (dataflow.EventTime, bool) { return r.wm, false }

func (r *reader[T]) ProcessingTime() time.Time { return r.pt }

func (r *reader[T]) Close() error { return nil }
