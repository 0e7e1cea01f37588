package state

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

var (
	w0  = df.Window{Start: 0, End: 10}
	w10 = df.Window{Start: 10, End: 20}
)

func fmtTimer(t Timer) string {
	w := "global"
	if !t.Window.IsGlobal() {
		w = fmt.Sprintf("[%d,%d)", t.Window.Start, t.Window.End)
	}
	return fmt.Sprintf("%s %s %s/%s @%d hold %d", t.Key, w, t.Family, t.Tag, int64(t.FireAt), int64(t.Hold))
}

func due(t *testing.T, st *Stage, d df.TimeDomain, upTo df.EventTime) []string {
	t.Helper()
	var out []string
	for tm, err := range st.DueTimers(d, upTo) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmtTimer(tm))
	}
	return out
}

func setTimer(t *testing.T, st *Stage, key string, td df.TimerData) {
	t.Helper()
	if err := st.Backend([]byte(key)).SetTimer(td); err != nil {
		t.Fatal(err)
	}
}

func TestDueTimersOrderAndReplacement(t *testing.T) {
	s := mustOpen(t, "db", Options{FS: vfs.NewMem(), MaxParallelism: 128})
	defer s.Close()
	st := mustStage(t, s, "pardo")
	// Key groups with 128: "a" is 120, "b" is 5, "c" is 25 (keys_test pins
	// the first two).
	ev := func(f, tag string, w df.Window, at, hold df.EventTime) df.TimerData {
		return df.TimerData{Family: f, Tag: tag, Window: w, Domain: df.EventTimeDomain, FireAt: at, Hold: hold}
	}
	setTimer(t, st, "a", ev("f", "", w0, 30, 30))
	setTimer(t, st, "a", ev("f", "", w0, 20, 20)) // replaces @30
	setTimer(t, st, "a", ev("g", "x", w0, 25, 3))
	setTimer(t, st, "a", ev("g", "y", w0, 25, 25))
	if err := st.Backend([]byte("a")).ClearTimer(w0, "g", "y"); err != nil {
		t.Fatal(err)
	}
	setTimer(t, st, "b", ev("f", "", w0, 20, 20))
	setTimer(t, st, "b", ev("f", "", w10, 20, 20))
	// The same family, tag and window in the other domain replaces it.
	setTimer(t, st, "b", df.TimerData{Family: "f", Window: w10, Domain: df.ProcessingTimeDomain, FireAt: 5, Hold: 12})
	setTimer(t, st, "c", ev("f", "", w10, 40, 40))

	if tm, ok, err := st.MinTimer(df.EventTimeDomain); err != nil || !ok || fmtTimer(tm) != "b [0,10) f/ @20 hold 20" {
		t.Errorf("MinTimer = %s, %v, %v", fmtTimer(tm), ok, err)
	}
	if h, ok, err := st.WatermarkHold(); err != nil || !ok || h != 3 {
		t.Errorf("WatermarkHold = %d, %v, %v; want 3", h, ok, err)
	}
	want := []string{
		"b [0,10) f/ @20 hold 20",
		"a [0,10) f/ @20 hold 20",
		"a [0,10) g/x @25 hold 3",
	}
	got := due(t, st, df.EventTimeDomain, 26)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DueTimers(event, 26) (-want +got):\n%s", diff)
	}
	if got := due(t, st, df.EventTimeDomain, 26); len(got) != 0 {
		t.Errorf("DueTimers again = %v, want none: they were popped", got)
	}
	if h, ok, err := st.WatermarkHold(); err != nil || !ok || h != 12 {
		t.Errorf("WatermarkHold after popping = %d, %v, %v; want 12 (the processing-time timer's)", h, ok, err)
	}
	// FireAt < upTo: a timer at 40 is not due at 40.
	if got := due(t, st, df.EventTimeDomain, 40); len(got) != 0 {
		t.Errorf("DueTimers(event, 40) = %v, want none", got)
	}
	if diff := cmp.Diff([]string{"c [10,20) f/ @40 hold 40"}, due(t, st, df.EventTimeDomain, 41)); diff != "" {
		t.Errorf("DueTimers(event, 41) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b [10,20) f/ @5 hold 12"}, due(t, st, df.ProcessingTimeDomain, df.MaxTime)); diff != "" {
		t.Errorf("DueTimers(processing) (-want +got):\n%s", diff)
	}
	if _, ok, _ := st.WatermarkHold(); ok {
		t.Error("WatermarkHold with no timers reports one")
	}
}

