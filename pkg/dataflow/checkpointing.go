package dataflow

import (
	"context"
	"fmt"
	"time"
)

// EpochSink is an optional interface of a Sink[T] for runners that commit
// output once per checkpoint instead of once per run, as the streaming
// runner does for exactly-once output across crashes.
//
// The runner opens writers with NewWriter (shard numbers are unique within
// a job, across epochs and restarts), closes them at a checkpoint barrier
// (the pre-commit: the files are complete but invisible), stores each
// result with EncodeResult in the checkpoint, and calls CommitEpoch once
// the checkpoint is complete. After a crash it calls CommitEpoch again with
// the results of the latest complete checkpoint (decoded with
// DecodeResult), which must then do nothing more than finish what was
// left, and DiscardUncommitted to remove what writers of the crashed run
// had staged but no complete checkpoint covers.
type EpochSink interface {
	// CommitEpoch makes the output of results visible, leaving all output
	// committed before in place. It is idempotent.
	CommitEpoch(ctx context.Context, results []any) error
	// DiscardUncommitted removes staged output that none of keep names.
	DiscardUncommitted(ctx context.Context, keep []any) error
	EncodeResult(result any) ([]byte, error)
	DecodeResult(b []byte) (any, error)
}

// EpochSink returns the sink as an EpochSink, if it is one.
func (a anySink[T]) EpochSink() (EpochSink, bool) {
	es, ok := a.s.(EpochSink)
	return es, ok
}

// AsEpochSink returns the EpochSink behind a WriteSpec's sink, if any.
func AsEpochSink(s AnySink) (EpochSink, bool) {
	if a, ok := s.(interface{ EpochSink() (EpochSink, bool) }); ok {
		return a.EpochSink()
	}
	es, ok := s.(EpochSink)
	return es, ok
}

// AnyUnboundedSource is the runner's view of an UnboundedSource[T].
type AnyUnboundedSource interface {
	Split(ctx context.Context, desired int) ([]AnyUnboundedSource, error)
	Open(ctx context.Context, position []byte) (AnyUnboundedReader, error)
	String() string
}

// AnyUnboundedReader is the runner's view of an UnboundedReader[T].
type AnyUnboundedReader interface {
	// ReadTo reads up to max available elements and passes them to out, a
	// Consumer[T]. It returns how many it read, and ErrEndOfInput once the
	// split has ended.
	ReadTo(ctx context.Context, out any, max int) (int, error)
	Position() ([]byte, error)
	Watermark(now time.Time) (EventTime, bool)
	Close() error
}

type anyUnboundedSource[T any] struct{ src UnboundedSource[T] }

func (a anyUnboundedSource[T]) Split(ctx context.Context, desired int) ([]AnyUnboundedSource, error) {
	splits, err := a.src.Split(ctx, desired)
	if err != nil {
		return nil, err
	}
	out := make([]AnyUnboundedSource, len(splits))
	for i, s := range splits {
		out[i] = anyUnboundedSource[T]{s}
	}
	return out, nil
}

func (a anyUnboundedSource[T]) Open(ctx context.Context, position []byte) (AnyUnboundedReader, error) {
	r, err := a.src.Open(ctx, position)
	if err != nil {
		return nil, err
	}
	return &anyUnboundedReader[T]{r: r}, nil
}

func (a anyUnboundedSource[T]) String() string { return fmt.Sprintf("%v", a.src) }

// Unwrap returns the typed source.
func (a anyUnboundedSource[T]) Unwrap() any { return a.src }

type anyUnboundedReader[T any] struct {
	r   UnboundedReader[T]
	buf []Elem[T]
}

func (a *anyUnboundedReader[T]) ReadTo(ctx context.Context, out any, max int) (int, error) {
	b, err := a.r.Read(ctx, a.buf[:0], max)
	a.buf = b
	if len(b) > 0 {
		if cerr := out.(Consumer[T]).Consume(b); cerr != nil {
			return 0, cerr
		}
		clear(b)
	}
	return len(b), err
}

func (a *anyUnboundedReader[T]) Position() ([]byte, error) { return a.r.Position() }
func (a *anyUnboundedReader[T]) Watermark(now time.Time) (EventTime, bool) {
	return a.r.Watermark(now)
}
func (a *anyUnboundedReader[T]) Close() error { return a.r.Close() }

// EpochRollback is an optional interface of an EpochSink. When a job is
// restored from a checkpoint older than the newest one that completed (a
// fallback past a corrupt checkpoint, or a start from a savepoint), the
// output that later checkpoints committed would be produced again; the
// runner calls RemoveCommittedFrom with the first shard number of the
// epochs after the restored checkpoint, and the sink removes the committed
// output of those shards, so that output stays exactly once.
type EpochRollback interface {
	RemoveCommittedFrom(ctx context.Context, shard int) error
}
