package streaming_test

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/io/parquetio"
	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
	"github.com/sluicedata/sluice/runners/streaming"
)

// The crash test's job: a deterministic generator, fixed windows, a lifted
// Combine, a GroupByKey and a stateful ParDo with an event-time timer, all
// written as text lines through an exactly-once file sink.
const (
	crashEvents = 60_000
	crashKeys   = 37
)

// windowSumFn sums a key's values per window in value state and emits the
// sum when the window's timer fires.
type windowSumFn struct {
	sum   *dataflow.ValueState[int64]
	flush *dataflow.Timer
}

func newWindowSumFn() *windowSumFn {
	return &windowSumFn{sum: dataflow.NewValueState[int64]("sum"), flush: dataflow.NewEventTimer("flush")}
}

func (f *windowSumFn) ProcessElement(c *dataflow.Context, e dataflow.KV[int64, int64], _ dataflow.Emitter[string]) error {
	s, _ := f.sum.Read(c)
	f.sum.Write(c, s+e.Value)
	f.flush.Set(c, c.Window().MaxTimestamp())
	return nil
}

func (f *windowSumFn) OnTimer(c *dataflow.Context, key int64, _ dataflow.TimerFiring, emit dataflow.Emitter[string]) error {
	s, _ := f.sum.Read(c)
	emit.Emit(fmt.Sprintf("state k=%d w=%d sum=%d", key, c.Window().Start, s))
	return nil
}

// SumRow is a window's sum of one key, as the crash test writes it to Parquet.
type SumRow struct {
	Key    int64 `parquet:"key"`
	Window int64 `parquet:"window"`
	Sum    int64 `parquet:"sum"`
}

// crashRows are the combine's sums as rows.
func crashRows(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[int64, int64]]) dataflow.PCollection[SumRow] {
	s = s.Scope("Rows")
	win := dataflow.WindowInto(s, "Window", dataflow.Fixed(time.Second), in)
	sums := transforms.CombinePerKey(s, "Sum", transforms.SumFn[int64](), win)
	return dataflow.ParDo(s, "Row", dataflow.DoFnFunc[dataflow.KV[int64, int64], SumRow](
		func(c *dataflow.Context, kv dataflow.KV[int64, int64], emit dataflow.Emitter[SumRow]) error {
			emit.Emit(SumRow{Key: kv.Key, Window: int64(c.Window().Start), Sum: kv.Value})
			return nil
		}), sums)
}

// crashPipeline builds the job over in (bounded for the direct runner,
// generated for the streaming runner) and returns its output lines.
func crashPipeline(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[int64, int64]]) dataflow.PCollection[string] {
	win := dataflow.WindowInto(s, "Window", dataflow.Fixed(time.Second), in)
	sums := transforms.CombinePerKey(s, "Sum", transforms.SumFn[int64](), win)
	sumLines := transforms.Map(s, "SumLines", func(kv dataflow.KV[int64, int64]) string {
		return fmt.Sprintf("combine k=%d sum=%d", kv.Key, kv.Value)
	}, sums)
	groups := dataflow.GroupByKey(s, "Group", win)
	groupLines := transforms.Map(s, "GroupLines", func(kv dataflow.KV[int64, iter.Seq[int64]]) string {
		var n, mx int64
		for v := range kv.Value {
			n++
			mx = max(mx, v)
		}
		return fmt.Sprintf("gbk k=%d n=%d max=%d", kv.Key, n, mx)
	}, groups)
	stateLines := dataflow.StatefulParDo(s, "State", dataflow.DoFn[dataflow.KV[int64, int64], string](newWindowSumFn()), win)
	return transforms.Flatten(s, "All", sumLines, groupLines, stateLines)
}

func event(i int64) (dataflow.KV[int64, int64], dataflow.EventTime) {
	return dataflow.KV[int64, int64]{Key: i % crashKeys, Value: i}, dataflow.EventTime(i)
}

// TestMain runs the crash test's child job when asked to.
func TestMain(m *testing.M) {
	if dir := os.Getenv("SLUICE_CRASH_CHILD"); dir != "" {
		os.Exit(crashChild(dir))
	}
	os.Exit(m.Run())
}

