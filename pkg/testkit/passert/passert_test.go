package passert_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

type KV[K, V any] = dataflow.KV[K, V]

func kv[K, V any](k K, v V) KV[K, V] { return KV[K, V]{Key: k, Value: v} }

func run(t *testing.T, p *dataflow.Pipeline) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := passert.Execute(ctx, direct.New(direct.Options{Parallelism: 4}), p)
	return err
}

// mustPass runs p and fails the test if any assertion fails.
func mustPass(t *testing.T, p *dataflow.Pipeline) {
	t.Helper()
	if err := run(t, p); err != nil {
		t.Fatalf("run failed: %v", err)
	}
}

// mustFail runs p, which must fail with a *passert.Error for assertion
// name whose text contains every string of want.
func mustFail(t *testing.T, p *dataflow.Pipeline, name string, want ...string) {
	t.Helper()
	err := run(t, p)
	if err == nil {
		t.Fatalf("run succeeded, want assertion %q to fail", name)
	}
	var pe *passert.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error is not a *passert.Error: %v", err)
	}
	if pe.Assertion != name {
		t.Errorf("failed assertion %q, want %q", pe.Assertion, name)
	}
	msg := err.Error()
	t.Logf("failed as expected:\n%s", msg)
	if !strings.Contains(msg, name+"/Check") {
		t.Errorf("error does not name the transform %s/Check:\n%s", name, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
}

func ints(s dataflow.Scope, vs ...int) dataflow.PCollection[int] {
	return transforms.Create(s, "Ints", vs...)
}

// fixed returns vs at the given millisecond timestamps in 10s fixed windows.
func fixed[T any](s dataflow.Scope, vs []transforms.Timestamped[T]) dataflow.PCollection[T] {
	in := transforms.CreateTimestamped(s, "Create", vs)
	return dataflow.WindowInto(s, "Fixed", dataflow.Fixed(10*time.Second), in)
}

func win(startSec, endSec int64) dataflow.Window {
	return dataflow.IntervalWindow(dataflow.EventTime(startSec*1000), dataflow.EventTime(endSec*1000))
}

var onTimeOnly = dataflow.PaneInfo{Timing: dataflow.PaneOnTime, IsFirst: true, IsLast: true}

func TestEqualsPasses(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := ints(s, 3, 1, 2, 2)
	passert.Equals(s, "Equals", in, 1, 2, 2, 3)
	passert.ContainsAll(s, "ContainsAll", in, 2, 3)
	passert.Count(s, "Count", in, 4)
	passert.NonEmpty(s, "NonEmpty", in)
	passert.True(s, "True", in, func(v int) bool { return v > 0 })
	passert.False(s, "False", in, func(v int) bool { return v > 3 })
	passert.Satisfies(s, "Satisfies", in, func(got []int) error {
		sum := 0
		for _, v := range got {
			sum += v
		}
		if sum != 8 {
			return fmt.Errorf("sum %d, want 8", sum)
		}
		return nil
	})
	passert.That(s, "AllInGlobal", in).InGlobalWindow().Count(4)
	passert.That(s, "OnlyPane", in).InOnlyPane().Count(4)
	passert.That(s, "OnTimeIncludesUngrouped", in).InOnTimePane().Count(4)
	passert.That(s, "NoEarly", in).InEarlyPanes().Empty()
	mustPass(t, p)
	if got, want := passert.Assertions(p), []string{"AllInGlobal", "ContainsAll", "Count", "Equals", "False", "NoEarly", "NonEmpty", "OnTimeIncludesUngrouped", "OnlyPane", "Satisfies", "True"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Assertions = %v, want %v", got, want)
	}
}

func TestEqualsFails(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	passert.Equals(s, "Equals", ints(s, 1, 2, 2, 4), 1, 2, 3)
	mustFail(t, p, "Equals",
		"got 4 elements, want 3",
		"missing (want, not got): 1\n\t3\n",
		"unexpected (got, not want): 2\n\t2\n\t4\n",
		"diff (-want +got)")
}

func TestEmptyInputIsChecked(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	passert.Equals(s, "Equals", ints(s), 1)
	mustFail(t, p, "Equals", "got 0 elements, want 1", "missing (want, not got): 1")

	p = dataflow.NewPipeline()
	s = p.Root()
	passert.NonEmpty(s, "NonEmpty", ints(s))
	mustFail(t, p, "NonEmpty", "got no elements")

	p = dataflow.NewPipeline()
	s = p.Root()
	in := ints(s)
	passert.Empty(s, "Empty", in)
	passert.Equals(s, "Equals", in)
	passert.Count(s, "Count", in, 0)
	mustPass(t, p)
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(s dataflow.Scope, in dataflow.PCollection[int])
		want  []string
	}{
		{"Count", func(s dataflow.Scope, in dataflow.PCollection[int]) { passert.Count(s, "A", in, 2) }, []string{"Count: got 3 elements, want 2"}},
		{"Empty", func(s dataflow.Scope, in dataflow.PCollection[int]) { passert.Empty(s, "A", in) }, []string{"Empty: got 3 elements, want none", "\t1\n"}},
		{"ContainsAll", func(s dataflow.Scope, in dataflow.PCollection[int]) { passert.ContainsAll(s, "A", in, 1, 1) }, []string{"1 of 2 wanted elements are missing", "missing (want, not got): 1\n\t1\n"}},
		{"True", func(s dataflow.Scope, in dataflow.PCollection[int]) {
			passert.True(s, "A", in, func(v int) bool { return v < 3 })
		}, []string{"1 of 3 elements do not satisfy", "\t3\n"}},
		{"False", func(s dataflow.Scope, in dataflow.PCollection[int]) {
			passert.False(s, "A", in, func(v int) bool { return v == 2 })
		}, []string{"1 of 3 elements satisfy", "\t2\n"}},
		{"Satisfies", func(s dataflow.Scope, in dataflow.PCollection[int]) {
			passert.Satisfies(s, "A", in, func([]int) error { return errors.New("no good") })
		}, []string{"Satisfies: no good"}},
		{"EqualsListOrder", func(s dataflow.Scope, in dataflow.PCollection[int]) {
			sum := transforms.Sum(s, "Sum", in)
			passert.EqualsList(s, "A", sum, 7)
		}, []string{"EqualsList: got 1 elements, want 1", "-", "7", "+", "6"}},
		{"InWindow", func(s dataflow.Scope, in dataflow.PCollection[int]) {
			passert.That(s, "A", in).InWindow(win(0, 10)).NonEmpty()
		}, []string{"in window [1970-01-01T00:00:00.000Z, 1970-01-01T00:00:10.000Z)", "NonEmpty: got no elements"}},
		{"PanicInPredicate", func(s dataflow.Scope, in dataflow.PCollection[int]) {
			passert.True(s, "A", in, func(int) bool { panic("boom") })
		}, []string{"panic while checking: boom"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := dataflow.NewPipeline()
			s := p.Root()
			tc.build(s, ints(s, 1, 2, 3))
			mustFail(t, p, "A", tc.want...)
		})
	}
}

