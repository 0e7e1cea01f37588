package parquetio

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/internal/datagen"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

// Benchmark data sets, written once into the temporary directory and kept
// there between runs (they depend only on their configuration).
var benchSets = map[string]datagen.Config{
	"events-1rg":   {Kind: "windowsum", Rows: 4_000_000, Files: 1, RowGroupRows: 4_000_000},
	"events-8rg":   {Kind: "windowsum", Rows: 4_000_000, Files: 1, RowGroupRows: 500_000},
	"orders-1rg":   {Kind: "orders", Rows: 2_000_000, Files: 1, RowGroupRows: 2_000_000},
	"orders-16rg":  {Kind: "orders", Rows: 2_000_000, Files: 1, RowGroupRows: 125_000},
	"orders-4x4rg": {Kind: "orders", Rows: 4_000_000, Files: 4, RowGroupRows: 250_000},
}

var benchMu sync.Mutex

// benchData returns the directory of a data set, writing it if needed.
func benchData(b *testing.B, name string) string {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	cfg := benchSets[name]
	cfg.Start, cfg.Span, cfg.Seed = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 30*24*time.Hour, 1
	cfg.Dir = filepath.Join(os.TempDir(), "sluice-parquetio-bench", fmt.Sprintf("%s-%d-%d-%d", name, cfg.Rows, cfg.Files, cfg.RowGroupRows))
	if _, err := os.Stat(filepath.Join(cfg.Dir, ".done")); err == nil {
		return cfg.Dir
	}
	os.RemoveAll(cfg.Dir)
	if _, err := datagen.Generate(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, ".done"), nil, 0o644); err != nil {
		b.Fatal(err)
	}
	return cfg.Dir
}

// countSink counts elements and adds up a number of each, so that nothing
// is optimized away.
type countSink[T any] struct {
	mu    sync.Mutex
	n     int64
	sum   int64
	value func(T) int64
}

type countWriter[T any] struct {
	s      *countSink[T]
	n, sum int64
}

func (s *countSink[T]) NewWriter(context.Context, int) (dataflow.SinkWriter[T], error) {
	return &countWriter[T]{s: s}, nil
}
func (s *countSink[T]) Commit(context.Context, []any) error { return nil }
func (s *countSink[T]) Abort(context.Context, []any) error  { return nil }
func (w *countWriter[T]) Write(b []dataflow.Elem[T]) error {
	w.n += int64(len(b))
	for i := range b {
		w.sum += w.s.value(b[i].Value)
	}
	return nil
}
func (w *countWriter[T]) Close(context.Context) (any, error) {
	w.s.mu.Lock()
	w.s.n += w.n
	w.s.sum += w.sum
	w.s.mu.Unlock()
	return nil, nil
}

// sluiceRead reads dir with parquetio.Read on the direct runner.
func sluiceRead[T any](b *testing.B, dir string, value func(T) int64) (n, sum int64) {
	p := dataflow.NewPipeline()
	s := p.Root()
	sink := &countSink[T]{value: value}
	dataflow.Write(s, "Count", dataflow.Sink[T](sink), Read[T](s, "Read", dir))
	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{Progress: direct.ProgressOff}), p); err != nil {
		b.Fatal(err)
	}
	return sink.n, sink.sum
}

// genericRead reads the files of dir with parquet-go's GenericReader[T] in
// one goroutine: the baseline.
func genericRead[T any](b *testing.B, dir string, value func(T) int64) (n, sum int64) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	buf := make([]T, 1024)
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := parquet.NewGenericReader[T](f)
		for {
			k, err := r.Read(buf)
			for _, v := range buf[:k] {
				sum += value(v)
			}
			n += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
		f.Close()
	}
	return n, sum
}

func benchRead[T any](b *testing.B, set string, value func(T) int64) {
	dir := benchData(b, set)
	want := benchSets[set].Rows
	for _, reader := range []string{"sluice", "generic"} {
		b.Run("set="+set+"/reader="+reader, func(b *testing.B) {
			b.ReportAllocs()
			var first int64 = -1
			for b.Loop() {
				var n, sum int64
				if reader == "sluice" {
					n, sum = sluiceRead(b, dir, value)
				} else {
					n, sum = genericRead(b, dir, value)
				}
				if n != want || (first >= 0 && sum != first) {
					b.Fatalf("read %d rows (sum %d), want %d (sum %d)", n, sum, want, first)
				}
				first = sum
			}
			b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkRead compares parquetio.Read through the direct runner into a
// counting sink with parquet-go's GenericReader[T] reading the same files in
// one goroutine, on files of one row group and of several.
func BenchmarkRead(b *testing.B) {
	events := func(e datagen.Event) int64 { return e.Value }
	orders := func(o datagen.Order) int64 { return o.AmountCents + int64(len(o.Category)) }
	benchRead(b, "events-1rg", events)
	benchRead(b, "events-8rg", events)
	benchRead(b, "orders-1rg", orders)
	benchRead(b, "orders-16rg", orders)
}

// categoryMinute is a row of the end-to-end benchmark's output.
type categoryMinute struct {
	WindowStart time.Time `parquet:"window_start,timestamp(millisecond)"`
	Category    string    `parquet:"category"`
	Cents       int64     `parquet:"cents"`
}

// BenchmarkEndToEnd is Parquet in, a windowed aggregation, Parquet out:
// orders (8 columns, all decoded) summed per category in 1-minute windows.
func BenchmarkEndToEnd(b *testing.B) {
	dir := benchData(b, "orders-4x4rg")
	out := b.TempDir()
	rows := benchSets["orders-4x4rg"].Rows
	b.ReportAllocs()
	for b.Loop() {
		var st Stats
		p := dataflow.NewPipeline()
		s := p.Root()
		orders := Read[datagen.Order](s, "Read", dir, EventTimeColumn("ts"), WithStats(&st))
		windowed := dataflow.WindowInto(s, "Minutes", dataflow.Fixed(time.Minute), orders)
		amounts := transforms.Map(s, "Amount", func(o datagen.Order) dataflow.KV[string, int64] {
			return dataflow.KV[string, int64]{Key: o.Category, Value: o.AmountCents}
		}, windowed)
		sums := transforms.SumPerKey(s, "Sum", amounts)
		res := dataflow.ParDo(s, "Rows", dataflow.DoFnFunc[dataflow.KV[string, int64], categoryMinute](
			func(c *dataflow.Context, kv dataflow.KV[string, int64], emit dataflow.Emitter[categoryMinute]) error {
				emit.Emit(categoryMinute{c.Window().Start.Time(), kv.Key, kv.Value})
				return nil
			}), sums)
		Write(s, "Write", out, res)
		if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{Progress: direct.ProgressOff}), p); err != nil {
			b.Fatal(err)
		}
		if got := st.Snapshot().RowsEmitted; got != rows {
			b.Fatalf("read %d rows", got)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
