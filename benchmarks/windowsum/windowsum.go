// Command windowsum runs the standard workload for comparing runners: event i
// (0 <= i < N) has timestamp i ms, key (i*7919)%1000 and value i%997+1; the
// pipeline sums the values of each key in 10-second fixed windows. It prints
// one line of key=value fields:
//
//	runner=direct events=4000000 groups=400000 total=1995982702 seconds=0.21 events_per_sec=19047619
//
// Run: go run ./benchmarks/windowsum -runner=direct -events=4000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

func main() {
	runner := flag.String("runner", "direct", "runner: direct")
	events := flag.Int64("events", 4_000_000, "number of events")
	parallelism := flag.Int("parallelism", 0, "workers (default GOMAXPROCS)")
	baseline := flag.Bool("baseline", false, "also run the hand-written single-goroutine loop (the COST baseline) and print its line")
	flag.Parse()
	var r df.Runner
	switch *runner {
	case "direct":
		r = direct.New(direct.Options{Parallelism: *parallelism})
	default:
		fmt.Fprintf(os.Stderr, "windowsum: runner %q is not available (runners: direct)\n", *runner)
		os.Exit(2)
	}
	res, err := run(context.Background(), r, *events)
	if err != nil {
		fmt.Fprintln(os.Stderr, "windowsum:", err)
		os.Exit(1)
	}
	fmt.Printf("runner=%s events=%d groups=%d total=%d seconds=%.3f events_per_sec=%.0f\n",
		*runner, *events, res.groups, res.total, res.seconds, float64(*events)/res.seconds)
	if *baseline {
		start := time.Now()
		g, t := handLoop(*events)
		sec := time.Since(start).Seconds()
		fmt.Printf("runner=handloop events=%d groups=%d total=%d seconds=%.3f events_per_sec=%.0f\n", *events, g, t, sec, float64(*events)/sec)
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
	groups, total int64
	seconds       float64
}

// build makes the windowsum pipeline; its results arrive in sink.
func build(n int64, sink *countSink) *df.Pipeline {
	p := df.NewPipeline()
	s := p.Root()
	seq := tf.Sequence(s, "Events", 0, n)
	kvs := df.ParDo(s, "Generate", df.DoFnFunc[int64, df.KV[int64, int64]](
		func(c *df.Context, i int64, emit df.Emitter[df.KV[int64, int64]]) error {
			emit.EmitAt(df.KV[int64, int64]{Key: (i * 7919) % 1000, Value: i%997 + 1}, df.EventTime(i))
			return nil
		}), seq)
	windowed := df.WindowInto(s, "Window", df.Fixed(10*time.Second), kvs)
	sums := tf.SumPerKey(s, "SumPerKey", windowed)
	df.Write(s, "Count", df.Sink[df.KV[int64, int64]](sink), sums)
	return p
}

func run(ctx context.Context, r df.Runner, n int64) (outcome, error) {
	sink := &countSink{}
	p := build(n, sink)
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
