package beam_test

import (
	"bufio"
	"context"
	"fmt"
	"iter"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/beam"
)

// The launcher hands the worker processes what they need to rebuild the
// same pipeline through the environment, which Prism passes on to the
// processes it starts.
const (
	envOut      = "SLUICE_BEAM_TEST_OUT"
	envEndpoint = "SLUICE_BEAM_TEST_ENDPOINT"
)

// remotePipeline counts words with closures (a captured suffix, a side
// input, a combine), stamps every result with the id of the process that
// formatted it, and writes the results with textio.
func remotePipeline(out string) *dataflow.Pipeline {
	p := dataflow.NewPipeline()
	s := p.Root()
	suffix := "!" // captured by a closure: found again by name on the worker
	words := transforms.Create(s, "Words", "a", "b", "a", "c", "b", "a")
	stop := transforms.Create(s, "Stop", "c")
	stopSide := dataflow.AsSlice(stop)
	kept := dataflow.ParDo(s, "DropStop", dataflow.DoFnFunc[string, string](func(c *dataflow.Context, w string, emit dataflow.Emitter[string]) error {
		if slices.Contains(stopSide.Get(c), w) {
			return nil
		}
		emit.Emit(w + suffix)
		return nil
	}), words, dataflow.WithSideInputs(stopSide))
	counts := transforms.CountPerElement(s, "Count", kept)
	lines := transforms.Map(s, "Format", func(kv dataflow.KV[string, int64]) string {
		return fmt.Sprintf("%s=%d pid=%d", kv.Key, kv.Value, os.Getpid())
	}, counts)
	// State and timers in the worker processes: a bag per key, flushed
	// (with its size) by an event-time timer at the end of the window.
	keyed := transforms.Map(s, "Key", func(w string) dataflow.KV[string, string] { return dataflow.KV[string, string]{Key: w, Value: w} }, kept)
	flushed := dataflow.StatefulParDo(s, "Flush", &bagFlushFn{
		bag:   dataflow.NewBagState[string]("bag"),
		flush: dataflow.NewEventTimer("flush"),
	}, keyed)
	// Windows with an offset (assigned by the bridge), grouped values that
	// cross Beam (a Flatten reads them), and output from FinishBundle into
	// the windows of what the bundle read: "window <start>=<values> pid=<pid>".
	events := transforms.CreateTimestamped(s, "Events", []transforms.Timestamped[dataflow.KV[string, int]]{
		{Value: dataflow.Pair("x", 1), Time: 1_000}, {Value: dataflow.Pair("x", 2), Time: 2_000}, {Value: dataflow.Pair("y", 5), Time: 70_000},
	})
	minutes := dataflow.WindowInto(s, "Minutes", dataflow.FixedOffset(time.Minute, 30*time.Second), events)
	groups := dataflow.Flatten(s, "Groups", dataflow.GroupByKey(s, "GroupEvents", minutes))
	sizes := transforms.SumPerKey(s, "SumSizes", dataflow.ParDo[dataflow.KV[string, iter.Seq[int]], dataflow.KV[string, int]](s, "Sizes", &groupSizeFn{}, groups))
	windows := dataflow.ParDo(s, "FormatWindows", dataflow.DoFnFunc[dataflow.KV[string, int], string](func(c *dataflow.Context, kv dataflow.KV[string, int], emit dataflow.Emitter[string]) error {
		emit.Emit(fmt.Sprintf("window %d=%d pid=%d", c.Window().Start, kv.Value, os.Getpid()))
		return nil
	}), sizes)
	all := dataflow.Flatten(s, "All", lines, flushed, dataflow.WindowInto(s, "Rewindow", dataflow.Global(), windows))
	textio.Write(s, "Write", out, all)
	return p
}

// bagFlushFn buffers each key's values and, when its timer fires at the end
// of the window, emits "state <key>=<count> pid=<pid>".
type bagFlushFn struct {
	bag   *dataflow.BagState[string]
	flush *dataflow.Timer
}

func (f *bagFlushFn) ProcessElement(c *dataflow.Context, e dataflow.KV[string, string], _ dataflow.Emitter[string]) error {
	f.bag.Add(c, e.Value)
	f.flush.Set(c, c.Window().MaxTimestamp())
	return nil
}

