package trigger

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

func mustReducer(t testing.TB, ws dataflow.WindowingStrategy) *Reducer {
	t.Helper()
	r, err := NewReducer(ws)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func fixed10(tr dataflow.Trigger) dataflow.WindowingStrategy {
	return dataflow.WindowingStrategy{Fn: dataflow.Fixed(10 * time.Millisecond), Trigger: tr}
}

func TestNewReducerErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ws   dataflow.WindowingStrategy
		want string
	}{
		{"no window fn", dataflow.WindowingStrategy{Trigger: dataflow.Default()}, "nil WindowFn"},
		{"nil trigger", dataflow.WindowingStrategy{Fn: dataflow.Global()}, "nil trigger"},
		{"zero count", fixed10(dataflow.Repeatedly(dataflow.AfterCount(0))), "count must be at least 1"},
		{"sub-millisecond delay", fixed10(dataflow.AfterProcessingTime(1500 * time.Microsecond)), "whole number of milliseconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReducer(tc.ws)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewReducer: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestPreorderIDs checks that trigger sub-state is laid out in preorder,
// AfterWatermark with only late firings getting Beam's implicit Never.
func TestPreorderIDs(t *testing.T) {
	tr := dataflow.AfterEach(
		dataflow.OrFinally(dataflow.Repeatedly(dataflow.AfterCount(2)), dataflow.AfterWatermark()),
		dataflow.AfterWatermark().WithLateFirings(dataflow.AfterProcessingTime(time.Second)),
	)
	nodes, err := compile(tr)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for id, n := range nodes {
		got = append(got, fmt.Sprintf("%d:%d%v<%d", id, n.kind, n.subs, n.end))
	}
	kinds := []kind{kindAfterEach, kindOrFinally, kindRepeat, kindCount, kindEndOfWindow, kindEarlyLate, kindNever, kindProcTime}
	if len(nodes) != len(kinds) {
		t.Fatalf("got %d nodes: %v", len(nodes), got)
	}
	for id, k := range kinds {
		if nodes[id].kind != k {
			t.Fatalf("node %d: got kind %d, want %d (all: %v)", id, nodes[id].kind, k, got)
		}
	}
	if fmt.Sprint(nodes[0].subs, nodes[1].subs, nodes[5].subs, nodes[0].end, nodes[1].end) != "[1 5] [2 4] [6 7] 8 5" {
		t.Fatalf("wrong tree: %v", got)
	}
}

// TestEndOfTimeGarbageCollection is Beam's
// ReduceFnRunnerTest.testFixedWindowEndOfTimeGarbageCollection: a window whose
// end plus the allowed lateness is past the end of the global window is
// collected at the end of the global window.
func TestEndOfTimeGarbageCollection(t *testing.T) {
	lateness := 365 * 24 * time.Hour
	ws := dataflow.WindowingStrategy{
		Fn:                dataflow.Fixed(10 * time.Millisecond),
		Trigger:           dataflow.AfterWatermark().WithLateFirings(dataflow.Never()),
		AllowedLateness:   lateness,
		TimestampCombiner: dataflow.Earliest,
	}
	r := mustReducer(t, ws)
	ts := dataflow.EndOfGlobalWindow.Add(-lateness) + 1
	w := ws.Fn.AssignWindows(nil, ts)[0]
	if w.MaxTimestamp() >= dataflow.EndOfGlobalWindow || w.MaxTimestamp().Add(lateness) <= dataflow.EndOfGlobalWindow {
		t.Fatalf("window %v does not straddle the end of time", w)
	}
	if gc := r.GarbageCollectionTime(w); gc != dataflow.EndOfGlobalWindow {
		t.Fatalf("garbage collection time %v, want the end of the global window", gc)
	}
	s := r.NewState(w)
	now := time.Unix(0, 0)
	if ok, panes := r.OnElement(&s, ts, dataflow.MinTime, now); !ok || len(panes) != 0 {
		t.Fatalf("first element: %v %v", ok, panes)
	}
	if panes := r.OnWatermark(&s, w.MaxTimestamp(), now); len(panes) != 0 {
		t.Fatalf("nothing fires at the window's max timestamp, got %v", panes)
	}
	if ok, _ := r.OnElement(&s, ts, w.MaxTimestamp(), now); !ok {
		t.Fatal("second element dropped")
	}
	panes := r.OnWatermark(&s, dataflow.EndOfGlobalWindow, now)
	if len(panes) != 1 || panes[0].From != 0 || panes[0].To != 2 || panes[0].Info.Timing != dataflow.PaneOnTime {
		t.Fatalf("got %v, want one on-time pane of both elements", panes)
	}
	if r.Expired(&s) {
		t.Fatal("expired at the end of the global window; it expires only after it")
	}
	r.OnWatermark(&s, dataflow.EndOfGlobalWindow+1, now)
	if !r.Expired(&s) {
		t.Fatal("not expired after the end of the global window")
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	r := mustReducer(t, fixed10(dataflow.Repeatedly(dataflow.AfterAny(dataflow.AfterCount(3), dataflow.AfterProcessingTime(time.Second)))))
	s := r.NewState(dataflow.IntervalWindow(0, 10))
	now := time.UnixMilli(1000)
	r.OnElement(&s, 3, 0, now)
	r.OnElement(&s, 4, 0, now)
	good, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(good) {
		var d WindowState
		if err := d.UnmarshalBinary(good[:i]); !errors.Is(err, ErrCorruptState) {
			t.Fatalf("truncated to %d bytes: got %v, want ErrCorruptState", i, err)
		}
	}
	if err := new(WindowState).UnmarshalBinary(append(good, 0)); !errors.Is(err, ErrCorruptState) {
		t.Fatalf("trailing byte: got %v", err)
	}
	// Flipping bytes must never panic.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		b := append([]byte(nil), good...)
		b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
		var d WindowState
		if d.UnmarshalBinary(b) == nil {
			_ = r.Check(&d)
		}
	}
	// A state made for another trigger is refused.
	other := mustReducer(t, fixed10(dataflow.Repeatedly(dataflow.AfterCount(3))))
	var d WindowState
	if err := d.UnmarshalBinary(good); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(&d); err != nil {
		t.Fatalf("Check of its own state: %v", err)
	}
	if err := other.Check(&d); err == nil {
		t.Fatal("Check accepted a state made for a different trigger")
	}
}

func TestClone(t *testing.T) {
	r := mustReducer(t, fixed10(dataflow.Repeatedly(dataflow.AfterProcessingTime(time.Second))))
	s := r.NewState(dataflow.IntervalWindow(0, 10))
	r.OnElement(&s, 1, 0, time.UnixMilli(0))
	c := s.Clone()
	r.OnProcessingTime(&s, 0, time.UnixMilli(1001))
	r.OnElement(&s, 2, 0, time.UnixMilli(1001))
	if d, _ := r.NextDeadline(&c); d != time.UnixMilli(1001) {
		t.Fatalf("clone changed with the original: next deadline %v", d)
	}
	if c.Len() != 1 {
		t.Fatalf("clone has %d elements", c.Len())
	}
}

// TestProcessingTimeTimers drives a window the way a streaming runner would,
// sleeping until NextDeadline under synctest's fake clock.
func TestProcessingTimeTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := mustReducer(t, fixed10(dataflow.Repeatedly(dataflow.AfterProcessingTime(5*time.Second))))
		s := r.NewState(dataflow.IntervalWindow(0, 10))
		start := time.Now()
		var got []string
		// deliver sleeps until each deadline before until and fires it.
		deliver := func(until time.Time) {
			for {
				d, ok := r.NextDeadline(&s)
				if !ok || d.After(until) {
					return
				}
				time.Sleep(time.Until(d))
				for _, p := range r.OnProcessingTime(&s, 0, time.Now()) {
					got = append(got, fmt.Sprintf("%v %s", time.Since(start), fmtPane(p)))
				}
			}
		}
		for _, at := range []time.Duration{0, 2 * time.Second, 9 * time.Second} {
			deliver(start.Add(at))
			time.Sleep(time.Until(start.Add(at)))
			r.OnElement(&s, 1, 0, time.Now())
		}
		deliver(start.Add(time.Hour))
		want := []string{
			"5.001s pane [0,2) EARLY idx=0 nonspec=-1 first ts=9",
			"14.001s pane [2,3) EARLY idx=1 nonspec=-1 ts=9",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if _, ok := r.NextDeadline(&s); ok {
			t.Fatal("a deadline is left")
		}
	})
}

