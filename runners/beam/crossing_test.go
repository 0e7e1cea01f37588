package beam_test

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/beam"
)

// What the bridge does beyond Beam's Go SDK: window fns with an offset
// (assigned by the bridge), output into windows a DoFn chooses (its own
// emitter), and grouped values read by something other than a ParDo (its
// fallback codec). Each test checks results that are only right if Beam's
// runner saw the windows and values the bridge produced.

func execute(t *testing.T, p *dataflow.Pipeline) {
	t.Helper()
	if _, err := dataflow.Execute(context.Background(), beam.New(beam.Options{}), p); err != nil {
		t.Fatal(err)
	}
}

func at[T any](v T, ms int64) transforms.Timestamped[T] {
	return transforms.Timestamped[T]{Value: v, Time: dataflow.EventTime(ms)}
}

func iv(start, end int64) dataflow.Window {
	return dataflow.IntervalWindow(dataflow.EventTime(start), dataflow.EventTime(end))
}

// TestOffsetWindowsGroup groups and combines in fixed and sliding windows
// with an offset: the runner must group by the windows the bridge
// assigned, and keep them through the GroupByKey.
func TestOffsetWindowsGroup(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	raw := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[dataflow.KV[string, int]]{
		at(dataflow.Pair("k", 3), 3_000), at(dataflow.Pair("k", 7), 7_000), at(dataflow.Pair("k", 12), 12_000), at(dataflow.Pair("k", 14), 14_000),
		at(dataflow.Pair("k", 15), 15_000),
	})
	fixed := dataflow.WindowInto(s, "Fixed", dataflow.FixedOffset(10*time.Second, 5*time.Second), raw)
	passert.That(s, "FixedSums", transforms.SumPerKey(s, "FixedSum", fixed)).WindowedEquals(
		passert.At(dataflow.Pair("k", 3), 4_999, iv(-5_000, 5_000)),
		passert.At(dataflow.Pair("k", 33), 14_999, iv(5_000, 15_000)),
		passert.At(dataflow.Pair("k", 15), 24_999, iv(15_000, 25_000)),
	)
	// Windows of 10s every 5s, starting at 2s + 5s*k.
	sliding := dataflow.WindowInto(s, "Sliding", dataflow.SlidingOffset(10*time.Second, 5*time.Second, 2*time.Second), raw)
	passert.That(s, "SlidingElements", transforms.Filter(s, "Seven", func(kv dataflow.KV[string, int]) bool { return kv.Value == 7 }, sliding)).WindowedEquals(
		passert.At(dataflow.Pair("k", 7), 7_000, iv(2_000, 12_000)),
		passert.At(dataflow.Pair("k", 7), 7_000, iv(7_000, 17_000)),
	)
	g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", sliding))
	passert.That(s, "SlidingGroups", g).WindowsEqual(map[dataflow.Window][]dataflow.KV[string, []int]{
		iv(-3_000, 7_000):  {dataflow.Pair("k", []int{3})},
		iv(2_000, 12_000):  {dataflow.Pair("k", []int{3, 7})},
		iv(7_000, 17_000):  {dataflow.Pair("k", []int{7, 12, 14, 15})},
		iv(12_000, 22_000): {dataflow.Pair("k", []int{12, 14, 15})},
	})
	execute(t, p)
}

// windowCountFn counts its bundle's elements per window and emits the
// counts from FinishBundle, into their windows.
type windowCountFn struct {
	counts map[dataflow.Window]int
}

func (f *windowCountFn) StartBundle(context.Context) error {
	f.counts = map[dataflow.Window]int{}
	return nil
}

func (f *windowCountFn) ProcessElement(c *dataflow.Context, _ int, _ dataflow.Emitter[dataflow.KV[string, int]]) error {
	f.counts[c.Window()]++
	return nil
}

func (f *windowCountFn) FinishBundle(_ context.Context, emit dataflow.WindowedEmitter[dataflow.KV[string, int]]) error {
	for w, n := range f.counts {
		emit.Emit(dataflow.Pair("n", n), w.MaxTimestamp(), w)
	}
	return nil
}

// TestFinishBundleIntoWindows sums what FinishBundle emitted into windows
// with a GroupByKey downstream: the runner groups it by those windows.
func TestFinishBundleIntoWindows(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	var vs []transforms.Timestamped[int]
	for i := range 30 {
		vs = append(vs, at(i, int64(i)*1000))
	}
	in := dataflow.WindowInto(s, "Window", dataflow.Fixed(10*time.Second), transforms.CreateTimestamped(s, "Create", vs))
	counts := dataflow.ParDo[int, dataflow.KV[string, int]](s, "Count", &windowCountFn{}, in)
	passert.That(s, "Sums", transforms.SumPerKey(s, "Sum", counts)).WindowedEquals(
		passert.At(dataflow.Pair("n", 10), 9_999, iv(0, 10_000)),
		passert.At(dataflow.Pair("n", 10), 19_999, iv(10_000, 20_000)),
		passert.At(dataflow.Pair("n", 10), 29_999, iv(20_000, 30_000)),
	)
	execute(t, p)
}

