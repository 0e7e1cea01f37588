// Command anywhere runs one pipeline, written once, on the runner a flag
// names: "write once, run anywhere".
//
//	go run ./examples/anywhere -runner=direct
//	go run ./examples/anywhere -runner=streaming
//	go run ./examples/anywhere -runner=prism
//
// The pipeline counts page views per page in one-minute windows and keeps
// the three most viewed pages of each window. Every runner prints the same
// report for the same -views and -seed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// View is one page view.
type View struct {
	Page string
	User int64
}

// view is the i-th view of the generated traffic: deterministic in i and
// seed, one view every 10 ms of event time, pages skewed towards a few.
func view(seed, i int64) (View, dataflow.EventTime) {
	x := uint64(i)*0x9E3779B97F4A7C15 ^ uint64(seed)
	x ^= x >> 31
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 29
	page := x % 50
	if x%4 != 0 {
		page %= 5 // three of four views go to the five popular pages
	}
	return View{Page: fmt.Sprintf("/page/%02d", page), User: int64(x % 10_000)}, dataflow.EventTime(i * 10)
}

// PageCount is the views of one page in one window.
type PageCount struct {
	Page  string
	Views int64
}

// buildPipeline is the pipeline, the same for every runner.
func buildPipeline(s dataflow.Scope, views dataflow.PCollection[View]) dataflow.PCollection[string] {
	windowed := dataflow.WindowInto(s, "Minutes", dataflow.Fixed(time.Minute), views)
	pages := transforms.Map(s, "Page", func(v View) string { return v.Page }, windowed)
	counts := transforms.CountPerElement(s, "CountPerPage", pages)
	asPairs := transforms.Map(s, "AsPair", func(kv dataflow.KV[string, int64]) PageCount {
		return PageCount{Page: kv.Key, Views: kv.Value}
	}, counts)
	top := transforms.Top(s, "Top3", 3, func(a, b PageCount) bool {
		if a.Views != b.Views {
			return a.Views < b.Views
		}
		return a.Page > b.Page
	}, asPairs)
	return dataflow.ParDo(s, "Format", dataflow.DoFnFunc[[]PageCount, string](
		func(c *dataflow.Context, top []PageCount, emit dataflow.Emitter[string]) error {
			parts := make([]string, len(top))
			for i, pc := range top {
				parts[i] = fmt.Sprintf("%s=%d", pc.Page, pc.Views)
			}
			emit.Emit(fmt.Sprintf("%s  %s", time.UnixMilli(int64(c.Window().Start)).UTC().Format("15:04"), strings.Join(parts, " ")))
			return nil
		}), top)
}

func main() {
	runnerName := flag.String("runner", "direct", "runner: "+strings.Join(runnerNames(), ", "))
	n := flag.Int64("views", 600_000, "number of page views (one every 10 ms of event time)")
	seed := flag.Int64("seed", 1, "seed of the generated traffic")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *runnerName, *n, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "anywhere:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, runnerName string, n, seed int64) error {
	r, err := newRunner(runnerName)
	if err != nil {
		return err
	}
	p := dataflow.NewPipeline()
	s := p.Root()
	views := make([]transforms.Timestamped[View], n)
	for i := range views {
		v, ts := view(seed, int64(i))
		views[i] = transforms.Timestamped[View]{Value: v, Time: ts}
	}
	out := memio.Collect(s, "Report", buildPipeline(s, transforms.CreateTimestamped(s, "Views", views)))
	start := time.Now()
	if _, err := dataflow.Execute(ctx, r, p); err != nil {
		return err
	}
	lines := out.Values()
	slices.Sort(lines)
	fmt.Fprintf(w, "runner=%s views=%d windows=%d seconds=%.2f\n", runnerName, n, len(lines), time.Since(start).Seconds())
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}