// TestRandomized runs random triggers over random inputs, checks the
// invariants of the package doc, and checks that round-tripping the state
// before every call changes nothing.
func TestRandomized(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 3000 {
		ws := randomStrategy(rng)
		ops := randomOps(rng)
		plain := runOps(t, ws, ops, false)
		rt := runOps(t, ws, ops, true)
		if plain != rt {
			t.Fatalf("case %d (seed %d), %v: round-tripping changed the output:\n%s\nvs\n%s", i, seed, ws, plain, rt)
		}
		if t.Failed() {
			t.Fatalf("case %d (seed %d): %v\n%s", i, seed, ws, plain)
		}
	}
}

func randomTrigger(rng *rand.Rand, depth int) dataflow.Trigger {
	leaf := []func() dataflow.Trigger{
		func() dataflow.Trigger { return dataflow.AfterCount(1 + rng.IntN(4)) },
		func() dataflow.Trigger {
			return dataflow.AfterProcessingTime(time.Duration(1+rng.IntN(20)) * time.Millisecond)
		},
		func() dataflow.Trigger { return dataflow.AfterWatermark() },
		func() dataflow.Trigger { return dataflow.Never() },
		func() dataflow.Trigger { return dataflow.Always() },
		func() dataflow.Trigger { return dataflow.Default() },
	}
	if depth == 0 || rng.IntN(3) == 0 {
		return leaf[rng.IntN(len(leaf))]()
	}
	subs := func() []dataflow.Trigger {
		s := make([]dataflow.Trigger, 1+rng.IntN(3))
		for i := range s {
			s[i] = randomTrigger(rng, depth-1)
		}
		return s
	}
	switch rng.IntN(6) {
	case 0:
		return dataflow.Repeatedly(randomTrigger(rng, depth-1))
	case 1:
		return dataflow.AfterEach(subs()...)
	case 2:
		return dataflow.AfterAny(subs()...)
	case 3:
		return dataflow.AfterAll(subs()...)
	case 4:
		return dataflow.OrFinally(randomTrigger(rng, depth-1), randomTrigger(rng, depth-1))
	}
	w := dataflow.AfterWatermark()
	if rng.IntN(3) > 0 {
		w = w.WithEarlyFirings(randomTrigger(rng, depth-1))
	}
	if rng.IntN(2) > 0 {
		w = w.WithLateFirings(randomTrigger(rng, depth-1))
	}
	return w
}

