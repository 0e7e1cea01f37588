package state

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Benchmarks of the per-element operations, each beside a Go map doing the
// same work in the same run. Configurations:
//
//	gomap    a map[string][]byte (or [][]byte for bags): the floor
//	cache    the Store with its default state cache (64 MiB CacheBytes)
//	nocache  the Store with the state cache off: every read goes to the
//	         indexed batch and Pebble (memtable, block cache)
//
// Keys are 100,000 user keys of 8 bytes, values 16 bytes, in one window.

const benchKeys = 100_000

var benchValue = bytes.Repeat([]byte{7}, 16)

func benchUserKeys() [][]byte {
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = binary.BigEndian.AppendUint64(nil, uint64(i)*0x9E3779B97F4A7C15)
	}
	return keys
}

func benchStore(b *testing.B, noCache bool) (*Store, *Stage) {
	b.Helper()
	opts := Options{}
	if noCache {
		opts.stateCacheBytes = -1
	}
	s, err := Open(b.TempDir(), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	st, err := s.Stage("bench", StageOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return s, st
}

var benchWindow = df.Window{Start: 0, End: 60_000}

func BenchmarkPut(b *testing.B) {
	keys := benchUserKeys()
	b.Run("gomap", func(b *testing.B) {
		m := map[string][]byte{}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := keys[i%benchKeys]
			m[string(k)] = append(m[string(k)][:0], benchValue...)
			i++
		}
	})
	for _, noCache := range []bool{false, true} {
		b.Run(map[bool]string{false: "cache", true: "nocache"}[noCache], func(b *testing.B) {
			_, st := benchStore(b, noCache)
			kb := st.Backend(nil)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				kb.Reset(keys[i%benchKeys])
				if err := kb.Put(benchWindow, "v", nil, benchValue); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	keys := benchUserKeys()
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]int, 1<<16)
	for i := range order {
		order[i] = rng.IntN(benchKeys)
	}
	b.Run("gomap", func(b *testing.B) {
		m := map[string][]byte{}
		for _, k := range keys {
			m[string(k)] = bytes.Clone(benchValue)
		}
		b.ReportAllocs()
		i, n := 0, 0
		for b.Loop() {
			n += len(m[string(keys[order[i%len(order)]])])
			i++
		}
		if n == 0 {
			b.Fatal("no values")
		}
	})
	for _, noCache := range []bool{false, true} {
		b.Run(map[bool]string{false: "cache", true: "nocache"}[noCache], func(b *testing.B) {
			s, st := benchStore(b, noCache)
			kb := st.Backend(nil)
			for _, k := range keys {
				kb.Reset(k)
				if err := kb.Put(benchWindow, "v", nil, benchValue); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				kb.Reset(keys[order[i%len(order)]])
				if _, ok, err := kb.Get(benchWindow, "v", nil); err != nil || !ok {
					b.Fatal(ok, err)
				}
				i++
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	keys := benchUserKeys()
	b.Run("gomap", func(b *testing.B) {
		m := map[string][][]byte{}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := keys[i%benchKeys]
			m[string(k)] = append(m[string(k)], bytes.Clone(benchValue))
			i++
		}
	})
	for _, noCache := range []bool{false, true} {
		b.Run(map[bool]string{false: "cache", true: "nocache"}[noCache], func(b *testing.B) {
			_, st := benchStore(b, noCache)
			kb := st.Backend(nil)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				kb.Reset(keys[i%benchKeys])
				if err := kb.Append(benchWindow, "bag", benchValue); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

var largeStateBytes = flag.Int64("state.bytes", 2<<30, "bytes BenchmarkStateLargerThanCache writes")

// BenchmarkStateLargerThanCache writes -state.bytes (default 2 GiB) of value
// state in 1 KiB random values with a 64 MiB CacheBytes, then reads 100,000 random
// keys back. It reports beside the bytes written the peak live Go heap
// (HeapInuse right after a GC, sampled every 64 MiB written), the peak
// resident set (Pebble's block cache and memtables are C memory when cgo is
// on) and the disk usage. Run it alone:
// -run=^$ -bench=LargerThanCache -benchtime=1x.
func BenchmarkStateLargerThanCache(b *testing.B) {
	const valueSize = 1 << 10
	n := int(*largeStateBytes / valueSize)
	// Values are random (incompressible) slices of a 1 MiB pool, so the
	// state on disk is as large as what is written.
	pool := make([]byte, 1<<20+valueSize)
	for i := range pool {
		pool[i] = byte(rand.Uint32())
	}
	value := make([]byte, valueSize)
	var peakHeap, peakRSS uint64
	sample := func() {
		b.StopTimer()
		defer b.StartTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
		peakRSS = max(peakRSS, rssBytes())
	}
	var size uint64
	for b.Loop() {
		s, err := Open(b.TempDir(), Options{CacheBytes: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		st, err := s.Stage("big", StageOptions{})
		if err != nil {
			b.Fatal(err)
		}
		kb := st.Backend(nil)
		var key [8]byte
		for i := range n {
			binary.BigEndian.PutUint64(key[:], uint64(i)*0x9E3779B97F4A7C15)
			kb.Reset(key[:])
			copy(value, pool[(i*7919)%(1<<20):])
			binary.BigEndian.PutUint64(value, uint64(i))
			if err := kb.Put(benchWindow, "v", nil, value); err != nil {
				b.Fatal(err)
			}
			if i%(64<<10) == 0 { // every 64 MiB
				sample()
			}
		}
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for j := range 100_000 {
			i := rng.IntN(n)
			binary.BigEndian.PutUint64(key[:], uint64(i)*0x9E3779B97F4A7C15)
			kb.Reset(key[:])
			v, ok, err := kb.Get(benchWindow, "v", nil)
			if err != nil || !ok || binary.BigEndian.Uint64(v) != uint64(i) {
				b.Fatalf("key %d: %v, %v", i, ok, err)
			}
			if j%25_000 == 0 {
				sample()
			}
		}
		size = s.Size()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(*largeStateBytes)/(1<<20), "MB-written")
	b.ReportMetric(float64(size)/(1<<20), "MB-on-disk")
	b.ReportMetric(float64(peakHeap)/(1<<20), "MB-peak-live-heap")
	b.ReportMetric(float64(peakRSS)/(1<<20), "MB-peak-rss")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

// rssBytes returns the resident set size from /proc (0 where there is none).
func rssBytes() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

var checkpointStateBytes = flag.Int64("checkpoint.bytes", 256<<20, "state BenchmarkCheckpoint holds")

// BenchmarkCheckpoint measures a Flush and then Checkpoint (BeginCheckpoint
// and Wait: the cut, its apply to Pebble, then Pebble's checkpoint:
// hard-linked SSTs, copied WAL and manifest) on a store holding
// -checkpoint.bytes (default 256 MiB) of random 1 KiB values, with 16 MiB
// of new writes before each checkpoint, as between two barriers. The
// writes are outside the timer; ms/op is the time processing would stop.
func BenchmarkCheckpoint(b *testing.B) {
	const valueSize = 1 << 10
	n := int(*checkpointStateBytes / valueSize)
	dir := b.TempDir()
	s, err := Open(dir+"/db", Options{CacheBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	st, err := s.Stage("big", StageOptions{})
	if err != nil {
		b.Fatal(err)
	}
	kb := st.Backend(nil)
	value := make([]byte, valueSize)
	rng := rand.New(rand.NewPCG(3, 4))
	var key [8]byte
	put := func(i int) {
		binary.BigEndian.PutUint64(key[:], uint64(i)*0x9E3779B97F4A7C15)
		kb.Reset(key[:])
		for j := 0; j < valueSize; j += 8 {
			binary.LittleEndian.PutUint64(value[j:], rng.Uint64())
		}
		if err := kb.Put(benchWindow, "v", nil, value); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		put(i)
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	var worst, flushTime time.Duration
	k := 0
	for b.Loop() {
		b.StopTimer()
		for range (16 << 20) / valueSize {
			put(rng.IntN(n))
		}
		k++
		b.StartTimer()
		start := time.Now()
		if err := s.Flush(); err != nil {
			b.Fatal(err)
		}
		flushed := time.Now()
		if err := s.Checkpoint(fmt.Sprintf("%s/ckpt-%d", dir, k)); err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
		flushTime += flushed.Sub(start)
		b.StopTimer()
		if k > 2 { // keep the last two, as a runner would keep the last K
			if err := os.RemoveAll(fmt.Sprintf("%s/ckpt-%d", dir, k-2)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(flushTime.Microseconds())/1000/float64(b.N), "flush-ms/op")
	b.ReportMetric(float64(s.Size())/(1<<20), "MB-on-disk")
}
