// Command windowsum runs the standard workload for comparing runners: event i
// (0 <= i < N) has timestamp i ms, key (i*7919)%1000 and value i%997+1; the
// pipeline sums the values of each key in 10-second fixed windows. It prints
// one line of key=value fields:
//
//	runner=direct events=4000000 groups=400000 total=1995982702 seconds=0.21 events_per_sec=19047619
//
// Run: go run ./benchmarks/windowsum -runner=direct -events=4000000
//
// With -input=GLOB it reads the events from Parquet files instead of
// generating them: int64 columns ts_ms (the timestamp), key and value, as
// ../shared/anchors/run.sh N --duckdb and benchmarks/datagen -kind=windowsum
// write them. The line is the same; events is the number of rows read.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/sluicedata/sluice/io/parquetio"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
	"github.com/sluicedata/sluice/runners/streaming"
)

func main() {
	runner := flag.String("runner", "direct", "runner: direct or streaming")
	interval := flag.Duration("checkpoint-interval", 2*time.Second, "streaming: checkpoint interval")
	jobDir := flag.String("jobdir", "", "streaming: job directory (default: a temporary one)")
	events := flag.Int64("events", 4_000_000, "number of events")
	parallelism := flag.Int("parallelism", 0, "workers (default GOMAXPROCS)")
	baseline := flag.Bool("baseline", false, "also run the hand-written single-goroutine loop (the COST baseline) and print its line")
	input := flag.String("input", "", "read the events from these Parquet files (a glob, file or directory) instead of generating them")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "windowsum:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var r df.Runner
	switch *runner {
	case "direct":
		r = direct.New(direct.Options{Parallelism: *parallelism})
	case "streaming":
		r = streaming.New(streaming.Options{Parallelism: *parallelism, CheckpointInterval: *interval, JobDir: *jobDir})
	default:
		fmt.Fprintf(os.Stderr, "windowsum: runner %q is not available (runners: direct, streaming)\n", *runner)
		os.Exit(2)
	}
	var (
		res outcome
		err error
	)
	if *input != "" {
		res, err = runParquet(context.Background(), r, *input)
	} else {
		res, err = run(context.Background(), r, *events)
		res.events = *events
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "windowsum:", err)
		os.Exit(1)
	}
	fmt.Printf("runner=%s events=%d groups=%d total=%d seconds=%.3f events_per_sec=%.0f\n",
		*runner, res.events, res.groups, res.total, res.seconds, float64(res.events)/res.seconds)
	if *baseline {
		start := time.Now()
		g, t := handLoop(res.events) // generated in memory, also with -input
		sec := time.Since(start).Seconds()
		fmt.Printf("runner=handloop events=%d groups=%d total=%d seconds=%.3f events_per_sec=%.0f\n", res.events, g, t, sec, float64(res.events)/sec)
	}
}

// handLoop is the COST baseline: the same computation as one single-goroutine
// loop over a Go map (as ../shared/anchors/handloop does).
func handLoop(n int64) (groups, total int64) {
	type key struct{ win, k int64 }
	sums := map[key]int64{}
	for i := range n {
		sums[key{i / 10000, (i * 7919) % 1000}] += i%997 + 1
	}
	for _, v := range sums {
		total += v
	}
	return int64(len(sums)), total
}

type outcome struct {
	events, groups, total int64
	seconds               float64
}

// build makes the windowsum pipeline; its results arrive in sink.
func build(n int64, sink *countSink) *df.Pipeline {
	return buildFrom(n, sink, false)
}

// event is the i-th event of the workload.
func event(i int64) (df.KV[int64, int64], df.EventTime) {
	return df.KV[int64, int64]{Key: (i * 7919) % 1000, Value: i%997 + 1}, df.EventTime(i)
}