func randomStrategy(rng *rand.Rand) dataflow.WindowingStrategy {
	ws := fixed10(randomTrigger(rng, 3))
	if rng.IntN(4) == 0 {
		ws.Fn = dataflow.Sessions(10 * time.Millisecond)
	}
	ws.Accumulation = dataflow.AccumulationMode(rng.IntN(2))
	ws.AllowedLateness = []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond}[rng.IntN(3)]
	ws.TimestampCombiner = dataflow.TimestampCombiner(rng.IntN(3))
	ws.OnTime = dataflow.OnTimeBehavior(rng.IntN(2))
	return ws
}

type op struct {
	kind byte // 'e'lement, 'w'atermark, 'p'rocessing time
	t    int64
}

func randomOps(rng *rand.Rand) []op {
	var ops []op
	wm, now := int64(-5), int64(0)
	for range rng.IntN(40) {
		switch rng.IntN(6) {
		case 0:
			wm += int64(rng.IntN(8))
			ops = append(ops, op{'w', wm})
		case 1:
			now += int64(rng.IntN(12))
			ops = append(ops, op{'p', now})
		default:
			ops = append(ops, op{'e', int64(rng.IntN(10))})
		}
	}
	return append(ops, op{'w', int64(dataflow.MaxTime)})
}

