// Command gbkspill groups more data than the direct runner's memory budget
// and reports the peak resident memory beside the volume grouped, to show that
// a GroupByKey larger than memory spills instead of growing the heap.
//
//	go run ./benchmarks/gbkspill -gb=2 -budget-mb=256
package main

import (
	"context"
	"flag"
	"fmt"
	"iter"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

func main() {
	gb := flag.Float64("gb", 2, "gigabytes of values to group")
	budgetMB := flag.Int64("budget-mb", 256, "direct runner memory budget (MiB)")
	keys := flag.Int64("keys", 100_000, "distinct keys")
	valueSize := flag.Int("value-bytes", 100, "bytes per value")
	flag.Parse()
	n := int64(*gb * (1 << 30) / float64(*valueSize))
	payload := strings.Repeat("x", *valueSize)

	var groups, values, bytes atomic.Int64
	p := df.NewPipeline()
	s := p.Root()
	kvs := tf.Map(s, "KV", func(i int64) df.KV[int64, string] {
		return df.KV[int64, string]{Key: (i * 7919) % *keys, Value: payload}
	}, tf.Sequence(s, "Seq", 0, n))
	grouped := df.GroupByKey(s, "GroupByKey", kvs)
	tf.Map(s, "Measure", func(g df.KV[int64, iter.Seq[string]]) int {
		groups.Add(1)
		var c, b int64
		for v := range g.Value {
			c++
			b += int64(len(v))
		}
		values.Add(c)
		bytes.Add(b)
		return 0
	}, grouped)

	start := time.Now()
	r := direct.New(direct.Options{MemoryBudget: *budgetMB << 20})
	res, err := df.Execute(context.Background(), r, p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gbkspill:", err)
		os.Exit(1)
	}
	sum, _ := direct.SummaryOf(res)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("values=%d value_bytes=%d groups=%d budget_mb=%d spilled_mb=%d peak_rss_mb=%d heap_sys_mb=%d seconds=%.1f\n",
		values.Load(), bytes.Load(), groups.Load(), *budgetMB, sum.SpilledBytes>>20, sum.PeakRSS>>20, ms.HeapSys>>20, time.Since(start).Seconds())
	if values.Load() != n {
		fmt.Fprintf(os.Stderr, "gbkspill: grouped %d values, want %d\n", values.Load(), n)
		os.Exit(1)
	}
}