func crashChild(dir string) int {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := transforms.Generate(s, "Events", event, transforms.GeneratorOptions{Count: crashEvents, Rate: 8_000})
	textio.WriteJSON(s, "Out", filepath.Join(dir, "out"), crashPipeline(s, in))
	parquetio.Write(s, "WriteRows", filepath.Join(dir, "rows"), crashRows(s, in))
	r := streaming.New(streaming.Options{JobDir: filepath.Join(dir, "job"), CheckpointInterval: 50 * time.Millisecond, ReadBatch: 1000, Log: os.Stderr})
	if _, err := dataflow.Execute(context.Background(), r, p); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// TestSIGKILL runs the streaming job as a subprocess, kills it with SIGKILL
// at random moments 20 times, restarts it each time from its job
// directory, lets the last run finish, and checks that the committed
// output equals the direct runner's on the same events, line for line:
// nothing lost, nothing duplicated.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses for several seconds")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLUICE_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set SLUICE_CRASH_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "SLUICE_CRASH_CHILD="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.Stdout = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() && stderr.Len() > 0 {
				t.Logf("child output:\n%s", stderr.String())
			}
		})
		return cmd
	}
	kills := 0
	for kills < 20 {
		cmd := start()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		wait := time.Duration(50+rng.IntN(400)) * time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child failed before kill %d: %v", kills+1, err)
			}
			t.Logf("the job finished before kill %d could land; starting over in a new directory", kills+1)
			os.RemoveAll(dir)
			os.MkdirAll(dir, 0o755)
			continue
		case <-time.After(wait):
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		kills++
	}
	cmd := start()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	got := readJSONLines(t, filepath.Join(dir, "out"))
	want, wantRows := directLines(t)
	if len(want) == 0 || len(wantRows) == 0 {
		t.Fatal("the direct runner produced nothing")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("after %d kills the committed JSON lines differ from the direct runner's (-want +got):\n%s", kills, d)
	}
	gotRows := readRows(t, filepath.Join(dir, "rows"))
	if d := cmp.Diff(wantRows, gotRows); d != "" {
		t.Fatalf("after %d kills the committed Parquet rows differ from the direct runner's (-want +got):\n%s", kills, d)
	}
	t.Logf("%d kills, %d JSON lines and %d Parquet rows, identical to the direct runner", kills, len(got), len(gotRows))
}

func readLines(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	slices.Sort(lines)
	return lines
}

// readJSONLines reads the committed JSON lines files of dir back.
func readJSONLines(t *testing.T, dir string) []string {
	t.Helper()
	p := dataflow.NewPipeline()
	c := memio.Collect(p.Root(), "Out", textio.ReadJSON[string](p.Root(), "In", dir))
	if _, err := dataflow.Execute(t.Context(), direct.New(direct.Options{Progress: direct.ProgressOff}), p); err != nil {
		t.Fatal(err)
	}
	lines := c.Values()
	slices.Sort(lines)
	return lines
}

// readRows reads the committed Parquet files of dir back.
func readRows(t *testing.T, dir string) []SumRow {
	t.Helper()
	p := dataflow.NewPipeline()
	c := memio.Collect(p.Root(), "Out", parquetio.Read[SumRow](p.Root(), "In", dir))
	if _, err := dataflow.Execute(t.Context(), direct.New(direct.Options{Progress: direct.ProgressOff}), p); err != nil {
		t.Fatal(err)
	}
	return sortRows(c.Values())
}

func sortRows(rows []SumRow) []SumRow {
	slices.SortFunc(rows, func(a, b SumRow) int {
		if a.Window != b.Window {
			return int(a.Window - b.Window)
		}
		return int(a.Key - b.Key)
	})
	return rows
}

func directLines(t *testing.T) ([]string, []SumRow) {
	t.Helper()
	p := dataflow.NewPipeline()
	s := p.Root()
	vals := make([]transforms.Timestamped[dataflow.KV[int64, int64]], crashEvents)
	for i := range vals {
		v, ts := event(int64(i))
		vals[i] = transforms.Timestamped[dataflow.KV[int64, int64]]{Value: v, Time: ts}
	}
	in := transforms.CreateTimestamped(s, "Events", vals)
	c := memio.Collect(s, "Out", crashPipeline(s, in))
	rows := memio.Collect(s, "CollectRows", crashRows(s, in))
	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{}), p); err != nil {
		t.Fatal(err)
	}
	lines := c.Values()
	slices.Sort(lines)
	return lines, sortRows(rows.Values())
}