// runOps runs ops on window [0,10), checking invariants, and returns a
// transcript.
func runOps(t *testing.T, ws dataflow.WindowingStrategy, ops []op, roundtrip bool) string {
	t.Helper()
	r := mustReducer(t, ws)
	w := dataflow.IntervalWindow(0, 10)
	max := w.MaxTimestamp()
	gc := r.GarbageCollectionTime(w)
	s := r.NewState(w)
	wm, now := dataflow.MinTime, time.UnixMilli(0)
	var out strings.Builder
	var panes []Pane
	var lastTo int
	check := func(when string, fired []Pane) {
		for _, p := range fired {
			fmt.Fprintf(&out, "%s: %s\n", when, fmtPane(p))
			i := p.Info
			fail := func(format string, args ...any) {
				t.Errorf("%v: %s: pane %s: %s", ws, when, fmtPane(p), fmt.Sprintf(format, args...))
			}
			if n := len(panes); n > 0 && panes[n-1].Info.IsLast {
				fail("follows the last pane")
			}
			if i.Index != int64(len(panes)) || i.IsFirst != (i.Index == 0) {
				fail("index out of sequence")
			}
			prevTiming, prevNonSpec := dataflow.PaneEarly, int64(-1)
			if n := len(panes); n > 0 {
				prevTiming, prevNonSpec = panes[n-1].Info.Timing, panes[n-1].Info.NonSpeculativeIndex
			}
			switch i.Timing {
			case dataflow.PaneEarly:
				if prevTiming != dataflow.PaneEarly || i.NonSpeculativeIndex != -1 || wm > max {
					fail("bad early pane")
				}
			case dataflow.PaneOnTime:
				if prevTiming != dataflow.PaneEarly || i.NonSpeculativeIndex != 0 || wm <= max {
					fail("bad on-time pane")
				}
			case dataflow.PaneLate:
				if i.NonSpeculativeIndex != prevNonSpec+1 || wm <= max {
					fail("bad late pane")
				}
			default:
				fail("unknown timing")
			}
			if p.To != s.Len() {
				fail("does not end at the last element (%d)", s.Len())
			}
			if ws.Accumulation == dataflow.Accumulating && p.From != 0 {
				fail("accumulating pane does not start at 0")
			}
			if ws.Accumulation == dataflow.Discarding && p.From != lastTo {
				fail("discarding pane does not start where the last ended (%d)", lastTo)
			}
			if p.From == p.To && (i.Timing != dataflow.PaneOnTime || ws.OnTime != dataflow.FireAlways) {
				fail("empty pane that is not an on-time pane under FireAlways")
			}
			if p.Timestamp > max || (ws.TimestampCombiner == dataflow.EndOfWindow && p.Timestamp != max) {
				fail("bad timestamp")
			}
			if i.IsLast && !r.Finished(&s) {
				fail("last, but the window is not finished")
			}
			lastTo = p.To
			panes = append(panes, p)
		}
	}
	reload := func() {
		if !roundtrip {
			return
		}
		b, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var d WindowState
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if err := r.Check(&d); err != nil {
			t.Fatal(err)
		}
		s = d
	}
	for _, o := range ops {
		reload()
		switch o.kind {
		case 'e':
			finished := r.Finished(&s)
			ok, fired := r.OnElement(&s, dataflow.EventTime(o.t), wm, now)
			fmt.Fprintf(&out, "element %d: %v\n", o.t, ok)
			if !ok && !finished && wm <= gc {
				t.Errorf("%v: element %d dropped at watermark %v", ws, o.t, wm)
			}
			if ok && (finished || wm > gc) {
				t.Errorf("%v: element %d accepted at watermark %v, finished %v", ws, o.t, wm, finished)
			}
			check(fmt.Sprintf("element %d", o.t), fired)
		case 'w':
			wm = dataflow.EventTime(o.t)
			check(fmt.Sprintf("watermark %v", wm), r.OnWatermark(&s, wm, now))
		case 'p':
			now = time.UnixMilli(o.t)
			check(fmt.Sprintf("proctime %v", o.t), r.OnProcessingTime(&s, wm, now))
		}
	}
	if !r.Expired(&s) {
		t.Errorf("%v: not expired at +inf", ws)
	}
	if s.Len() > 0 && lastTo != s.Len() {
		t.Errorf("%v: %d elements accepted but the panes end at %d: elements lost", ws, s.Len(), lastTo)
	}
	return out.String()
}

func BenchmarkOnElement(b *testing.B) {
	// The baseline: a hand-written loop that cuts panes of 100 elements.
	b.Run("Baseline", func(b *testing.B) {
		n, from, panes := 0, 0, 0
		b.ReportAllocs()
		for b.Loop() {
			if n++; n-from == 100 {
				from, panes = n, panes+1
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "elements/s")
	})
	for _, tc := range []struct {
		name string
		tr   dataflow.Trigger
	}{
		{"Default", dataflow.Default()},
		{"RepeatedlyAfterCount100", dataflow.Repeatedly(dataflow.AfterCount(100))},
		{"EarlyLate", dataflow.AfterWatermark().WithEarlyFirings(dataflow.AfterProcessingTime(time.Second)).WithLateFirings(dataflow.AfterCount(10))},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := mustReducer(b, dataflow.WindowingStrategy{Fn: dataflow.Global(), Trigger: tc.tr})
			s := r.NewState(dataflow.GlobalWindow)
			now := time.UnixMilli(0)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				r.OnElement(&s, dataflow.EventTime(n), dataflow.MinTime, now)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "elements/s")
		})
	}
}
