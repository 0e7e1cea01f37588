package parquetio

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/direct"
)

// runPipeline runs p on the direct runner.
func runPipeline(t testing.TB, p *dataflow.Pipeline, parallelism int) error {
	t.Helper()
	_, err := dataflow.Execute(context.Background(), direct.New(direct.Options{Parallelism: parallelism, Progress: direct.ProgressOff}), p)
	return err
}

// readAll reads pattern through the direct runner into a slice.
func readAll[T any](t testing.TB, pattern string, parallelism int, opts ...ReadOption) ([]dataflow.Elem[T], error) {
	t.Helper()
	p := dataflow.NewPipeline()
	s := p.Root()
	g := memio.Collect(s, "Gather", Read[T](s, "Read", pattern, opts...))
	if err := runPipeline(t, p, parallelism); err != nil {
		return nil, err
	}
	return g.Elems(), nil
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