// TestDueTimersSetWhileFiring: timers the consumer sets are yielded by the
// same iteration when due, in order, even when earlier than the one firing.
func TestDueTimersSetWhileFiring(t *testing.T) {
	s := mustOpen(t, "db", Options{FS: vfs.NewMem()})
	defer s.Close()
	st := mustStage(t, s, "pardo")
	for i, key := range []string{"k1", "k2", "k3"} {
		setTimer(t, st, key, df.TimerData{Family: "f", Window: df.GlobalWindow, FireAt: df.EventTime(10 * (i + 1))})
	}
	var got []string
	for tm, err := range st.DueTimers(df.EventTimeDomain, 100) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s@%d", tm.Key, tm.FireAt))
		if len(got) > 20 {
			t.Fatalf("runaway: %v", got)
		}
		switch got[len(got)-1] {
		case "k1@10": // set one in the past and re-set itself later
			setTimer(t, st, "early", df.TimerData{Family: "f", Window: df.GlobalWindow, FireAt: 1})
			setTimer(t, st, "k1", df.TimerData{Family: "f", Window: df.GlobalWindow, FireAt: 25})
		case "k2@20": // re-set itself beyond upTo
			setTimer(t, st, "k2", df.TimerData{Family: "f", Window: df.GlobalWindow, FireAt: 200})
		}
	}
	want := []string{"k1@10", "early@1", "k2@20", "k1@25", "k3@30"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("firings (-want +got):\n%s", diff)
	}
	if tm, ok, err := st.MinTimer(df.EventTimeDomain); err != nil || !ok || tm.FireAt != 200 {
		t.Errorf("MinTimer = %+v, %v, %v; want k2@200", tm, ok, err)
	}
}

// TestDueTimersSizes sweeps timer counts around DueTimers' read-ahead
// chunk, with consumers that stop early, re-set every timer, or do nothing.
func TestDueTimersSizes(t *testing.T) {
	for _, n := range []int{0, 1, dueChunk - 1, dueChunk, dueChunk + 1, 2*dueChunk + 1, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := mustOpen(t, "db", Options{FS: vfs.NewMem()})
			defer s.Close()
			st := mustStage(t, s, "pardo")
			for i := range n {
				setTimer(t, st, fmt.Sprintf("key-%04d", i), df.TimerData{Family: "f", Window: df.GlobalWindow, FireAt: df.EventTime(i % 50)})
			}
			if n > 1 {
				// Stop after half: the rest stays, the first half is gone.
				k := 0
				for _, err := range st.DueTimers(df.EventTimeDomain, df.MaxTime) {
					if err != nil {
						t.Fatal(err)
					}
					if k++; k == n/2 {
						break
					}
				}
			}
			left := n - n/2
			if n <= 1 {
				left = n
			}
			// Re-set each timer once, beyond upTo: each fires exactly once.
			var last df.EventTime = -1
			count := 0
			for tm, err := range st.DueTimers(df.EventTimeDomain, 1000) {
				if err != nil {
					t.Fatal(err)
				}
				if tm.FireAt < last {
					t.Fatalf("timer @%d after @%d", tm.FireAt, last)
				}
				last = tm.FireAt
				count++
				setTimer(t, st, string(tm.Key), df.TimerData{Family: "f", Window: df.GlobalWindow, FireAt: 5000 + tm.FireAt})
			}
			if count != left {
				t.Errorf("fired %d, want %d", count, left)
			}
			if got := len(due(t, st, df.EventTimeDomain, df.MaxTime)); got != left {
				t.Errorf("re-set timers = %d, want %d", got, left)
			}
		})
	}
}
