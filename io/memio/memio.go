// Package memio is the in-memory connector: a sink that hands a pipeline's
// (small) results back to the program that ran it, with their timestamps,
// windows and panes.
//
// Contract: a Collector holds what the run committed, and nothing of a run
// that failed or was cancelled (its writers' output is dropped on Abort).
// It is safe for concurrent use; read it after the run has finished.
package memio

import (
	"context"
	"sync"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Collector is a dataflow.Sink that keeps every committed element in memory.
type Collector[T any] struct {
	mu        sync.Mutex
	elems     []dataflow.Elem[T]
	committed bool
	aborted   bool
}

var _ dataflow.Sink[int] = (*Collector[int])(nil)

// NewCollector returns an empty Collector.
func NewCollector[T any]() *Collector[T] { return &Collector[T]{} }

// Collect writes in to a new Collector and returns it.
func Collect[T any](s dataflow.Scope, name string, in dataflow.PCollection[T]) *Collector[T] {
	c := NewCollector[T]()
	dataflow.Write(s, name, dataflow.Sink[T](c), in)
	return c
}

type writer[T any] struct{ elems []dataflow.Elem[T] }

// NewWriter opens a shard writer.
func (c *Collector[T]) NewWriter(context.Context, int) (dataflow.SinkWriter[T], error) {
	return &writer[T]{}, nil
}

// Write copies the batch (the runner reuses it).
func (w *writer[T]) Write(b []dataflow.Elem[T]) error {
	w.elems = append(w.elems, b...)
	return nil
}

func (w *writer[T]) Close(context.Context) (any, error) { return w.elems, nil }

// Commit makes the shards' elements visible.
func (c *Collector[T]) Commit(_ context.Context, results []any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range results {
		c.elems = append(c.elems, r.([]dataflow.Elem[T])...)
	}
	c.committed = true
	return nil
}

// Abort drops the shards' elements.
func (c *Collector[T]) Abort(context.Context, []any) error {
	c.mu.Lock()
	c.aborted = true
	c.mu.Unlock()
	return nil
}

// Elems returns the committed elements, in no particular order.
func (c *Collector[T]) Elems() []dataflow.Elem[T] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.elems
}

// Values returns the committed values, in no particular order.
func (c *Collector[T]) Values() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]T, len(c.elems))
	for i, e := range c.elems {
		out[i] = e.Value
	}
	return out
}

// Committed reports whether a run committed into c.
func (c *Collector[T]) Committed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.committed
}

// Aborted reports whether a run aborted its writes into c.
func (c *Collector[T]) Aborted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aborted
}