func (f *bagFlushFn) OnTimer(c *dataflow.Context, key string, _ dataflow.TimerFiring, emit dataflow.Emitter[string]) error {
	emit.Emit(fmt.Sprintf("state %s=%d pid=%d", key, len(f.bag.Read(c)), os.Getpid()))
	f.bag.Clear(c)
	return nil
}

// groupSizeFn counts the grouped values of its bundle per window and emits
// the counts from FinishBundle, each into its window.
type groupSizeFn struct {
	n map[dataflow.Window]int
}

func (f *groupSizeFn) StartBundle(context.Context) error {
	f.n = map[dataflow.Window]int{}
	return nil
}

func (f *groupSizeFn) ProcessElement(c *dataflow.Context, g dataflow.KV[string, iter.Seq[int]], _ dataflow.Emitter[dataflow.KV[string, int]]) error {
	for range g.Value {
		f.n[c.Window()]++
	}
	return nil
}

func (f *groupSizeFn) FinishBundle(_ context.Context, emit dataflow.WindowedEmitter[dataflow.KV[string, int]]) error {
	for w, n := range f.n {
		emit.Emit(dataflow.Pair("values", n), w.MaxTimestamp(), w)
	}
	return nil
}

// TestRemoteProcessWorkers starts Prism as a job server on loopback and runs
// a pipeline whose workers are separate processes of this test binary
// (Prism's PROCESS environment): each worker runs this test again, which
// rebuilds the pipeline and hands it to Beam's harness in Run.
func TestRemoteProcessWorkers(t *testing.T) {
	if beam.IsWorker() {
		// Started by Prism: build the same pipeline and serve it. Run
		// never returns here.
		r := beam.New(beam.Options{Runner: "universal", Endpoint: os.Getenv(envEndpoint), Environment: "PROCESS", EnvironmentConfig: "worker"})
		_, err := r.Run(context.Background(), remotePipeline(os.Getenv(envOut)), dataflow.RunOptions{})
		t.Fatalf("Run returned in a worker: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if _, err := prism.CreateJobServer(ctx, prism.Options{Port: port}); err != nil {
		t.Fatal(err)
	}
	endpoint := fmt.Sprintf("localhost:%d", port)
	out := filepath.Join(t.TempDir(), "out")
	t.Setenv(envOut, out)
	t.Setenv(envEndpoint, endpoint)
	cmd, err := beam.WorkerCommand(t.TempDir(), "-test.run=^TestRemoteProcessWorkers$", "-test.timeout=2m")
	if err != nil {
		t.Fatal(err)
	}
	r := beam.New(beam.Options{Runner: "universal", Endpoint: endpoint, Environment: "PROCESS", EnvironmentConfig: cmd})
	start := time.Now()
	if _, err := dataflow.Execute(ctx, r, remotePipeline(out)); err != nil {
		t.Fatal(err)
	}
	t.Logf("remote run took %v", time.Since(start))

	got := map[string]int64{}
	pids := map[int]bool{}
	files, err := filepath.Glob(filepath.Join(out, "part-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no output files in %s (%v)", out, err)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var word string
			var n int64
			var pid int
			kv, pidText, _ := strings.Cut(sc.Text(), " pid=")
			word, countText, _ := strings.Cut(kv, "=")
			n, err1 := strconv.ParseInt(countText, 10, 64)
			pid, err2 := strconv.Atoi(pidText)
			if err1 != nil || err2 != nil {
				t.Fatalf("bad line %q in %s", sc.Text(), f)
			}
			got[word] = n
			pids[pid] = true
		}
		fh.Close()
	}
	want := map[string]int64{"a!": 3, "b!": 2, "state a!": 3, "state b!": 2, "window -30000": 2, "window 30000": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("word counts (-want +got):\n%s", diff)
	}
	if pids[os.Getpid()] || len(pids) == 0 {
		t.Errorf("results were formatted by processes %v; the launcher is %d: want only separate worker processes", pids, os.Getpid())
	}
	t.Logf("results formatted by worker processes %v (launcher %d)", pids, os.Getpid())
}
