package dataflow

import (
	"context"
	"fmt"
	"time"
)

// UnboundedSource is an endless (or not yet ended) source of elements, read
// in splits whose positions can be checkpointed and restored. The streaming
// runner reads it; the direct runner rejects pipelines that use it.
type UnboundedSource[T any] interface {
	// Split divides the source into about desired splits read in parallel.
	// Splitting must be deterministic: the same source split the same way
	// after a restart gives the same splits, in the same order.
	Split(ctx context.Context, desired int) ([]UnboundedSource[T], error)
	// Open starts reading at position, as returned by a reader's Position
	// (nil: from the beginning).
	Open(ctx context.Context, position []byte) (UnboundedReader[T], error)
}

// UnboundedReader reads one split of an UnboundedSource.
type UnboundedReader[T any] interface {
	// Read appends up to max elements that are available now to dst and
	// returns it; it returns dst unchanged if nothing is available, and
	// ErrEndOfInput (with any last elements) when the split has ended.
	Read(ctx context.Context, dst []Elem[T], max int) ([]Elem[T], error)
	// Position encodes how far the reader has read: restarting from it
	// yields exactly the elements not yet returned. A reader holds nothing
	// back outside its position.
	Position() ([]byte, error)
	// Watermark is the split's estimate of the earliest timestamp it may
	// still return; idle reports a split that may stop holding the
	// watermark back.
	Watermark(now time.Time) (wm EventTime, idle bool)
	Close() error
}

// ErrEndOfInput ends an unbounded split that has finished.
var ErrEndOfInput = fmt.Errorf("end of input")

// ReadUnboundedSpec reads an unbounded source.
type ReadUnboundedSpec struct {
	Source AnyUnboundedSource // wraps the UnboundedSource[T] of the output's element type
}

func (*ReadUnboundedSpec) spec()        {}
func (*ReadUnboundedSpec) Kind() string { return "ReadUnbounded" }

// ReadUnbounded returns the elements of an unbounded source: an unbounded
// collection in the global window.
func ReadUnbounded[T any](s Scope, name string, src UnboundedSource[T]) PCollection[T] {
	if src == nil {
		s.Errorf(name, "nil source")
		return PCollection[T]{}
	}
	t := s.addTransform(name, &ReadUnboundedSpec{Source: anyUnboundedSource[T]{src}}, nil)
	if t == nil {
		return PCollection[T]{}
	}
	out := newOutput[T](s.p, t, "out", false, DefaultWindowing())
	s.publish(t)
	return out
}

// BoundedOutOfOrderness estimates a split's watermark as the largest
// timestamp seen minus MaxDelay (Flink's bounded out-of-orderness). A split
// that has returned nothing for IdleTimeout is idle: it stops holding the
// watermark back until it returns an element again. Zero IdleTimeout means
// never idle.
type BoundedOutOfOrderness struct {
	MaxDelay    time.Duration
	IdleTimeout time.Duration

	max      EventTime
	seen     bool
	lastSeen time.Time
}

// Observe records an element's timestamp, read at processing time now.
func (b *BoundedOutOfOrderness) Observe(ts EventTime, now time.Time) {
	if !b.seen || ts > b.max {
		b.max = ts
	}
	b.seen = true
	b.lastSeen = now
}

// Watermark returns the estimate at processing time now.
func (b *BoundedOutOfOrderness) Watermark(now time.Time) (EventTime, bool) {
	if !b.seen {
		return MinTime, b.IdleTimeout > 0 && !b.lastSeen.IsZero() && now.Sub(b.lastSeen) >= b.IdleTimeout
	}
	idle := b.IdleTimeout > 0 && now.Sub(b.lastSeen) >= b.IdleTimeout
	return b.max.Add(-b.MaxDelay - time.Millisecond), idle
}

// Start marks the beginning of reading, so that a split that never returns
// anything also becomes idle after IdleTimeout.
func (b *BoundedOutOfOrderness) Start(now time.Time) {
	if b.lastSeen.IsZero() {
		b.lastSeen = now
	}
}
