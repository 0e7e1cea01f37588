package direct_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/io/memio"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

func run(t *testing.T, opts direct.Options, p *df.Pipeline) error {
	t.Helper()
	_, err := df.Execute(context.Background(), direct.New(opts), p)
	return err
}

// A GroupByKey far larger than the memory budget spills and still groups
// every value exactly once.
func TestGroupByKeySpillsPastBudget(t *testing.T) {
	const n, keys = 300_000, 5000
	p := df.NewPipeline()
	s := p.Root()
	kvs := tf.Map(s, "KV", func(i int64) df.KV[string, int64] {
		return df.KV[string, int64]{Key: fmt.Sprintf("key-%05d", (i*7919)%keys), Value: i}
	}, tf.Sequence(s, "Seq", 0, n))
	groups := df.GroupByKey(s, "GBK", kvs)
	sums := tf.Map(s, "Sum", func(g df.KV[string, iter.Seq[int64]]) df.KV[string, [2]int64] {
		var sum, cnt int64
		for v := range g.Value {
			sum += v
			cnt++
		}
		// Re-iterate: grouped values are re-iterable.
		for range g.Value {
			cnt++
		}
		return df.KV[string, [2]int64]{Key: g.Key, Value: [2]int64{sum, cnt / 2}}
	}, groups)
	sink := memio.NewCollector[df.KV[string, [2]int64]]()
	df.Write(s, "Out", sink, sums)

	dir := t.TempDir()
	if err := run(t, direct.Options{MemoryBudget: 1 << 20, SpillDir: dir}, p); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{}
	for i := int64(0); i < n; i++ {
		k := fmt.Sprintf("key-%05d", (i*7919)%keys)
		w := want[k]
		want[k] = [2]int64{w[0] + i, w[1] + 1}
	}
	got := map[string][2]int64{}
	for _, kv := range sink.Values() {
		if _, dup := got[kv.Key]; dup {
			t.Fatalf("key %s emitted twice", kv.Key)
		}
		got[kv.Key] = kv.Value
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("sums differ (-want +got):\n%s", diff)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("%d spill files left behind", len(left))
	}
}

func TestUserPanicNamesTransformAndElement(t *testing.T) {
	p := df.NewPipeline()
	s := p.Root()
	in := tf.CreateTimestamped(s, "In", []tf.Timestamped[int]{{Value: 1, Time: 1000}, {Value: 2, Time: 2000}, {Value: 3, Time: 3000}})
	w := df.WindowInto(s, "Window", df.Fixed(time.Second), in)
	out := tf.Map(s, "Explode", func(x int) int {
		if x == 2 {
			panic("boom")
		}
		return x
	}, w)
	sink := memio.NewCollector[int]()
	df.Write(s, "Out", sink, out)
	err := run(t, direct.Options{}, p)
	var ee *df.ElementError
	if !errors.As(err, &ee) {
		t.Fatalf("want an ElementError, got %v", err)
	}
	if ee.Transform != "Explode" || ee.Value != "2" || ee.Time != 2000 || ee.Window != df.IntervalWindow(2000, 3000) || !ee.Panic {
		t.Fatalf("error does not name the element: %+v", ee)
	}
	if !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error lost the panic value: %v", err)
	}
	if sink.Committed() || !sink.Aborted() {
		t.Fatalf("sink committed=%t aborted=%t after a failed run", sink.Committed(), sink.Aborted())
	}
}

func TestUserErrorFailsRun(t *testing.T) {
	p := df.NewPipeline()
	s := p.Root()
	in := tf.Create(s, "In", "a", "b", "c")
	out := tf.MapErr(s, "Check", func(x string) (string, error) {
		if x == "b" {
			return "", errors.New("bad letter")
		}
		return x, nil
	}, in)
	df.Write(s, "Out", memio.NewCollector[string](), out)
	err := run(t, direct.Options{}, p)
	if err == nil || !strings.Contains(err.Error(), `transform "Check"`) || !strings.Contains(err.Error(), "bad letter") || !strings.Contains(err.Error(), "element b") {
		t.Fatalf("got %v", err)
	}
}

func TestCancelStopsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	p := df.NewPipeline()
	s := p.Root()
	started := make(chan struct{})
	var once sync.Once
	slow := tf.Map(s, "Slow", func(i int64) int64 {
		once.Do(func() { close(started) })
		time.Sleep(time.Millisecond)
		return i
	}, tf.Sequence(s, "Seq", 0, 1_000_000))
	df.Write(s, "Out", memio.NewCollector[int64](), slow)
	res, err := direct.New(direct.Options{}).Run(context.Background(), p, df.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	res.Cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := res.Wait(ctx); err == nil {
		t.Fatal("cancelled run reported success")
	}
	if res.State() != df.Cancelled {
		t.Fatalf("state %v, want CANCELLED", res.State())
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running after cancel (had %d)", n, before)
	}
}