// buildFrom builds the workload over a bounded sequence, or, for the
// streaming runner, over an unbounded generator of the same events (as
// fast as it is read, its watermark following the event times).
func buildFrom(n int64, sink *countSink, unbounded bool) *df.Pipeline {
	p := df.NewPipeline()
	s := p.Root()
	var kvs df.PCollection[df.KV[int64, int64]]
	if unbounded {
		kvs = tf.Generate(s, "Events", event, tf.GeneratorOptions{Count: n})
	} else {
		seq := tf.Sequence(s, "Events", 0, n)
		kvs = df.ParDo(s, "Generate", df.DoFnFunc[int64, df.KV[int64, int64]](
			func(c *df.Context, i int64, emit df.Emitter[df.KV[int64, int64]]) error {
				kv, ts := event(i)
				emit.EmitAt(kv, ts)
				return nil
			}), seq)
	}
	windowed := df.WindowInto(s, "Window", df.Fixed(10*time.Second), kvs)
	sums := tf.SumPerKey(s, "SumPerKey", windowed)
	df.Write(s, "Count", df.Sink[df.KV[int64, int64]](sink), sums)
	return p
}

// Event is a row of the Parquet input.
type Event struct {
	TS    int64 `parquet:"ts_ms"`
	Key   int64 `parquet:"key"`
	Value int64 `parquet:"value"`
}

// buildParquet makes the windowsum pipeline over the events in the Parquet
// files of pattern, timestamped by their ts_ms column.
func buildParquet(pattern string, sink *countSink, stats *parquetio.Stats) *df.Pipeline {
	p := df.NewPipeline()
	s := p.Root()
	events := parquetio.Read[Event](s, "Events", pattern, parquetio.EventTimeColumn("ts_ms"), parquetio.WithStats(stats))
	kvs := tf.Map(s, "KeyValue", func(e Event) df.KV[int64, int64] {
		return df.KV[int64, int64]{Key: e.Key, Value: e.Value}
	}, events)
	windowed := df.WindowInto(s, "Window", df.Fixed(10*time.Second), kvs)
	sums := tf.SumPerKey(s, "SumPerKey", windowed)
	df.Write(s, "Count", df.Sink[df.KV[int64, int64]](sink), sums)
	return p
}

func runParquet(ctx context.Context, r df.Runner, pattern string) (outcome, error) {
	sink := &countSink{}
	var stats parquetio.Stats
	p := buildParquet(pattern, sink, &stats)
	start := time.Now()
	if _, err := df.Execute(ctx, r, p); err != nil {
		return outcome{}, err
	}
	return outcome{events: stats.Snapshot().RowsEmitted, groups: sink.groups, total: sink.total, seconds: time.Since(start).Seconds()}, nil
}

func run(ctx context.Context, r df.Runner, n int64) (outcome, error) {
	sink := &countSink{}
	_, unbounded := r.(*streaming.Runner)
	p := buildFrom(n, sink, unbounded)
	start := time.Now()
	if _, err := df.Execute(ctx, r, p); err != nil {
		return outcome{}, err
	}
	return outcome{groups: sink.groups, total: sink.total, seconds: time.Since(start).Seconds()}, nil
}

// countSink counts the (window, key) results and adds up their sums.
type countSink struct {
	mu            sync.Mutex
	groups, total int64
}

type countWriter struct {
	sink          *countSink
	groups, total int64
}

func (s *countSink) NewWriter(context.Context, int) (df.SinkWriter[df.KV[int64, int64]], error) {
	return &countWriter{sink: s}, nil
}

func (s *countSink) Commit(_ context.Context, results []any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range results {
		w := r.(*countWriter)
		s.groups += w.groups
		s.total += w.total
	}
	return nil
}

func (s *countSink) Abort(context.Context, []any) error { return nil }

func (w *countWriter) Write(b []df.Elem[df.KV[int64, int64]]) error {
	w.groups += int64(len(b))
	for i := range b {
		w.total += b[i].Value.Value
	}
	return nil
}

func (w *countWriter) Close(context.Context) (any, error) { return w, nil }