// TestFinishBundleWindowKindIsChecked: an interval window in a globally
// windowed collection cannot be encoded by Beam; the bundle fails with an
// error that says so.
func TestFinishBundleWindowKindIsChecked(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[int]{at(1, 1_000)})
	wrong := dataflow.ParDo[int, dataflow.KV[string, int]](s, "Wrong", &intervalFinishFn{}, in)
	memio.Collect(s, "Collect", wrong)
	_, err := dataflow.Execute(context.Background(), beam.New(beam.Options{}), p)
	if err == nil || !strings.Contains(err.Error(), "emitted into window") || !strings.Contains(err.Error(), "GlobalWindows") {
		t.Fatalf("got error %v, want one about the window of the FinishBundle output", err)
	}
}

// intervalFinishFn emits into an interval window from FinishBundle,
// whatever the windows of its input.
type intervalFinishFn struct{}

func (intervalFinishFn) ProcessElement(*dataflow.Context, int, dataflow.Emitter[dataflow.KV[string, int]]) error {
	return nil
}

func (intervalFinishFn) FinishBundle(_ context.Context, emit dataflow.WindowedEmitter[dataflow.KV[string, int]]) error {
	emit.Emit(dataflow.Pair("x", 1), 0, iv(0, 10_000))
	return nil
}

func span(w dataflow.Window) string { return fmt.Sprintf("[%d,%d)", w.Start, w.End) }

func materialize(g dataflow.KV[string, iter.Seq[int]]) string {
	vs := slices.Collect(g.Value)
	slices.Sort(vs)
	return fmt.Sprintf("%s=%v", g.Key, vs)
}

// TestGroupedValuesCrossBeam reads GroupByKey outputs with what is not a
// ParDo (passert, which re-windows and reads them as a side input; a
// Flatten; a Reshuffle; a WindowInto the bridge assigns; a sink), so that
// the grouped values cross Beam with the bridge's fallback codec.
func TestGroupedValuesCrossBeam(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[dataflow.KV[string, int]]{
		at(dataflow.Pair("a", 1), 1_000), at(dataflow.Pair("b", 2), 2_000), at(dataflow.Pair("a", 3), 3_000), at(dataflow.Pair("a", 4), 14_000),
	})
	windowed := dataflow.WindowInto(s, "Window", dataflow.Fixed(10*time.Second), in)
	g1 := dataflow.GroupByKey(s, "Group1", windowed)
	g2 := dataflow.GroupByKey(s, "Group2", transforms.Map(s, "Tens", func(kv dataflow.KV[string, int]) dataflow.KV[string, int] {
		return dataflow.Pair(kv.Key, kv.Value*10)
	}, windowed))

	// passert directly on the grouped values.
	passert.That(s, "Groups", g1).SatisfiesElems(func(got []dataflow.Elem[dataflow.KV[string, iter.Seq[int]]]) error {
		var ss []string
		for _, e := range got {
			// Grouped values can be iterated more than once.
			ss = append(ss, fmt.Sprintf("%s %s %s", span(e.Window), materialize(e.Value), materialize(e.Value)))
		}
		slices.Sort(ss)
		want := []string{"[0,10000) a=[1 3] a=[1 3]", "[0,10000) b=[2] b=[2]", "[10000,20000) a=[4] a=[4]"}
		if !slices.Equal(ss, want) {
			return fmt.Errorf("got %q, want %q", ss, want)
		}
		return nil
	})
	passert.Count(s, "Count", g2, 3)

	// Flatten, Reshuffle and an offset WindowInto of grouped values, then
	// ParDos that read them.
	flat := dataflow.Flatten(s, "Flatten", g1, g2)
	shuffled := dataflow.Reshuffle(s, "Reshuffle", flat)
	offset := dataflow.WindowInto(s, "Offset", dataflow.FixedOffset(10*time.Second, 5*time.Second), shuffled)
	lines := transforms.Map(s, "Format", materialize, offset)
	got := memio.Collect(s, "Lines", lines)

	// A sink of grouped values.
	groups := memio.Collect(s, "CollectGroups", g2)

	execute(t, p)

	var ss []string
	for _, e := range got.Elems() {
		ss = append(ss, fmt.Sprintf("%s@%d %s", span(e.Window), e.Time, e.Value))
	}
	slices.Sort(ss)
	// The groups are at the ends of their windows (9999 and 19999), which
	// the offset windows [5000,15000) and [15000,25000) contain.
	want := []string{
		"[15000,25000)@19999 a=[40]", "[15000,25000)@19999 a=[4]",
		"[5000,15000)@9999 a=[1 3]", "[5000,15000)@9999 a=[10 30]", "[5000,15000)@9999 b=[20]", "[5000,15000)@9999 b=[2]",
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, ss); diff != "" {
		t.Errorf("formatted groups (-want +got):\n%s", diff)
	}
	ss = nil
	for _, e := range groups.Elems() {
		ss = append(ss, fmt.Sprintf("%s %s", span(e.Window), materialize(e.Value)))
	}
	slices.Sort(ss)
	if diff := cmp.Diff([]string{"[0,10000) a=[10 30]", "[0,10000) b=[20]", "[10000,20000) a=[40]"}, ss); diff != "" {
		t.Errorf("collected groups (-want +got):\n%s", diff)
	}
}
