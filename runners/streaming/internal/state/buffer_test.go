package state

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// elementChunks returns the sizes of the element chunks in Pebble.
func elementChunks(t *testing.T, s *Store) []int {
	t.Helper()
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var sizes []int
	for ok := it.First(); ok; ok = it.Next() {
		if it.Key()[0] == globalPrefix {
			continue
		}
		sk, err := parseStateKey(it.Key())
		if err != nil {
			t.Fatal(err)
		}
		if sk.Kind == kindElements {
			sizes = append(sizes, len(it.Value()))
		}
	}
	return sizes
}

// diffValues describes how got differs from want ("" if it does not);
// cmp.Diff is slow on thousands of byte slices.
func diffValues(want, got [][]byte) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d values, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			return fmt.Sprintf("value %d is %q, want %q", i, got[i], want[i])
		}
	}
	return ""
}

func elements(t *testing.T, st *Stage, key string) [][]byte {
	t.Helper()
	var got [][]byte
	for v, err := range st.Elements([]byte(key), w0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, bytes.Clone(v))
	}
	return got
}

// TestBufferStaysInTheCache: the elements of a window a new store's cache
// holds whole are read from the cache, however many, and never written
// until a Flush, which writes them in chunks of about maxChunkBytes, in
// order.
func TestBufferStaysInTheCache(t *testing.T) {
	opts := Options{FS: vfs.NewMem()}
	s := mustOpen(t, "db", opts)
	st := mustStage(t, s, "gbk")
	var want [][]byte
	for i := range 2000 {
		v := []byte(fmt.Sprintf("%04d-%s", i, bytes.Repeat([]byte{'x'}, i%97)))
		if i == 1000 {
			v = bytes.Repeat([]byte{'L'}, 2*maxChunkBytes) // a chunk of its own
		}
		want = append(want, v)
		if err := st.AppendElement([]byte("k"), w0, v); err != nil {
			t.Fatal(err)
		}
		if i%500 == 0 {
			if d := diffValues(want, elements(t, st, "k")); d != "" {
				t.Fatalf("after %d appends %s", i+1, d)
			}
		}
	}
	// The batch holds the window index entry, no element.
	if n := s.batch.Count(); n != 1 {
		t.Errorf("the batch holds %d entries, want 1 (the window index)", n)
	}
	if d := diffValues(want, elements(t, st, "k")); d != "" {
		t.Fatalf("%s", d)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	sizes := elementChunks(t, s)
	total := 0
	for _, n := range sizes {
		total += n
		if n > maxChunkBytes && n != 2*maxChunkBytes+3 {
			t.Errorf("a chunk of %d bytes", n)
		}
	}
	if len(sizes) < total/maxChunkBytes {
		t.Errorf("%d chunks for %d bytes", len(sizes), total)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopened, the store reads Pebble.
	s = mustOpen(t, "db", opts)
	defer s.Close()
	st = mustStage(t, s, "gbk")
	if d := diffValues(want, elements(t, st, "k")); d != "" {
		t.Fatalf("after reopening %s", d)
	}
	more := []byte("after")
	if err := st.AppendElement([]byte("k"), w0, more); err != nil {
		t.Fatal(err)
	}
	if d := diffValues(append(want, more), elements(t, st, "k")); d != "" {
		t.Fatalf("after reopening and appending %s", d)
	}
}

// TestTimersStayInMemory: setting and popping the timers of a window the
// cache holds whole writes nothing to the batch but the window index (and
// the hold count WatermarkHold spills): records and hold counts are
// written back, index entries are kept in memory. A Flush writes them, so
// they survive a reopen.
func TestTimersStayInMemory(t *testing.T) {
	opts := Options{FS: vfs.NewMem()}
	s := mustOpen(t, "db", opts)
	st := mustStage(t, s, "gbk")
	kgs := map[uint16]bool{}
	td := df.TimerData{Family: "f", Window: w0, Domain: df.EventTimeDomain, FireAt: 9, Hold: 9}
	for i := range 100 {
		setTimer(t, st, fmt.Sprint(i), td)
		kgs[s.KeyGroup([]byte(fmt.Sprint(i)))] = true
	}
	if h, ok, err := st.WatermarkHold(); err != nil || !ok || h != 9 {
		t.Fatalf("WatermarkHold = %v, %v, %v", h, ok, err)
	}
	countKinds := func() map[string]int {
		n := map[string]int{}
		r := s.batch.Reader()
		for {
			kind, k, _, ok, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return n
			}
			name := fmt.Sprintf("%v", kind)
			switch {
			case k[0] == globalPrefix:
				name += fmt.Sprintf(" ns%d", k[1])
			default:
				sk, err := parseStateKey(k)
				if err != nil {
					t.Fatal(err)
				}
				name += fmt.Sprintf(" kind%d", sk.Kind)
			}
			n[name]++
		}
	}
	want := map[string]int{
		pebble.InternalKeyKindSet.String() + " ns3": len(kgs), // the window index, per key group
		pebble.InternalKeyKindSet.String() + " ns4": 1,        // the hold count, spilled for WatermarkHold
	}
	if d := cmp.Diff(want, countKinds()); d != "" {
		t.Errorf("batch after setting timers (-want +got):\n%s", d)
	}
	if m, ok, err := st.MinTimer(df.EventTimeDomain); err != nil || !ok || m.FireAt != 9 {
		t.Errorf("MinTimer = %+v, %v, %v", m, ok, err)
	}
	if got := due(t, st, df.EventTimeDomain, 10); len(got) != 100 {
		t.Fatalf("%d timers due, want 100", len(got))
	}
	if h, ok, err := st.WatermarkHold(); err != nil || ok {
		t.Fatalf("WatermarkHold after popping every timer = %v, %v, %v", h, ok, err)
	}
	want[pebble.InternalKeyKindDelete.String()+" ns4"] = 1 // the count is gone
	if d := cmp.Diff(want, countKinds()); d != "" {
		t.Errorf("batch after popping the timers (-want +got):\n%s", d)
	}
	if n, err := st.ExpireWindows(100); err != nil || n != 1 {
		t.Fatalf("ExpireWindows = %d, %v", n, err)
	}
	if got := due(t, st, df.EventTimeDomain, 1000); len(got) != 0 {
		t.Errorf("timers after expiry: %v", got)
	}

	// Set again, flushed, reopened: the timers are in Pebble.
	for i := range 100 {
		setTimer(t, st, fmt.Sprint(i), df.TimerData{Family: "f", Window: w10, Domain: df.EventTimeDomain, FireAt: 19, Hold: 19})
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, "db", opts)
	defer s.Close()
	st = mustStage(t, s, "gbk")
	if h, ok, err := st.WatermarkHold(); err != nil || !ok || h != 19 {
		t.Fatalf("WatermarkHold after reopening = %v, %v, %v", h, ok, err)
	}
	if got := due(t, st, df.EventTimeDomain, 20); len(got) != 100 {
		t.Fatalf("%d timers due after reopening, want 100", len(got))
	}
}

// TestWatermarkHoldWithManyHolds: more distinct holds change between two
// WatermarkHolds than Stage.holdsToSpill lists; the hold is still exact.
func TestWatermarkHoldWithManyHolds(t *testing.T) {
	s := mustOpen(t, "db", Options{FS: vfs.NewMem()})
	defer s.Close()
	st := mustStage(t, s, "pardo")
	n := maxHoldsToSpill + 500
	for i := range n {
		setTimer(t, st, fmt.Sprint(i), df.TimerData{Family: "f", Window: df.GlobalWindow, Domain: df.EventTimeDomain, FireAt: df.EventTime(1000 + i), Hold: df.EventTime(1000 + i)})
	}
	if h, ok, err := st.WatermarkHold(); err != nil || !ok || h != 1000 {
		t.Fatalf("WatermarkHold = %v, %v, %v; want 1000", h, ok, err)
	}
	if got := due(t, st, df.EventTimeDomain, df.EventTime(1000+n-10)); len(got) != n-10 {
		t.Fatalf("%d timers due, want %d", len(got), n-10)
	}
	if h, ok, err := st.WatermarkHold(); err != nil || !ok || h != df.EventTime(1000+n-10) {
		t.Fatalf("WatermarkHold = %v, %v, %v; want %d", h, ok, err, 1000+n-10)
	}
}
