package state

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

var (
	pauseStateBytes = flag.Int64("pause.bytes", 1<<30, "disk size of the state BenchmarkCheckpointPause builds")
	pauseN          = flag.Int("pause.n", 24, "checkpoints BenchmarkCheckpointPause takes of each kind")
	pauseInterval   = flag.Duration("pause.interval", 2*time.Second, "time between two checkpoints in BenchmarkCheckpointPause")
	pauseRate       = flag.Int64("pause.rate", 32<<20, "bytes of state per second BenchmarkCheckpointPause writes between checkpoints (0: as fast as it can)")
)

// BenchmarkCheckpointPause measures how long a checkpoint stops processing
// on a store of -pause.bytes (default 1 GiB on disk, Store.Size) of random
// 1 KiB values, while processing keeps writing (-pause.rate, default
// 32 MiB/s, of puts to random keys; value state is written back, so each
// checkpoint also takes the cache's dirty values). Every -pause.interval
// (2 s) it takes a checkpoint, alternating the synchronous Checkpoint
// (BeginCheckpoint then Wait: what a checkpoint cost the caller before
// BeginCheckpoint existed, a flush and Pebble's checkpoint) and
// BeginCheckpoint, whose Wait another goroutine times from the call
// (complete-ms). Pauses are the time the processing goroutine spends in
// the call; percentiles are nearest-rank, so with fewer than 100 samples
// of a kind p99 is the largest. It also reports what else a checkpoint
// costs the processing goroutine: writes' waits for a pending checkpoint
// (stalls, stalled-ms), the longest batch trim after one (max-trim-ms),
// and the longest single put (max-put-ms, which includes Pebble's own
// write stalls). Run it alone, once:
//
//	go test -run '^$' -bench CheckpointPause -benchtime 1x -timeout 30m
func BenchmarkCheckpointPause(b *testing.B) {
	const valueSize = 1 << 10
	for b.Loop() {
		dir := b.TempDir()
		s, err := Open(filepath.Join(dir, "db"), Options{CacheBytes: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		st, err := s.Stage("big", StageOptions{})
		if err != nil {
			b.Fatal(err)
		}
		kb := st.Backend(nil)
		value := make([]byte, valueSize)
		rng := rand.New(rand.NewPCG(5, 6))
		var key [8]byte
		var maxPut time.Duration
		put := func(i int, timed bool) {
			binary.BigEndian.PutUint64(key[:], uint64(i)*0x9E3779B97F4A7C15)
			kb.Reset(key[:])
			for j := 0; j < valueSize; j += 8 {
				binary.LittleEndian.PutUint64(value[j:], rng.Uint64())
			}
			var start time.Time
			if timed {
				start = time.Now()
			}
			if err := kb.Put(benchWindow, "v", nil, value); err != nil {
				b.Fatal(err)
			}
			if timed {
				maxPut = max(maxPut, time.Since(start))
			}
		}

		// Build the state: fresh keys until the store is large enough.
		buildStart := time.Now()
		n := 0
		for {
			put(n, false)
			n++
			if n%(64<<10) == 0 && s.Size() >= uint64(*pauseStateBytes) {
				break
			}
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %d keys, %d MiB on disk, in %v", n, s.Size()>>20, time.Since(buildStart).Round(time.Millisecond))

		var (
			syncPauses, asyncPauses []time.Duration
			mu                      sync.Mutex
			completions             []time.Duration
			waitErr                 error
			wg                      sync.WaitGroup
			written                 int64
		)
		ckptDir := func(k int) string { return filepath.Join(dir, fmt.Sprintf("ckpt-%03d", k)) }
		start := time.Now()
		next := start.Add(*pauseInterval)
		for k := 0; k < 2**pauseN; k++ {
			// Write until the next checkpoint is due, at -pause.rate.
			for time.Now().Before(next) {
				for range 64 {
					put(rng.IntN(n), true)
				}
				written += 64 * valueSize
				if *pauseRate > 0 {
					due := start.Add(time.Duration(float64(written) / float64(*pauseRate) * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						time.Sleep(min(d, time.Until(next)))
					}
				}
			}
			next = next.Add(*pauseInterval)
			t0 := time.Now()
			if k%2 == 0 {
				if err := s.Checkpoint(ckptDir(k)); err != nil {
					b.Fatal(err)
				}
				syncPauses = append(syncPauses, time.Since(t0))
			} else {
				p, err := s.BeginCheckpoint(ckptDir(k))
				if err != nil {
					b.Fatal(err)
				}
				asyncPauses = append(asyncPauses, time.Since(t0))
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := p.Wait()
					mu.Lock()
					defer mu.Unlock()
					completions = append(completions, time.Since(t0))
					if err != nil && waitErr == nil {
						waitErr = err
					}
				}()
			}
			// Keep the last few checkpoints, as a runner keeps the last K;
			// the one before the previous is complete by now.
			if k >= 3 {
				if err := os.RemoveAll(ckptDir(k - 3)); err != nil {
					b.Fatal(err)
				}
			}
		}
		wg.Wait()
		if waitErr != nil {
			b.Fatal(waitErr)
		}
		elapsed := time.Since(start)
		size := s.Size()

		// The last checkpoint restores and holds the state.
		last := ckptDir(2**pauseN - 1)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := Restore(last, filepath.Join(dir, "restored"), Options{}); err != nil {
			b.Fatal(err)
		}
		r, err := Open(filepath.Join(dir, "restored"), Options{CacheBytes: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		rst, err := r.Stage("big", StageOptions{})
		if err != nil {
			b.Fatal(err)
		}
		binary.BigEndian.PutUint64(key[:], uint64(n-1)*0x9E3779B97F4A7C15)
		if _, ok, err := rst.Backend(key[:]).Get(benchWindow, "v", nil); err != nil || !ok {
			b.Fatalf("restored checkpoint lacks key %d: %v %v", n-1, ok, err)
		}
		r.Close()

		pct := func(d []time.Duration, p float64) float64 {
			d = slices.Clone(d)
			slices.Sort(d)
			i := int(float64(len(d))*p+0.999999) - 1 // nearest rank
			return float64(d[max(i, 0)].Microseconds()) / 1000
		}
		b.ReportMetric(pct(syncPauses, 0.5), "sync-p50-ms")
		b.ReportMetric(pct(syncPauses, 0.99), "sync-p99-ms")
		b.ReportMetric(pct(asyncPauses, 0.5), "begin-p50-ms")
		b.ReportMetric(pct(asyncPauses, 0.99), "begin-p99-ms")
		b.ReportMetric(pct(completions, 0.5), "complete-p50-ms")
		b.ReportMetric(pct(completions, 0.99), "complete-p99-ms")
		b.ReportMetric(float64(s.stalls), "stalls")
		b.ReportMetric(float64(s.stalled.Microseconds())/1000, "stalled-ms")
		b.ReportMetric(float64(maxPut.Microseconds())/1000, "max-put-ms")
		b.ReportMetric(float64(s.maxTrim.Microseconds())/1000, "max-trim-ms")
		b.ReportMetric(float64(size)/(1<<20), "MB-on-disk")
		b.ReportMetric(float64(written)/elapsed.Seconds()/(1<<20), "MB/s-written")
		b.Logf("sync Checkpoint pauses (ms): %v", ms(syncPauses))
		b.Logf("BeginCheckpoint pauses (ms): %v", ms(asyncPauses))
		b.Logf("background completions (ms): %v", ms(completions))
	}
}

func ms(d []time.Duration) []float64 {
	out := make([]float64, len(d))
	for i, x := range d {
		out[i] = float64(x.Microseconds()/100) / 10
	}
	return out
}
