package transforms_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

// collected gathers what a pipeline wrote to a test sink, with timestamps,
// windows and panes. It is filled by the sink's writers, from any worker.
type collected[T any] struct {
	mu struct {
		sync.Mutex
		elems     []dataflow.Elem[T] // written by every writer so far
		committed bool               // Commit was called
	}
}

// Elems returns what was written.
func (c *collected[T]) Elems() []dataflow.Elem[T] {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]dataflow.Elem[T](nil), c.mu.elems...)
}

// Values returns the values written, without timestamps and windows.
func (c *collected[T]) Values() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]T, len(c.mu.elems))
	for i, e := range c.mu.elems {
		out[i] = e.Value
	}
	return out
}

type testSink[T any] struct{ c *collected[T] }

func (s testSink[T]) NewWriter(context.Context, int) (dataflow.SinkWriter[T], error) {
	return testWriter[T]{s.c}, nil
}

func (s testSink[T]) Commit(context.Context, []any) error {
	s.c.mu.Lock()
	s.c.mu.committed = true
	s.c.mu.Unlock()
	return nil
}

func (s testSink[T]) Abort(context.Context, []any) error { return nil }

type testWriter[T any] struct{ c *collected[T] }

func (w testWriter[T]) Write(batch []dataflow.Elem[T]) error {
	w.c.mu.Lock()
	w.c.mu.elems = append(w.c.mu.elems, batch...)
	w.c.mu.Unlock()
	return nil
}

func (w testWriter[T]) Close(context.Context) (any, error) { return nil, nil }

// collect writes pc to a test sink named name and returns what it will hold.
func collect[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T]) *collected[T] {
	c := &collected[T]{}
	dataflow.Write[T](s, name, testSink[T]{c}, pc)
	return c
}

// modes are the direct runner configurations every pipeline test runs on:
// with lifted combines and without, on several workers.
var modes = []struct {
	name string
	opts direct.Options
}{
	{"lifted", direct.Options{Parallelism: 4}},
	{"unlifted", direct.Options{Parallelism: 4, DisableCombinerLifting: true}},
}

// runModes builds a pipeline with build and runs it on every mode; build
// returns the check to run on the results.
func runModes(t *testing.T, build func(s dataflow.Scope) func(t *testing.T)) {
	t.Helper()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			p := dataflow.NewPipeline()
			check := build(p.Root())
			if err := execute(p, m.opts); err != nil {
				t.Fatalf("run: %v", err)
			}
			check(t)
		})
	}
}

// execute runs p on the direct runner with a deadline, so that a stuck test
// fails instead of hanging.
func execute(p *dataflow.Pipeline, opts direct.Options) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := dataflow.Execute(ctx, direct.New(opts), p)
	return err
}

// runErr builds and runs a pipeline that must fail, and returns its error.
func runErr(t *testing.T, build func(s dataflow.Scope)) error {
	t.Helper()
	p := dataflow.NewPipeline()
	build(p.Root())
	err := execute(p, direct.Options{Parallelism: 2})
	if err == nil {
		t.Fatal("run succeeded, want an error")
	}
	return err
}

// buildErr builds a pipeline and returns its construction error.
func buildErr(t *testing.T, build func(s dataflow.Scope)) error {
	t.Helper()
	p := dataflow.NewPipeline()
	build(p.Root())
	err := p.Err()
	if err == nil {
		t.Fatal("pipeline built without error, want one")
	}
	return err
}

// sorted is the option that compares slices as multisets.
func sorted[T any](less func(a, b T) bool) cmp.Option { return cmpopts.SortSlices(less) }

// diffUnordered compares two slices as multisets of ordered values.
func diffUnordered[T interface {
	~int | ~int64 | ~string | ~float64
}](want, got []T) string {
	return cmp.Diff(want, got, cmpopts.SortSlices(func(a, b T) bool { return a < b }), cmpopts.EquateEmpty())
}

// kvLess orders KVs by key, then value, for SortSlices.
func kvLess[K, V interface {
	~int | ~int64 | ~string | ~float64
}](a, b dataflow.KV[K, V]) bool {
	if a.Key != b.Key {
		return a.Key < b.Key
	}
	return a.Value < b.Value
}

// windowed is a value with its window, for checks of windowed output.
type windowed[T any] struct {
	Value  T
	Window dataflow.Window
}

func windowedValues[T any](c *collected[T]) []windowed[T] {
	var out []windowed[T]
	for _, e := range c.Elems() {
		out = append(out, windowed[T]{e.Value, e.Window})
	}
	return out
}

func at(ms int64) dataflow.EventTime { return dataflow.FromMillis(ms) }

func win(start, end int64) dataflow.Window { return dataflow.IntervalWindow(at(start), at(end)) }

func kv[K, V any](k K, v V) dataflow.KV[K, V] { return dataflow.KV[K, V]{Key: k, Value: v} }

func ts[T any](v T, ms int64) transforms.Timestamped[T] {
	return transforms.Timestamped[T]{Value: v, Time: at(ms)}
}