type point struct {
	X, Y int
	tag  string // unexported: compared too
}

func TestStructsAndKVs(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	pts := transforms.Create(s, "Points", point{1, 2, "a"}, point{3, 4, "b"})
	passert.Equals(s, "PointsEqual", pts, point{3, 4, "b"}, point{1, 2, "a"})
	kvs := transforms.Create(s, "KVs", kv("a", 1), kv("b", 2), kv("a", 3))
	passert.Equals(s, "KVsEqual", kvs, kv("a", 3), kv("a", 1), kv("b", 2))
	passert.Equals(s, "Grouped", passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GBK", kvs)),
		kv("a", []int{1, 3}), kv("b", []int{2}))
	mustPass(t, p)

	p = dataflow.NewPipeline()
	s = p.Root()
	pts = transforms.Create(s, "Points", point{1, 2, "a"})
	passert.Equals(s, "PointsEqual", pts, point{1, 2, "z"})
	mustFail(t, p, "PointsEqual", `missing (want, not got): 1`, `{X:1 Y:2 tag:z}`, `{X:1 Y:2 tag:a}`)

	p = dataflow.NewPipeline()
	s = p.Root()
	kvs = transforms.Create(s, "KVs", kv("a", 1), kv("a", 2))
	passert.Equals(s, "Grouped", passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GBK", kvs)), kv("a", []int{1}))
	mustFail(t, p, "Grouped", "(a, [1])", "(a, [1 2])")
}

func TestStringsAreQuoted(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	passert.Equals(s, "WordsEqual", transforms.Create(s, "Words", "a b"), "a", "b")
	mustFail(t, p, "WordsEqual", "\t\"a b\"\n", "\t\"a\"\n")
}

func TestCmpOptions(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	mean := transforms.Mean(s, "Mean", transforms.Create(s, "Floats", 0.1, 0.2, 0.4))
	passert.That(s, "Approx", mean).WithCmpOptions(cmpopts.EquateApprox(0, 1e-9)).Equals(0.7 / 3)
	mustPass(t, p)
}

func TestWindowsAndPanes(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := fixed(s, []transforms.Timestamped[KV[string, int]]{
		{Value: kv("k", 1), Time: 1000},
		{Value: kv("k", 2), Time: 2000},
		{Value: kv("k", 3), Time: 12000},
	})
	passert.That(s, "Windowed", in).WindowedEquals(
		passert.At(kv("k", 1), 1000, win(0, 10)),
		passert.At(kv("k", 2), 2000, win(0, 10)),
		passert.At(kv("k", 3), 12000, win(10, 20)),
	)
	passert.That(s, "Windows", in).WindowsEqual(map[dataflow.Window][]KV[string, int]{
		win(0, 10):  {kv("k", 2), kv("k", 1)},
		win(10, 20): {kv("k", 3)},
	})
	passert.That(s, "InWindow", in).InWindow(win(10, 20)).Equals(kv("k", 3))
	grouped := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GBK", in))
	passert.Panes(s, "Panes", grouped,
		passert.Pane[KV[string, []int]]{Window: win(0, 10), Pane: onTimeOnly, Values: []KV[string, []int]{kv("k", []int{1, 2})}},
		passert.Pane[KV[string, []int]]{Window: win(10, 20), Pane: onTimeOnly, Values: []KV[string, []int]{kv("k", []int{3})}},
	)
	passert.That(s, "OnTime", grouped).InWindow(win(0, 10)).InOnTimePane().Equals(kv("k", []int{1, 2}))
	passert.That(s, "Final", grouped).InFinalPane().Count(2)
	passert.That(s, "Early", grouped).InEarlyPanes().Empty()
	passert.That(s, "Late", grouped).InLatePanes().Empty()
	passert.That(s, "NonLate", grouped).InNonLatePanes().Count(2)
	passert.That(s, "Only", grouped).InOnlyPane().Count(2)
	passert.That(s, "Elems", grouped).SatisfiesElems(func(got []dataflow.Elem[KV[string, []int]]) error {
		for _, e := range got {
			if e.Time != e.Window.MaxTimestamp() {
				return fmt.Errorf("%v: timestamp is not the end of the window", e)
			}
		}
		return nil
	})
	mustPass(t, p)
}

func TestWindowsAndPanesFail(t *testing.T) {
	build := func() (*dataflow.Pipeline, dataflow.Scope, dataflow.PCollection[KV[string, []int]]) {
		p := dataflow.NewPipeline()
		s := p.Root()
		in := fixed(s, []transforms.Timestamped[KV[string, int]]{
			{Value: kv("k", 1), Time: 1000},
			{Value: kv("k", 3), Time: 12000},
		})
		return p, s, passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GBK", in))
	}

	p, s, grouped := build()
	passert.Panes(s, "Panes", grouped,
		passert.Pane[KV[string, []int]]{Window: win(0, 10), Pane: onTimeOnly, Values: []KV[string, []int]{kv("k", []int{1})}},
		passert.Pane[KV[string, []int]]{Window: win(10, 20), Pane: dataflow.PaneInfo{Timing: dataflow.PaneEarly, IsFirst: true, NonSpeculativeIndex: -1}, Values: []KV[string, []int]{kv("k", []int{3})}},
	)
	mustFail(t, p, "Panes", "Panes: got 2 panes, want 2", `Timing:`, `"EARLY"`, `"ON_TIME"`, `IsLast:`)

	p, s, grouped = build()
	passert.That(s, "Windows", grouped).WindowsEqual(map[dataflow.Window][]KV[string, []int]{
		win(0, 10):  {kv("k", []int{1})},
		win(20, 30): {kv("k", []int{3})},
	})
	mustFail(t, p, "Windows", "2 of 3 windows differ", "window [1970-01-01T00:00:10.000Z, 1970-01-01T00:00:20.000Z): unexpected, got 1 elements", "window [1970-01-01T00:00:20.000Z, 1970-01-01T00:00:30.000Z): missing, want 1 elements")

	p, s, grouped = build()
	passert.That(s, "Windowed", grouped).WindowedEquals(
		passert.At(kv("k", []int{1}), 9999, win(0, 10)),
		passert.At(kv("k", []int{3}), 12000, win(10, 20)),
	)
	mustFail(t, p, "Windowed", "1 missing, 1 unexpected", "(k, [3])@1970-01-01T00:00:12.000Z", "(k, [3])@1970-01-01T00:00:19.999Z")

	// InOnlyPane fails on a pane that is not both first and last.
	p = dataflow.NewPipeline()
	s = p.Root()
	in := dataflow.WindowInto(s, "Count2", dataflow.Global(), transforms.Create(s, "In", kv("k", 1), kv("k", 2), kv("k", 3)),
		dataflow.Triggering(dataflow.Repeatedly(dataflow.AfterCount(2))))
	g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GBK", in))
	passert.That(s, "Only", g).InOnlyPane().NonEmpty()
	mustFail(t, p, "Only", "elements are in the wrong pane", "not in the only pane")
}

func TestGroupedFunc(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := transforms.Create(s, "In", kv(1, point{2, 0, ""}), kv(1, point{1, 0, ""}))
	g := passert.GroupedFunc(s, "Materialize", dataflow.GroupByKey(s, "GBK", in), func(a, b point) int { return a.X - b.X })
	passert.Equals(s, "Sorted", g, kv(1, []point{{1, 0, ""}, {2, 0, ""}}))
	mustPass(t, p)
}

func TestInvalidAssertions(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	in := ints(s, 1)
	passert.Equals(s, "a/b", in, 1)
	passert.Equals(s, "Dup", in, 1)
	passert.Equals(s, "Dup", in, 1)
	passert.Equals(s, "Invalid", dataflow.PCollection[int]{}, 1)
	passert.True(s, "NilPred", in, nil)
	err := p.Err()
	if err == nil {
		t.Fatal("pipeline has no error")
	}
	for _, w := range []string{`"a/b"`, `"Dup/Reify"`, `"Invalid"`, `"NilPred"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("pipeline error does not mention %s:\n%v", w, err)
		}
	}
}

// fakeRunner runs nothing and reports success: Verify must notice.
type fakeRunner struct{}

func (fakeRunner) Run(context.Context, *dataflow.Pipeline, dataflow.RunOptions) (dataflow.Result, error) {
	return fakeResult{}, nil
}

type fakeResult struct{}

func (fakeResult) Wait(context.Context) error { return nil }
func (fakeResult) Cancel()                    {}
func (fakeResult) State() dataflow.State      { return dataflow.Done }
func (fakeResult) Metrics() dataflow.Metrics  { return dataflow.Metrics{} }

func TestVerifyCatchesSkippedAssertions(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	passert.Equals(s, "Never", ints(s, 1), 2)
	_, err := passert.Execute(context.Background(), fakeRunner{}, p)
	if err == nil || !strings.Contains(err.Error(), `assertion "Never" did not run`) {
		t.Fatalf("Execute on a runner that runs nothing: err = %v, want a did-not-run error", err)
	}
}

// groups is a GroupByKey output type, to check that Grouped keeps the
// element's type parameters straight.
var _ func(dataflow.Scope, string, dataflow.PCollection[KV[string, iter.Seq[int]]]) dataflow.PCollection[KV[string, []int]] = passert.Grouped[string, int]
