package beam_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/beam"
)

func TestOptionsAreValidated(t *testing.T) {
	for _, tc := range []struct {
		opts beam.Options
		want string
	}{
		{beam.Options{Runner: "storm"}, `unknown runner "storm"`},
		{beam.Options{Runner: "universal"}, "needs Options.Endpoint"},
		{beam.Options{Runner: "flink", Endpoint: "localhost:1"}, "needs Options.Environment"},
		{beam.Options{Runner: "universal", Endpoint: "localhost:1", Environment: "PROCESS"}, "needs Options.EnvironmentConfig"},
		{beam.Options{Environment: "LOOPBACK", EnvironmentConfig: "x"}, "takes no EnvironmentConfig"},
		{beam.Options{Environment: "CLOUD"}, `unknown environment "CLOUD"`},
		{beam.Options{Flags: map[string]string{"--parallelism": "2"}}, "without dashes"},
	} {
		p := dataflow.NewPipeline()
		transforms.Create(p.Root(), "Values", 1, 2)
		_, err := beam.New(tc.opts).Run(context.Background(), p, dataflow.RunOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got error %v, want one containing %q", tc.opts, err, tc.want)
		}
	}
}

// TestRejectsWhatItCannotTranslate checks that Run fails before submitting,
// naming the transform and the feature.
func TestRejectsWhatItCannotTranslate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		build     func(s dataflow.Scope)
		transform string
		want      string
	}{
		{"late data", func(s dataflow.Scope) {
			in := transforms.Create(s, "Values", dataflow.Pair("a", 1))
			dataflow.GroupByKeyWithLateData(s, "Group", in)
		}, "Group", "late data"},
		{"no coder", func(s dataflow.Scope) {
			// Channels have no coder, and the bridge's fallback for
			// collections without one cannot encode them either.
			chans := transforms.Map(s, "Chans", func(int) chan int { return nil }, transforms.Create(s, "Values", 1, 2))
			dataflow.Flatten(s, "Flatten", chans)
		}, "Flatten", "chan int is not encodable"},
	} {
		p := dataflow.NewPipeline()
		tc.build(p.Root())
		res, err := beam.New(beam.Options{}).Run(context.Background(), p, dataflow.RunOptions{})
		if res != nil || err == nil || !strings.Contains(err.Error(), `"`+tc.transform+`"`) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got result %v and error %v, want a rejection naming transform %s and %q", tc.name, res, err, tc.transform, tc.want)
		}
		t.Logf("%s: %v", tc.name, err)
	}
}

// TestReadWriteFiles reads files through the bounded-source translation
// (split on the worker, Reshuffle, read each split) and writes through the
// shard-per-bundle writers and the commit step, with memio collecting the
// results in this process.
func TestReadWriteFiles(t *testing.T) {
	dir := t.TempDir()
	var want []string
	for f := range 3 {
		var lines []string
		for i := range 100 {
			lines = append(lines, fmt.Sprintf("f%d-%03d", f, i))
		}
		want = append(want, lines...)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("in-%d.txt", f)), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := dataflow.NewPipeline()
	s := p.Root()
	lines := textio.Read(s, "Read", filepath.Join(dir, "in-*.txt"))
	upper := transforms.Map(s, "Upper", strings.ToUpper, lines)
	got := memio.Collect(s, "Collect", upper)
	out := filepath.Join(dir, "out")
	textio.Write(s, "Write", out, lines)
	if _, err := dataflow.Execute(context.Background(), beam.New(beam.Options{}), p); err != nil {
		t.Fatal(err)
	}
	wantUpper := make([]string, len(want))
	for i, w := range want {
		wantUpper[i] = strings.ToUpper(w)
	}
	vs := got.Values()
	slices.Sort(vs)
	if diff := cmp.Diff(wantUpper, vs); diff != "" {
		t.Errorf("collected (-want +got):\n%s", diff)
	}
	files, err := filepath.Glob(filepath.Join(out, "part-*"))
	if err != nil {
		t.Fatal(err)
	}
	var written []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, strings.Fields(string(b))...)
	}
	slices.Sort(written)
	if diff := cmp.Diff(want, written); diff != "" {
		t.Errorf("written files (-want +got):\n%s", diff)
	}
}

// sideCountFn counts each key's elements with value state and, when its
// timer fires, emits the count times the factor read from a side input.
type sideCountFn struct {
	n      *dataflow.ValueState[int]
	done   *dataflow.Timer
	factor *dataflow.Singleton[int]
}

func (f *sideCountFn) ProcessElement(c *dataflow.Context, e dataflow.KV[string, int], _ dataflow.Emitter[string]) error {
	n, _ := f.n.Read(c)
	f.n.Write(c, n+1)
	f.done.Set(c, c.Window().MaxTimestamp())
	return nil
}

func (f *sideCountFn) OnTimer(c *dataflow.Context, key string, _ dataflow.TimerFiring, emit dataflow.Emitter[string]) error {
	n, _ := f.n.Read(c)
	emit.Emit(fmt.Sprintf("%s=%d", key, n*f.factor.Get(c)))
	return nil
}

// TestStatefulParDoWithSideInput runs state, an event-time timer and a
// side input in one stateful DoFn.
func TestStatefulParDoWithSideInput(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := transforms.Create(s, "Values", dataflow.Pair("a", 1), dataflow.Pair("b", 2), dataflow.Pair("a", 3))
	factor := dataflow.AsSingleton(transforms.Create(s, "Factor", 10))
	out := dataflow.StatefulParDo(s, "Count", &sideCountFn{n: dataflow.NewValueState[int]("n"), done: dataflow.NewEventTimer("done"), factor: factor},
		in, dataflow.WithSideInputs(factor))
	got := memio.Collect(s, "Collect", out)
	if _, err := dataflow.Execute(context.Background(), beam.New(beam.Options{}), p); err != nil {
		t.Fatal(err)
	}
	vs := got.Values()
	slices.Sort(vs)
	if diff := cmp.Diff([]string{"a=20", "b=10"}, vs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
