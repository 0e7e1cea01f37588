// Command checkpoint measures how long checkpoints block a streaming job
// as its keyed state grows: a generator feeds a stateful ParDo that keeps
// every value in bag state (global window, never cleared), so the state
// grows to -state-mb on disk, while the runner checkpoints every
// -interval. It prints the checkpoints' pause quantiles (how long each
// blocked processing), the state size and the throughput:
//
//	go run ./benchmarks/checkpoint -state-mb=1024 -interval=2s -rate=16384
//
// -rate=16384 with 512-byte values adds 8 MiB of state per second; -rate=0
// writes as fast as the job can, which makes the pause grow with the
// pending appends the cut must write.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
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
	rate := flag.Float64("rate", 0, "events per second (0: as fast as the job goes)")
	cacheMB := flag.Int64("cache-mb", 0, "streaming.Options.StateCacheBytes in MiB (0: the default, 256)")
	jobDir := flag.String("jobdir", "", "job directory (default: a temporary one)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
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
	// Incompressible values, so that the state on disk is what was written.
	payload := make([]byte, *valueBytes+8192)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range payload {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		payload[i] = byte(x)
	}
	p := df.NewPipeline()
	s := p.Root()
	events := tf.Generate(s, "Events", func(i int64) (df.KV[int64, []byte], df.EventTime) {
		off := int(i*131) % 8192
		v := append([]byte(nil), payload[off:off+*valueBytes]...)
		v[0], v[1], v[2] = byte(i), byte(i>>8), byte(i>>16)
		return df.KV[int64, []byte]{Key: (i * 7919) % *keys, Value: v}, df.EventTime(i)
	}, tf.GeneratorOptions{Rate: *rate})
	memio.Collect(s, "Out", df.StatefulParDo(s, "Keep", df.DoFn[df.KV[int64, []byte], int64](&keepFn{bag: df.NewBagState[[]byte]("bag")}), events))
	r := streaming.New(streaming.Options{JobDir: dir, CheckpointInterval: *interval, StateCacheBytes: *cacheMB << 20, Log: io.Discard})
	ctx := context.Background()
	start := time.Now()
	res, err := r.Run(ctx, p, df.RunOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sr := res.(*streaming.Result)
	var maxHeap uint64
	var ms runtime.MemStats
	for {
		time.Sleep(500 * time.Millisecond)
		runtime.ReadMemStats(&ms)
		maxHeap = max(maxHeap, ms.HeapInuse)
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
	fmt.Printf("max_heap=%.0fMiB state=%.0fMiB checkpoints=%d pause_p50=%v pause_p99=%v pause_max=%v last_checkpoint=%v events=%d events_per_sec=%.0f\n",
		float64(maxHeap)/(1<<20), float64(st.StateBytes)/(1<<20), st.Checkpoints, st.PauseP50, st.PauseP99, st.PauseMax, st.LastCheckpoint, n, float64(n)/sec)
}
