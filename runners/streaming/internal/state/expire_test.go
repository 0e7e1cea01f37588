package state

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// keysByWindow counts the database's keys per window (for key-grouped
// keys, and for the window and timer indexes), and the hold counts.
func keysByWindow(t *testing.T, s *Store, st *Stage) map[string]int {
	t.Helper()
	out := map[string]int{}
	name := func(w df.Window) string {
		if w.IsGlobal() {
			return "global"
		}
		return fmt.Sprintf("[%d,%d)", w.Start, w.End)
	}
	wi := st.globalPrefix(nil, nsWindowIndex)
	ti := st.globalPrefix(nil, nsTimerIndex)
	hp := st.globalPrefix(nil, nsHolds)
	for _, k := range allKeys(t, s) {
		switch {
		case k[0] != globalPrefix:
			sk, err := parseStateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			out["state "+name(sk.Window)]++
		case bytes.HasPrefix(k, wi):
			out["window-index "+name(decodeWindow(k[len(wi)+8:]))]++
		case bytes.HasPrefix(k, ti):
			tm, err := st.parseTimerIndex(df.TimeDomain(k[len(ti)]), k[len(ti)+1:], make([]byte, 8))
			if err != nil {
				t.Fatal(err)
			}
			out["timer-index "+name(tm.Window)]++
		case bytes.HasPrefix(k, hp):
			out[fmt.Sprintf("hold %d", decodeTime(k[len(hp):]))]++
		}
	}
	return out
}

func TestExpireWindowsRemovesExactlyTheExpiredWindows(t *testing.T) {
	s := mustOpen(t, "db", Options{FS: vfs.NewMem(), MaxParallelism: 8})
	defer s.Close()
	st, err := s.Stage("gbk", StageOptions{AllowedLateness: 5})
	if err != nil {
		t.Fatal(err)
	}
	other := mustStage(t, s, "other") // same windows, another stage: untouched
	const keys = 20
	for i := range keys {
		for _, w := range []df.Window{w0, w10, df.GlobalWindow} {
			writeAllKinds(t, st, fmt.Sprint("k", i), w)
			writeAllKinds(t, other, fmt.Sprint("k", i), w)
		}
	}
	// Each key has 6 keys per stage and window (the two bag values make one
	// chunk). Keys per key group: a window's index has an entry per key group and
	// kind/id present in it (6 kinds/ids: value, map, bag, timer, elements, window state; 8 key groups, all used by 20 keys).
	before := keysByWindow(t, s, st)
	want := map[string]int{
		"state [0,10)": 2 * keys * 6, "state [10,20)": 2 * keys * 6, "state global": 2 * keys * 6,
		"window-index [0,10)": 8 * 6, "window-index [10,20)": 8 * 6, "window-index global": 8 * 6,
		"timer-index [0,10)": keys, "timer-index [10,20)": keys, "timer-index global": keys,
		"hold 9": 1, "hold 19": 1, fmt.Sprintf("hold %d", df.GlobalWindow.MaxTimestamp()): 1,
	}
	if diff := cmp.Diff(want, before); diff != "" {
		t.Fatalf("keys before (-want +got):\n%s", diff)
	}

	// [0,10) expires when the watermark passes 9+5: not at 14, at 15.
	if n, err := st.ExpireWindows(14); err != nil || n != 0 {
		t.Fatalf("ExpireWindows(14) = %d, %v; want 0", n, err)
	}
	if n, err := st.ExpireWindows(15); err != nil || n != 1 {
		t.Fatalf("ExpireWindows(15) = %d, %v; want 1", n, err)
	}
	after := keysByWindow(t, s, st)
	want["state [0,10)"] = keys * 6 // the other stage's
	delete(want, "window-index [0,10)")
	delete(want, "timer-index [0,10)")
	delete(want, "hold 9")
	if diff := cmp.Diff(want, after); diff != "" {
		t.Fatalf("keys after (-want +got):\n%s", diff)
	}
	// What is left reads as before; what expired reads as empty.
	b := st.Backend([]byte("k3"))
	if v, ok, err := b.Get(w10, "value", nil); err != nil || !ok || string(v) != "v" {
		t.Errorf("Get in a live window = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := b.Get(w0, "value", nil); err != nil || ok {
		t.Errorf("Get in an expired window = %v, %v; want nothing", ok, err)
	}
	if _, ok, err := st.GetWindowState([]byte("k3"), w0); err != nil || ok {
		t.Errorf("GetWindowState in an expired window = %v, %v; want nothing", ok, err)
	}
	if h, ok, err := st.WatermarkHold(); err != nil || !ok || h != 19 {
		t.Errorf("WatermarkHold = %d, %v, %v; want 19", h, ok, err)
	}
	// The global window expires only at the end of time.
	if n, err := st.ExpireWindows(df.EndOfGlobalWindow); err != nil || n != 1 {
		t.Fatalf("ExpireWindows(EndOfGlobalWindow) = %d, %v; want 1 ([10,20))", n, err)
	}
	if n, err := st.ExpireWindows(df.MaxTime); err != nil || n != 1 {
		t.Fatalf("ExpireWindows(MaxTime) = %d, %v; want 1 (global)", n, err)
	}
	if diff := cmp.Diff(map[string]int{"state [0,10)": keys * 6, "state [10,20)": keys * 6, "state global": keys * 6}, keysByWindow(t, s, st)); diff != "" {
		t.Fatalf("keys at the end (-want +got):\n%s", diff)
	}
}

// TestStateDoesNotGrow runs a long job in miniature: windows come and go,
// and the number of live keys stays bounded by the live windows.
func TestStateDoesNotGrow(t *testing.T) {
	s := mustOpen(t, "db", Options{FS: vfs.NewMem(), MaxParallelism: 8})
	defer s.Close()
	st := mustStage(t, s, "gbk")
	maxKeys := 0
	for i := range 50 {
		w := df.Window{Start: df.EventTime(10 * i), End: df.EventTime(10*i + 10)}
		for k := range 10 {
			writeAllKinds(t, st, fmt.Sprint("k", k), w)
		}
		if _, err := st.ExpireWindows(w.Start); err != nil {
			t.Fatal(err)
		}
		if n := len(allKeys(t, s)); i > 3 && n != maxKeys {
			t.Fatalf("window %d: %d keys, want %d as before", i, n, maxKeys)
		} else {
			maxKeys = n
		}
	}
}