func TestRejectsInvalidPipelines(t *testing.T) {
	t.Run("duplicate name", func(t *testing.T) {
		p := df.NewPipeline()
		s := p.Root()
		tf.Create(s, "Same", 1)
		tf.Create(s, "Same", 2)
		if err := run(t, direct.Options{}, p); err == nil || !strings.Contains(err.Error(), `"Same"`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("float key", func(t *testing.T) {
		p := df.NewPipeline()
		s := p.Root()
		kv := tf.Create(s, "In", df.KV[float64, int]{Key: 1.5, Value: 1})
		df.GroupByKey(s, "GroupFloats", kv)
		if err := run(t, direct.Options{}, p); err == nil || !strings.Contains(err.Error(), "GroupFloats") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("other pipeline", func(t *testing.T) {
		p1, p2 := df.NewPipeline(), df.NewPipeline()
		in := tf.Create(p1.Root(), "In", 1)
		tf.Map(p2.Root(), "Foreign", func(x int) int { return x }, in)
		if err := run(t, direct.Options{}, p2); err == nil || !strings.Contains(err.Error(), "Foreign") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("bad options", func(t *testing.T) {
		p := df.NewPipeline()
		tf.Create(p.Root(), "In", 1)
		if err := run(t, direct.Options{Parallelism: -1}, p); err == nil {
			t.Fatal("negative parallelism accepted")
		}
	})
}

// The same pipeline gives the same result at every parallelism, lifted or not.
func TestResultsIndependentOfParallelismAndLifting(t *testing.T) {
	build := func() (*df.Pipeline, *memio.Collector[df.KV[int64, int64]]) {
		p := df.NewPipeline()
		s := p.Root()
		kvs := tf.WithTimestamps(s, "Time", func(kv df.KV[int64, int64]) df.EventTime { return df.EventTime(kv.Value) },
			tf.Map(s, "KV", func(i int64) df.KV[int64, int64] { return df.KV[int64, int64]{Key: i % 7, Value: i} }, tf.Sequence(s, "Seq", 0, 5000)))
		w := df.WindowInto(s, "Window", df.Sliding(100*time.Millisecond, 30*time.Millisecond), kvs)
		sums := tf.SumPerKey(s, "Sum", w)
		sink := memio.NewCollector[df.KV[int64, int64]]()
		df.Write(s, "Out", sink, sums)
		return p, sink
	}
	type row struct {
		K, V int64
		W    df.Window
		T    df.EventTime
		P    df.PaneInfo
	}
	rows := func(es []df.Elem[df.KV[int64, int64]]) []row {
		out := make([]row, len(es))
		for i, e := range es {
			out[i] = row{e.Value.Key, e.Value.Value, e.Window, e.Time, e.Pane}
		}
		slices.SortFunc(out, func(a, b row) int {
			if a.W.Start != b.W.Start {
				return int(a.W.Start - b.W.Start)
			}
			return int(a.K - b.K)
		})
		return out
	}
	var want []row
	for _, opts := range []direct.Options{{Parallelism: 1}, {Parallelism: 4, Partitions: 3}, {Parallelism: 2, DisableCombinerLifting: true}} {
		p, sink := build()
		if err := run(t, opts, p); err != nil {
			t.Fatal(err)
		}
		got := rows(sink.Elems())
		if want == nil {
			want = got
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("options %+v differ (-want +got):\n%s", opts, diff)
		}
	}
}

type panicky struct{}

func (panicky) CreateAccumulator() int { return 0 }
func (panicky) AddInput(a, x int) int {
	if x == 3 {
		panic("three")
	}
	return a + x
}
func (panicky) MergeAccumulators(a, b int) int { return a + b }
func (panicky) ExtractOutput(a int) int        { return a }

func TestCombineFnPanicNamesTransform(t *testing.T) {
	for _, lifting := range []bool{true, false} {
		t.Run(fmt.Sprint("lifted=", lifting), func(t *testing.T) {
			p := df.NewPipeline()
			s := p.Root()
			in := tf.Create(s, "In", df.KV[string, int]{Key: "a", Value: 1}, df.KV[string, int]{Key: "a", Value: 3})
			out := df.CombinePerKey(s, "Sum", df.CombineFn[int, int, int](panicky{}), in)
			df.Write(s, "Out", memio.NewCollector[df.KV[string, int]](), out)
			err := run(t, direct.Options{DisableCombinerLifting: !lifting}, p)
			if err == nil || !strings.Contains(err.Error(), `"Sum`) || !strings.Contains(err.Error(), "three") {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestProgressAndSummary(t *testing.T) {
	p := df.NewPipeline()
	s := p.Root()
	slow := tf.Map(s, "Slow", func(i int64) int64 {
		if i%1000 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		return i % 10
	}, tf.Sequence(s, "Seq", 0, 100_000))
	counts := tf.CountPerElement(s, "Count", slow)
	df.Write(s, "Out", memio.NewCollector[df.KV[int64, int64]](), counts)
	var out syncBuffer
	res, err := df.Execute(context.Background(), direct.New(direct.Options{Progress: direct.ProgressPlain, ProgressOut: &out, ProgressInterval: 20 * time.Millisecond}), p)
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "sluice: stage 1/") || !strings.Contains(text, "rows read") {
		t.Errorf("no progress lines in:\n%s", text)
	}
	if !strings.Contains(text, "run finished") {
		t.Errorf("no summary in:\n%s", text)
	}
	sum, ok := direct.SummaryOf(res)
	if !ok {
		t.Fatal("no summary")
	}
	byName := map[string]direct.TransformCount{}
	for _, tc := range sum.Transforms {
		byName[tc.Name] = tc
	}
	if got := byName["Slow"]; got.In != 100_000 || got.Out != 100_000 {
		t.Errorf("Slow counts %+v", got)
	}
	found := false
	for name, tc := range byName {
		found = found || (strings.HasPrefix(name, "Count/") && tc.Out == 10)
	}
	if !found {
		t.Errorf("no transform of Count wrote the 10 counts: %+v", sum.Transforms)
	}
}

func TestQuietByDefaultForShortRuns(t *testing.T) {
	p := df.NewPipeline()
	tf.Create(p.Root(), "In", 1, 2, 3)
	var out syncBuffer
	if _, err := df.Execute(context.Background(), direct.New(direct.Options{ProgressOut: &out}), p); err != nil {
		t.Fatal(err)
	}
	if out.String() != "" {
		t.Fatalf("a short run printed:\n%s", out.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
