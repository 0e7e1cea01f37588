package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicedata/sluice/internal/datagen"
	"github.com/sluicedata/sluice/runners/direct"
)

func TestWindowsumMatchesHandLoop(t *testing.T) {
	for _, n := range []int64{0, 1, 1023, 1024, 1025, 100_000} {
		for _, par := range []int{1, 3} {
			t.Run(fmt.Sprintf("n=%d/par=%d", n, par), func(t *testing.T) {
				got, err := run(context.Background(), direct.New(direct.Options{Parallelism: par}), n)
				if err != nil {
					t.Fatal(err)
				}
				g, tot := handLoop(n)
				if got.groups != g || got.total != tot {
					t.Fatalf("groups=%d total=%d, want groups=%d total=%d", got.groups, got.total, g, tot)
				}
			})
		}
	}
}

// writeEvents writes the first n windowsum events as Parquet files, as
// benchmarks/datagen -kind=windowsum does.
func writeEvents(t testing.TB, n int64, files int, rowGroup int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "events")
	cfg := datagen.Config{Kind: "windowsum", Rows: n, Files: files, RowGroupRows: rowGroup, Span: time.Hour, Dir: dir}
	if _, err := datagen.Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWindowsumParquetMatchesHandLoop(t *testing.T) {
	for _, n := range []int64{0, 1, 1025, 100_000} {
		dir := writeEvents(t, n, 3, 10_000)
		for _, par := range []int{1, 3} {
			got, err := runParquet(context.Background(), direct.New(direct.Options{Parallelism: par, Progress: direct.ProgressOff}), filepath.Join(dir, "*.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			g, tot := handLoop(n)
			if got.events != n || got.groups != g || got.total != tot {
				t.Fatalf("n=%d par=%d: events=%d groups=%d total=%d, want %d, %d, %d", n, par, got.events, got.groups, got.total, n, g, tot)
			}
		}
	}
}

const benchEvents = 4_000_000

// BenchmarkWindowsumParquet reads the events from a Parquet file (4 row
// groups of 1M rows, as ../shared/anchors/duckdb writes them) instead of
// generating them; the hand loop is the same baseline as BenchmarkWindowsum's.
func BenchmarkWindowsumParquet(b *testing.B) {
	dir := writeEvents(b, benchEvents, 1, 1_000_000)
	b.Run("runner=direct/input=parquet", func(b *testing.B) {
		b.ReportAllocs()
		r := direct.New(direct.Options{Progress: direct.ProgressOff})
		for b.Loop() {
			res, err := runParquet(context.Background(), r, dir)
			if err != nil {
				b.Fatal(err)
			}
			if res.groups != 400000 || res.total != 1995982702 {
				b.Fatalf("wrong result: %+v", res)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("baseline=handloop", func(b *testing.B) {
		for b.Loop() {
			if g, _ := handLoop(benchEvents); g != 400000 {
				b.Fatal(g)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

func BenchmarkWindowsum(b *testing.B) {
	b.Run("runner=direct", func(b *testing.B) {
		b.ReportAllocs()
		r := direct.New(direct.Options{})
		for b.Loop() {
			res, err := run(context.Background(), r, benchEvents)
			if err != nil {
				b.Fatal(err)
			}
			if res.groups != 400000 || res.total != 1995982702 {
				b.Fatalf("wrong result: %+v", res)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("baseline=handloop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if g, _ := handLoop(benchEvents); g != 400000 {
				b.Fatal(g)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
