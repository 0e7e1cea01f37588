// Command checkpoint measures how long checkpoints block a streaming job
// as its keyed state grows: a generator feeds a stateful ParDo that keeps
// every value in bag state (global window, never cleared), so the state
// grows to -state-mb on disk, while the runner checkpoints every
// -interval. It prints the checkpoints' pause quantiles, the state size
// and the throughput:
//
//	go run ./benchmarks/checkpoint -state-mb=1024 -interval=2s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sluicedata/sluice/io/memio"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/streaming"
)

// keepFn appends every value to its key's bag.
type keepFn struct {
	bag *df.BagState[[]byte]
}

func (f *keepFn) ProcessElement(c *df.Context, kv df.KV[int64, []byte], _ df.Emitter[int64]) error {
	f.bag.Add(c, kv.Value)
	return nil
}

func main() {
	stateMB := flag.Int64("state-mb", 1024, "stop once the state on disk reaches this many MiB")
	interval := flag.Duration("interval", 2*time.Second, "checkpoint interval")
	valueBytes := flag.Int("value-bytes", 512, "bytes per value")
	keys := flag.Int64("keys", 100_000, "distinct keys")
	jobDir := flag.String("jobdir", "", "job directory (default: a temporary one)")
	flag.Parse()
	dir := *jobDir
	if dir == "" {
		d, err := os.MkdirTemp("", "sluice-checkpoint-bench-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	payload := make([]byte, *valueBytes)
	for i := range payload {
		payload[i] = byte(i*7 + 3)
	}
	p := df.NewPipeline()
	s := p.Root()
	events := tf.Generate(s, "Events", func(i int64) (df.KV[int64, []byte], df.EventTime) {
		v := append([]byte(nil), payload...)
		v[0], v[1], v[2] = byte(i), byte(i>>8), byte(i>>16)
		return df.KV[int64, []byte]{Key: (i * 7919) % *keys, Value: v}, df.EventTime(i)
	}, tf.GeneratorOptions{})
	memio.Collect(s, "Out", df.StatefulParDo(s, "Keep", df.DoFn[df.KV[int64, []byte], int64](&keepFn{bag: df.NewBagState[[]byte]("bag")}), events))
	r := streaming.New(streaming.Options{JobDir: dir, CheckpointInterval: *interval, Log: io.Discard})
	ctx := context.Background()
	start := time.Now()
	res, err := r.Run(ctx, p, df.RunOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sr := res.(*streaming.Result)
	for {
		time.Sleep(500 * time.Millisecond)
		st := sr.Status()
		if st == nil {
			continue
		}
		if st.StateBytes >= uint64(*stateMB)<<20 && st.Checkpoints >= 3 {
			break
		}
		if time.Since(start) > 30*time.Minute {
			break
		}
	}
	// One more checkpoint at full size, then stop with a savepoint.
	time.Sleep(*interval + 500*time.Millisecond)
	if _, err := sr.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	res.Wait(ctx)
	st := sr.Status()
	var n int64
	for _, sg := range st.Stages {
		if sg.Name == "Events" {
			n = sg.Elements
		}
	}
	sec := time.Since(start).Seconds()
	fmt.Printf("state=%.0fMiB checkpoints=%d pause_p50=%v pause_p99=%v pause_max=%v last_checkpoint=%v events=%d events_per_sec=%.0f\n",
		float64(st.StateBytes)/(1<<20), st.Checkpoints, st.PauseP50, st.PauseP99, st.PauseMax, st.LastCheckpoint, n, float64(n)/sec)
}
