package streaming_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/teststream"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
	"github.com/sluicedata/sluice/runners/streaming"
)

// sideJob is a job with a side input: each windowed sum is scaled by a
// factor read from a bounded side input.
func sideJob(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[int64, int64]]) dataflow.PCollection[string] {
	factor := dataflow.AsSingleton(transforms.Create(s, "Factor", int64(3)))
	win := dataflow.WindowInto(s, "Window", dataflow.Fixed(time.Second), in)
	sums := transforms.CombinePerKey(s, "Sum", transforms.SumFn[int64](), win)
	return dataflow.ParDo(s, "Scale", dataflow.DoFnFunc[dataflow.KV[int64, int64], string](func(c *dataflow.Context, kv dataflow.KV[int64, int64], emit dataflow.Emitter[string]) error {
		emit.Emit(fmt.Sprintf("k=%d w=%d v=%d", kv.Key, c.Window().Start, kv.Value*factor.Get(c)))
		return nil
	}), sums, dataflow.WithSideInputs(factor))
}

// TestStopAndResumeFromSavepoint stops a job with a savepoint halfway and
// starts it again from the savepoint: the output equals the direct
// runner's.
func TestStopAndResumeFromSavepoint(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	const n = 20_000
	build := func() *dataflow.Pipeline {
		p := dataflow.NewPipeline()
		s := p.Root()
		in := transforms.Generate(s, "Events", event, transforms.GeneratorOptions{Count: n, Rate: 20_000})
		textio.Write(s, "Out", out, sideJob(s, in))
		return p
	}
	opts := streaming.Options{JobDir: filepath.Join(dir, "job"), CheckpointInterval: 50 * time.Millisecond, ReadBatch: 500, Log: io.Discard}
	res, err := streaming.New(opts).Run(t.Context(), build(), dataflow.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	sp, err := res.(*streaming.Result).Stop(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := res.(*streaming.Result).Status()
	if st == nil || st.Checkpoints == 0 {
		t.Fatalf("status after stop: %+v", st)
	}
	partial := readLines(t, out)
	opts.FromSavepoint = sp
	if _, err := dataflow.Execute(t.Context(), streaming.New(opts), build()); err != nil {
		t.Fatal(err)
	}
	got := readLines(t, out)

	want := directSideLines(t, n)
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("output after stop and resume differs from the direct runner's (-want +got):\n%s", d)
	}
	if len(partial) == 0 || len(partial) >= len(got) {
		t.Logf("note: %d of %d lines were committed before the stop", len(partial), len(got))
	}
}

// TestCorruptCheckpointFallsBack corrupts the newest checkpoint's manifest:
// the restart says so and resumes from the previous one, and the output
// is still exact.
func TestCorruptCheckpointFallsBack(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	build := func(count int64) *dataflow.Pipeline {
		p := dataflow.NewPipeline()
		s := p.Root()
		in := transforms.Generate(s, "Events", event, transforms.GeneratorOptions{Count: count, Rate: 20_000})
		textio.Write(s, "Out", out, sideJob(s, in))
		return p
	}
	var log bytes.Buffer
	opts := streaming.Options{JobDir: filepath.Join(dir, "job"), CheckpointInterval: 30 * time.Millisecond, ReadBatch: 500, Log: &log}
	res, err := streaming.New(opts).Run(t.Context(), build(20_000), dataflow.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	res.Cancel()
	res.Wait(t.Context())
	chks, _ := filepath.Glob(filepath.Join(dir, "job", "checkpoints", "chk-*", "MANIFEST"))
	if len(chks) < 2 {
		t.Fatalf("want at least 2 complete checkpoints, have %d", len(chks))
	}
	newest := chks[len(chks)-1]
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(newest, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := dataflow.Execute(t.Context(), streaming.New(opts), build(20_000)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "falling back") || !strings.Contains(log.String(), newest) {
		t.Fatalf("the restart did not report the corrupt checkpoint %s; log:\n%s", newest, log.String())
	}
	if d := cmp.Diff(directSideLines(t, 20_000), readLines(t, out)); d != "" {
		t.Fatalf("output after the fallback differs from the direct runner's (-want +got):\n%s", d)
	}
}

func directSideLines(t *testing.T, n int) []string {
	t.Helper()
	p := dataflow.NewPipeline()
	s := p.Root()
	vals := make([]transforms.Timestamped[dataflow.KV[int64, int64]], n)
	for i := range vals {
		v, ts := event(int64(i))
		vals[i] = transforms.Timestamped[dataflow.KV[int64, int64]]{Value: v, Time: ts}
	}
	c := memio.Collect(s, "Out", sideJob(s, transforms.CreateTimestamped(s, "Events", vals)))
	if _, err := dataflow.Execute(t.Context(), direct.New(direct.Options{}), p); err != nil {
		t.Fatal(err)
	}
	want := c.Values()
	slices.Sort(want)
	return want
}

// TestLateDataDroppedAndCounted checks that an element behind the
// watermark beyond the allowed lateness is dropped and counted.
func TestLateDataDroppedAndCounted(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	src := teststream.New[int64]().
		AddElementsAt(1_000, 1).
		AdvanceWatermark(20_000).
		AddElementsAt(2_000, 2). // late: window [0,10s) closed at 10s
		AdvanceWatermarkToInfinity()
	in := teststream.Create(s, "Stream", src)
	keyed := transforms.KeyBy(s, "Key", func(int64) string { return "k" }, dataflow.WindowInto(s, "Window", dataflow.Fixed(10*time.Second), in))
	c := memio.Collect(s, "Out", transforms.CombinePerKey(s, "Sum", transforms.SumFn[int64](), keyed))
	res, err := streaming.New(streaming.Options{}).Run(t.Context(), p, dataflow.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := c.Values(); len(got) != 1 || got[0].Value != 1 {
		t.Fatalf("got %v, want one sum of 1", got)
	}
	var dropped int64
	for _, st := range res.(*streaming.Result).Status().Stages {
		dropped += st.LateDropped
	}
	if dropped != 1 {
		t.Fatalf("late elements dropped: %d, want 1", dropped)
	}
}

// TestMetricsEndpoint scrapes the Prometheus endpoint of a running job.
func TestMetricsEndpoint(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := transforms.Generate(s, "Events", event, transforms.GeneratorOptions{Count: 100_000, Rate: 50_000})
	win := dataflow.WindowInto(s, "Window", dataflow.Fixed(time.Second), in)
	memio.Collect(s, "Out", transforms.CombinePerKey(s, "Sum", transforms.SumFn[int64](), win))
	res, err := streaming.New(streaming.Options{MetricsAddr: "127.0.0.1:0", CheckpointInterval: 100 * time.Millisecond}).Run(t.Context(), p, dataflow.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Cancel()
	r := res.(*streaming.Result)
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		addr := r.MetricsAddr()
		if addr == "" {
			continue
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		if strings.Contains(body, "sluice_checkpoints_total") && !strings.Contains(body, "sluice_checkpoints_total 0") {
			break
		}
	}
	for _, want := range []string{
		`sluice_stage_elements_total{stage="Events"}`,
		`sluice_stage_output_watermark_seconds{stage="Sum"}`,
		`sluice_stage_watermark_lag_seconds{stage="Sum"}`,
		"sluice_state_bytes",
		"sluice_checkpoint_duration_seconds",
		"sluice_stage_late_elements_dropped_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}

// TestOptionsValidate checks that bad options are refused with a clear error.
func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opts streaming.Options
		want string
	}{
		{streaming.Options{CheckpointInterval: time.Millisecond}, "CheckpointInterval"},
		{streaming.Options{Parallelism: -1}, "Parallelism"},
		{streaming.Options{MaxParallelism: 1 << 16}, "MaxParallelism"},
		{streaming.Options{Parallelism: 8, MaxParallelism: 4}, "exceeds MaxParallelism"},
		{streaming.Options{StateCacheBytes: 1024}, "StateCacheBytes"},
		{streaming.Options{RetainCheckpoints: -1}, "RetainCheckpoints"},
		{streaming.Options{FromSavepoint: "/nonexistent/savepoint"}, "FromSavepoint"},
	} {
		p := dataflow.NewPipeline()
		memio.Collect(p.Root(), "Out", transforms.Create(p.Root(), "In", 1))
		_, err := streaming.New(tc.opts).Run(context.Background(), p, dataflow.RunOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", tc.opts, err, tc.want)
		}
	}
}

// TestLateDataOutput sends the elements a GroupByKey drops as late to its
// late-data output instead.
func TestLateDataOutput(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	src := teststream.New[int64]().
		AddElementsAt(1_000, 1).
		AdvanceWatermark(20_000).
		AddElementsAt(2_000, 2). // late: window [0,10s) expired at 10s
		AddElementsAt(21_000, 3).
		AdvanceWatermarkToInfinity()
	in := teststream.Create(s, "Stream", src)
	keyed := transforms.KeyBy(s, "Key", func(int64) string { return "k" }, dataflow.WindowInto(s, "Window", dataflow.Fixed(10*time.Second), in))
	groups, late := dataflow.GroupByKeyWithLateData(s, "Group", keyed)
	onTime := memio.Collect(s, "OnTime", transforms.Map(s, "Count", func(kv dataflow.KV[string, iter.Seq[int64]]) int {
		n := 0
		for range kv.Value {
			n++
		}
		return n
	}, groups))
	lateOut := memio.Collect(s, "Late", late)
	if _, err := dataflow.Execute(t.Context(), streaming.New(streaming.Options{}), p); err != nil {
		t.Fatal(err)
	}
	if got := onTime.Values(); len(got) != 2 || got[0] != 1 || got[1] != 1 {
		t.Fatalf("on-time group sizes %v, want [1 1]", got)
	}
	got := lateOut.Elems()
	if len(got) != 1 || got[0].Value.Value != 2 || got[0].Time != 2_000 || got[0].Window != dataflow.IntervalWindow(0, 10_000) {
		t.Fatalf("late output %+v, want the element 2 at 2s in [0s,10s)", got)
	}
	// On bounded input nothing is late: the direct runner's late output is empty.
	p2 := dataflow.NewPipeline()
	s2 := p2.Root()
	kv := transforms.KeyBy(s2, "Key", func(int64) string { return "k" }, transforms.Create(s2, "In", int64(1), 2))
	_, late2 := dataflow.GroupByKeyWithLateData(s2, "Group", kv)
	c2 := memio.Collect(s2, "Late", late2)
	if _, err := dataflow.Execute(t.Context(), direct.New(direct.Options{}), p2); err != nil {
		t.Fatal(err)
	}
	if n := len(c2.Elems()); n != 0 {
		t.Fatalf("direct runner: %d late elements, want 0", n)
	}
}
