package state

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

func TestTimeAndWindowEncodingKeepOrder(t *testing.T) {
	times := []df.EventTime{df.MinTime, math.MinInt64, -1 << 40, -2, -1, 0, 1, 2, 1 << 40, df.EndOfGlobalWindow, df.MaxTime, math.MaxInt64}
	slices.Sort(times)
	for i := 1; i < len(times); i++ {
		a, b := appendTime(nil, times[i-1]), appendTime(nil, times[i])
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("encoded %d (%x) does not sort before %d (%x)", times[i-1], a, times[i], b)
		}
		if got := decodeTime(b); got != times[i] {
			t.Errorf("decodeTime(appendTime(%d)) = %d", times[i], got)
		}
	}
	windows := []df.Window{{Start: -10, End: -5}, {Start: -10, End: 0}, {Start: -1, End: 5}, {Start: 0, End: 1}, {Start: 0, End: 10}, df.GlobalWindow}
	slices.SortFunc(windows, func(a, b df.Window) int {
		if a.Start != b.Start {
			return int(a.Start - b.Start)
		}
		return int(a.End - b.End)
	})
	for i := 1; i < len(windows); i++ {
		a, b := appendWindow(nil, windows[i-1]), appendWindow(nil, windows[i])
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("window %v does not sort before %v", windows[i-1], windows[i])
		}
		if got := decodeWindow(b); got != windows[i] {
			t.Errorf("decodeWindow(appendWindow(%v)) = %v", windows[i], got)
		}
	}
}

// TestKeyGroupIsStable pins KeyGroup: its values are persisted in every
// key, so a change would silently orphan existing state.
func TestKeyGroupIsStable(t *testing.T) {
	var got []uint16
	for _, k := range []string{"", "a", "b", "user-42", "\x00\xff"} {
		got = append(got, KeyGroup([]byte(k), 128))
	}
	want := []uint16{27, 120, 5, 19, 123}
	if !slices.Equal(got, want) {
		t.Errorf("KeyGroup of pinned keys = %v, want %v", got, want)
	}
	// And it spreads keys: 100k keys over 128 groups, each within 20% of the mean.
	counts := make([]int, 128)
	for i := range 100_000 {
		counts[KeyGroup(fmt.Appendf(nil, "key-%d", i), 128)]++
	}
	for g, n := range counts {
		if n < 625 || n > 937 {
			t.Errorf("key group %d has %d of 100000 keys, want about 781", g, n)
		}
	}
}

// allKeys returns every key in the database (after a Flush), in order.
func allKeys(t *testing.T, s *Store) [][]byte {
	t.Helper()
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	it, err := s.db.NewIter(&pebble.IterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, bytes.Clone(it.Key()))
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return keys
}

// writeAllKinds writes one of every kind of state for key in w.
func writeAllKinds(t *testing.T, st *Stage, key string, w df.Window) {
	t.Helper()
	b := st.Backend([]byte(key))
	for _, err := range []error{
		b.Put(w, "value", nil, []byte("v")),
		b.Put(w, "map", []byte("k1"), []byte("v1")),
		b.Append(w, "bag", []byte("b1")),
		b.Append(w, "bag", []byte("b2")),
		b.SetTimer(df.TimerData{Family: "f", Window: w, FireAt: w.MaxTimestamp(), Hold: w.MaxTimestamp()}),
		st.AppendElement([]byte(key), w, []byte("e1")),
		st.PutWindowState([]byte(key), w, []byte("ws")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeyGroupPrefix(t *testing.T) {
	const maxP = 16
	s := mustOpen(t, "db", Options{FS: vfs.NewMem(), MaxParallelism: maxP})
	defer s.Close()
	stages := []*Stage{mustStage(t, s, "gbk"), mustStage(t, s, "gbk2"), mustStage(t, s, "g")}
	windows := []df.Window{df.GlobalWindow, {Start: 0, End: 10}, {Start: -10, End: 0}}
	var users []string
	for i := range 40 {
		users = append(users, fmt.Sprintf("user-%d", i))
	}
	users = append(users, "", "\x00", "\x00\x00", "user-1\x00") // prefixes of one another
	for _, st := range stages {
		for _, u := range users {
			for _, w := range windows {
				writeAllKinds(t, st, u, w)
			}
		}
	}
	keys := allKeys(t, s)
	perUser := map[string]int{}
	lastKG := -1
	for _, k := range keys {
		if k[0] == globalPrefix {
			continue
		}
		sk, err := parseStateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		// All keys of one user key carry its key group.
		if want := KeyGroup([]byte(sk.Key), maxP); sk.KG != want {
			t.Errorf("key %x of user key %q has key group %d, want %d", k, sk.Key, sk.KG, want)
		}
		// Key groups never interleave: once past a group, never back.
		if int(sk.KG) < lastKG {
			t.Errorf("key group %d after %d", sk.KG, lastKG)
		}
		lastKG = int(sk.KG)
		perUser[sk.Key]++
	}
	// 3 stages x 3 windows x (value, map, bag chunk, timer, element chunk,
	// window state)
	for _, u := range users {
		if perUser[u] != 3*3*6 {
			t.Errorf("user key %q has %d keys, want %d", u, perUser[u], 3*3*6)
		}
	}
	// Each key group's state is exactly the range of its prefix.
	for kg := range uint16(maxP) {
		lo, hi := appendKG(nil, kg), appendKG(nil, kg+1)
		for _, k := range keys {
			in := bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0
			if k[0] != globalPrefix && in != (binaryKG(k) == kg) {
				t.Errorf("key %x: in range of group %d = %v", k, kg, in)
			}
		}
	}
}

func binaryKG(k []byte) uint16 { return uint16(k[0])<<8 | uint16(k[1]) }

func TestStageOptionsConflict(t *testing.T) {
	s := mustOpen(t, "db", Options{FS: vfs.NewMem()})
	defer s.Close()
	a, err := s.Stage("x", StageOptions{AllowedLateness: 5})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := s.Stage("x", StageOptions{AllowedLateness: 5}); err != nil || b != a {
		t.Errorf("Stage again = %p, %v; want %p", b, err, a)
	}
	if _, err := s.Stage("x", StageOptions{AllowedLateness: 6}); err == nil {
		t.Error("Stage with other options succeeded")
	}
}
