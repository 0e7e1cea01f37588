package parquetio

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/direct"
)

// runPipeline runs p on the direct runner.
func runPipeline(t testing.TB, p *dataflow.Pipeline, parallelism int) error {
	t.Helper()
	_, err := dataflow.Execute(context.Background(), direct.New(direct.Options{Parallelism: parallelism, Progress: direct.ProgressOff}), p)
	return err
}

// gather is a sink that keeps every element once the run commits.
type gather[T any] struct {
	mu    sync.Mutex
	elems []dataflow.Elem[T]
}

type gatherWriter[T any] struct{ elems []dataflow.Elem[T] }

func (g *gather[T]) NewWriter(context.Context, int) (dataflow.SinkWriter[T], error) {
	return &gatherWriter[T]{}, nil
}

func (w *gatherWriter[T]) Write(b []dataflow.Elem[T]) error {
	w.elems = append(w.elems, b...)
	return nil
}

func (w *gatherWriter[T]) Close(context.Context) (any, error) { return w.elems, nil }

func (g *gather[T]) Commit(_ context.Context, results []any) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range results {
		g.elems = append(g.elems, r.([]dataflow.Elem[T])...)
	}
	return nil
}

func (g *gather[T]) Abort(context.Context, []any) error { return nil }

func (g *gather[T]) values() []T {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]T, len(g.elems))
	for i, e := range g.elems {
		out[i] = e.Value
	}
	return out
}

// readAll reads pattern through the direct runner into a slice.
func readAll[T any](t testing.TB, pattern string, parallelism int, opts ...ReadOption) ([]dataflow.Elem[T], error) {
	t.Helper()
	p := dataflow.NewPipeline()
	s := p.Root()
	g := &gather[T]{}
	dataflow.Write(s, "Gather", dataflow.Sink[T](g), Read[T](s, "Read", pattern, opts...))
	if err := runPipeline(t, p, parallelism); err != nil {
		return nil, err
	}
	return g.elems, nil
}

// writeFile writes rows with parquet-go's GenericWriter.
func writeFile[T any](t testing.TB, path string, rows []T, opts ...parquet.WriterOption) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[T](f, opts...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// sortedBy returns xs sorted by key.
func sortedBy[T any, K int64 | string](xs []T, key func(T) K) []T {
	out := slices.Clone(xs)
	slices.SortStableFunc(out, func(a, b T) int {
		ka, kb := key(a), key(b)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	return out
}

func newRunner() dataflow.Runner {
	return direct.New(direct.Options{Progress: direct.ProgressOff})
}

// event is a windowsum event (see benchmarks/windowsum).
type event struct {
	TS    int64 `parquet:"ts_ms"`
	Key   int64 `parquet:"key"`
	Value int64 `parquet:"value"`
}
