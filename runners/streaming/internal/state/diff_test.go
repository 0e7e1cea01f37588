package state

import (
	"bytes"
	"cmp"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	gocmp "github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/memstate"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "replay the randomized tests with this seed")
	traceFlag = flag.Bool("oplog", false, "log every operation of the randomized tests")
)

// refBackend is the reference semantics of one key's state: the direct
// runner's in-memory backend.
type refBackend = memstate.Backend

func newRefBackend() *refBackend { return memstate.New() }

// refStore is the reference for a whole stage: a refBackend per key, plus
// element buffers and trigger state.
type refStore struct {
	maxP     int
	lateness df.EventTime
	keys     map[string]*refBackend
	elems    map[refKW][][]byte
	wstate   map[refKW][]byte
}

type refKW struct {
	key string
	w   df.Window
}

func (r *refStore) backend(key string) *refBackend {
	b := r.keys[key]
	if b == nil {
		b = newRefBackend()
		r.keys[key] = b
	}
	return b
}

func (r *refStore) gc(w df.Window) df.EventTime {
	return min(w.MaxTimestamp()+r.lateness, df.EndOfGlobalWindow)
}

func (r *refStore) expire(wm df.EventTime) {
	for _, b := range r.keys {
		b.DropWindows(func(w df.Window) bool { return r.gc(w) < wm })
	}
	for k := range r.elems {
		if r.gc(k.w) < wm {
			delete(r.elems, k)
		}
	}
	for k := range r.wstate {
		if r.gc(k.w) < wm {
			delete(r.wstate, k)
		}
	}
}

// timerLess orders timers as the timer index does.
func (r *refStore) timerCmp(a, b Timer) int {
	return cmp.Or(
		cmp.Compare(a.FireAt, b.FireAt),
		cmp.Compare(KeyGroup(a.Key, r.maxP), KeyGroup(b.Key, r.maxP)),
		cmp.Compare(len(a.Key), len(b.Key)), // lp(key): the length sorts first
		bytes.Compare(a.Key, b.Key),
		cmp.Compare(a.Window.Start, b.Window.Start),
		cmp.Compare(a.Window.End, b.Window.End),
		cmp.Compare(len(a.Family), len(b.Family)),
		cmp.Compare(a.Family, b.Family),
		cmp.Compare(len(a.Tag), len(b.Tag)),
		cmp.Compare(a.Tag, b.Tag),
	)
}

// timers returns the pending timers of domain d, in index order.
func (r *refStore) timers(d df.TimeDomain) []Timer {
	var out []Timer
	for key, b := range r.keys {
		for _, t := range b.Timers() {
			if t.Domain == d {
				out = append(out, Timer{Key: []byte(key), TimerData: t})
			}
		}
	}
	slices.SortFunc(out, r.timerCmp)
	return out
}

func (r *refStore) minHold() (df.EventTime, bool) {
	var h df.EventTime
	found := false
	for _, b := range r.keys {
		for _, t := range b.Timers() {
			if !found || t.Hold < h {
				h, found = t.Hold, true
			}
		}
	}
	return h, found
}

// scanned is what Scan returned: bag values in order, map entries sorted.
type scanned struct {
	Bag [][]byte
	Map [][2]string
}

func scanAll(t *testing.T, b df.StateBackend, w df.Window, id string) scanned {
	t.Helper()
	var s scanned
	err := b.Scan(w, id, func(sub, v []byte) error {
		if sub == nil {
			s.Bag = append(s.Bag, append([]byte{}, v...))
		} else {
			s.Map = append(s.Map, [2]string{string(sub), string(v)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(s.Map, func(a, b [2]string) int { return cmp.Compare(a[0], b[0]) })
	return s
}

func seeds(t *testing.T, n int) []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	base := uint64(time.Now().UnixNano())
	out := make([]uint64, n)
	for i := range out {
		out[i] = base + uint64(i)
	}
	return out
}

// TestDifferential runs random operation sequences against the reference
// and the Pebble store and compares every read. Replay a failure with
// -seed.
func TestDifferential(t *testing.T) {
	configs := []struct {
		name string
		opts Options
	}{
		{"default", Options{MaxParallelism: 8}},
		{"tiny-cache-tiny-batch", Options{MaxParallelism: 8, stateCacheBytes: 2 << 10, batchBytesOverride: 4 << 10}},
		{"no-cache", Options{MaxParallelism: 3, stateCacheBytes: -1}},
	}
	n := 12
	if testing.Short() {
		n = 3
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			for _, seed := range seeds(t, n) {
				t.Run(fmt.Sprint(seed), func(t *testing.T) {
					t.Logf("seed %d (replay with -seed=%d)", seed, seed)
					runDifferential(t, seed, c.opts, 1500)
				})
			}
		})
	}
}

func runDifferential(t *testing.T, seed uint64, opts Options, ops int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	fs := &gateFS{FS: vfs.NewMem()}
	opts.FS = fs
	const lateness = 5
	dbDir := "db"
	s, err := Open(dbDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	st, err := s.Stage("gbk", StageOptions{AllowedLateness: lateness})
	if err != nil {
		t.Fatal(err)
	}
	ref := &refStore{maxP: s.MaxParallelism(), lateness: lateness, keys: map[string]*refBackend{}, elems: map[refKW][][]byte{}, wstate: map[refKW][]byte{}}

	keys := []string{"", "a", "b", "key-c", "\x00\xff", "k5", "k6"}
	windows := []df.Window{df.GlobalWindow, {Start: 0, End: 10}, {Start: 10, End: 20}, {Start: 5, End: 25}, {Start: -20, End: -10}, {Start: 30, End: 60}}
	ids := []string{"v", "bag", "m"}
	subs := [][]byte{nil, []byte("x"), []byte("y"), []byte("zz")}
	families := []string{"f", "g"}
	tags := []string{"", "t"}
	val := func() []byte {
		n := rng.IntN(12)
		if rng.IntN(40) == 0 {
			// Now and then a value large enough that a buffer of a few
			// is written as several chunks (maxChunkBytes).
			n = rng.IntN(maxChunkBytes * 3 / 2)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return b
	}
	pick := func(n int) int { return rng.IntN(n) }
	wm := df.EventTime(-30)
	ckpt := 0

	// An asynchronous checkpoint stays pending (its Pebble part held at
	// the gate) for a random number of operations, which use the store as
	// usual; then it is restored beside the run and must hold exactly the
	// state dumped right after its BeginCheckpoint.
	var pending *PendingCheckpoint
	var pendingDump []kv
	releaseAt := 0
	finish := func() {
		t.Helper()
		if pending == nil {
			return
		}
		fs.open()
		if err := pending.Wait(); err != nil {
			t.Fatalf("checkpoint %s: %v", pending.Dir(), err)
		}
		restored := pending.Dir() + "-restored"
		if err := Restore(pending.Dir(), restored, opts); err != nil {
			t.Fatal(err)
		}
		rs, err := Open(restored, opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(pendingDump, dumpStore(t, rs)); diff != "" {
			t.Fatalf("checkpoint %s differs from the state at its BeginCheckpoint (-want +got):\n%s", pending.Dir(), diff)
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
		pending = nil
	}
	defer fs.open()

	for op := range ops {
		if pending != nil && op >= releaseAt {
			finish()
		}
		key := keys[pick(len(keys))]
		w := windows[pick(len(windows))]
		id := ids[pick(len(ids))]
		sub := subs[pick(len(subs))]
		kb, rb := st.Backend([]byte(key)), ref.backend(key)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("op %d (key %q window %v id %q sub %q): %s", op, key, w, id, sub, fmt.Sprintf(format, args...))
		}
		r := pick(100)
		if *traceFlag {
			t.Logf("op %d: r=%d key %q window %v id %q sub %q wm %v", op, r, key, w, id, sub, wm)
		}
		switch {
		case r < 14:
			got, gok, err := kb.Get(w, id, sub)
			want, wok, _ := rb.Get(w, id, sub)
			if err != nil || gok != wok || !bytes.Equal(got, want) {
				fail("Get = %x, %v, %v; want %x, %v", got, gok, err, want, wok)
			}
		case r < 26:
			v := val()
			rb.Put(w, id, sub, v)
			if err := kb.Put(w, id, sub, v); err != nil {
				fail("Put: %v", err)
			}
		case r < 30:
			rb.Delete(w, id, sub)
			if err := kb.Delete(w, id, sub); err != nil {
				fail("Delete: %v", err)
			}
		case r < 42:
			v := val()
			rb.Append(w, id, v)
			if err := kb.Append(w, id, v); err != nil {
				fail("Append: %v", err)
			}
		case r < 50:
			if diff := gocmp.Diff(scanAll(t, rb, w, id), scanAll(t, kb, w, id)); diff != "" {
				fail("Scan (-want +got):\n%s", diff)
			}
		case r < 53:
			rb.Clear(w, id)
			if err := kb.Clear(w, id); err != nil {
				fail("Clear: %v", err)
			}
		case r < 60:
			td := df.TimerData{Family: families[pick(2)], Tag: tags[pick(2)], Window: w, Domain: df.TimeDomain(pick(2)),
				FireAt: wm + df.EventTime(pick(40)), Hold: wm + df.EventTime(pick(40))}
			rb.SetTimer(td)
			if err := kb.SetTimer(td); err != nil {
				fail("SetTimer: %v", err)
			}
		case r < 63:
			f, tag := families[pick(2)], tags[pick(2)]
			rb.ClearTimer(w, f, tag)
			if err := kb.ClearTimer(w, f, tag); err != nil {
				fail("ClearTimer: %v", err)
			}
		case r < 70:
			v := val()
			ref.elems[refKW{key, w}] = append(ref.elems[refKW{key, w}], v)
			if err := st.AppendElement([]byte(key), w, v); err != nil {
				fail("AppendElement: %v", err)
			}
		case r < 73:
			var got [][]byte
			for v, err := range st.Elements([]byte(key), w) {
				if err != nil {
					fail("Elements: %v", err)
				}
				got = append(got, bytes.Clone(v))
			}
			if diff := gocmp.Diff(ref.elems[refKW{key, w}], got); diff != "" {
				fail("Elements (-want +got):\n%s", diff)
			}
		case r < 76:
			v := val()
			ref.wstate[refKW{key, w}] = v
			if err := st.PutWindowState([]byte(key), w, v); err != nil {
				fail("PutWindowState: %v", err)
			}
		case r < 79:
			got, gok, err := st.GetWindowState([]byte(key), w)
			want, wok := ref.wstate[refKW{key, w}]
			if err != nil || gok != wok || !bytes.Equal(got, want) {
				fail("GetWindowState = %x, %v, %v; want %x, %v", got, gok, err, want, wok)
			}
		case r < 81:
			delete(ref.elems, refKW{key, w})
			delete(ref.wstate, refKW{key, w})
			if err := st.DropWindow([]byte(key), w); err != nil {
				fail("DropWindow: %v", err)
			}
		case r < 85:
			d := df.TimeDomain(pick(2))
			got, gok, err := st.MinTimer(d)
			want := ref.timers(d)
			if err != nil || gok != (len(want) > 0) || gok && gocmp.Diff(want[0], got) != "" {
				fail("MinTimer(%v) = %+v, %v, %v; want %+v", d, got, gok, err, want)
			}
			gh, ghok, err := st.WatermarkHold()
			wh, whok := ref.minHold()
			if err != nil || gh != wh || ghok != whok {
				fail("WatermarkHold = %v, %v, %v; want %v, %v", gh, ghok, err, wh, whok)
			}
		case r < 90:
			// Pop due timers; the consumer re-sets some of them (possibly
			// due again, possibly earlier) and clears others.
			d := df.TimeDomain(pick(2))
			upTo := wm + df.EventTime(pick(30))
			var got, want []Timer
			for tm, err := range st.DueTimers(d, upTo) {
				if err != nil {
					fail("DueTimers: %v", err)
				}
				got = append(got, tm)
				if len(got) > 1000 {
					fail("DueTimers does not end")
				}
				// Pop the same timer from the reference; it must be its minimum.
				due := ref.timers(d)
				if len(due) == 0 || due[0].FireAt >= upTo {
					fail("DueTimers yielded %+v; reference has none due", tm)
				}
				want = append(want, due[0])
				rw := ref.backend(string(due[0].Key))
				rw.ClearTimer(due[0].Window, due[0].Family, due[0].Tag)
				if diff := gocmp.Diff(due[0], tm); diff != "" {
					fail("DueTimers (-want +got):\n%s", diff)
				}
				kb2 := st.Backend(tm.Key)
				switch pick(4) {
				case 0:
					td := tm.TimerData
					td.FireAt += df.EventTime(pick(10))
					rw.SetTimer(td)
					if err := kb2.SetTimer(td); err != nil {
						fail("SetTimer in DueTimers: %v", err)
					}
				case 1:
					td := tm.TimerData
					td.Family, td.FireAt = "g", td.FireAt-df.EventTime(pick(5))
					rw.SetTimer(td)
					if err := kb2.SetTimer(td); err != nil {
						fail("SetTimer in DueTimers: %v", err)
					}
				case 2:
					rw.ClearTimer(tm.Window, "f", "t")
					if err := kb2.ClearTimer(tm.Window, "f", "t"); err != nil {
						fail("ClearTimer in DueTimers: %v", err)
					}
				}
			}
			if due := ref.timers(d); len(due) > 0 && due[0].FireAt < upTo {
				fail("DueTimers(%v, %v) left %+v due", d, upTo, due[0])
			}
		case r < 93:
			wm += df.EventTime(pick(6))
			ref.expire(wm)
			if _, err := st.ExpireWindows(wm); err != nil {
				fail("ExpireWindows: %v", err)
			}
		case r < 96:
			if err := s.Flush(); err != nil {
				fail("Flush: %v", err)
			}
		case r < 97:
			// Reopen: everything flushed must survive, caches start cold.
			finish()
			if err := s.Flush(); err != nil {
				fail("Flush: %v", err)
			}
			if err := s.Close(); err != nil {
				fail("Close: %v", err)
			}
			if s, err = Open(dbDir, opts); err != nil {
				fail("reopen: %v", err)
			}
			if st, err = s.Stage("gbk", StageOptions{AllowedLateness: lateness}); err != nil {
				fail("Stage: %v", err)
			}
		case r < 98 || pending != nil:
			finish()
			ckpt++
			s.beforeApply = fs.waitApply
			fs.close(pick(2) == 0)
			p, err := s.BeginCheckpoint(fmt.Sprintf("ckpt-%d", ckpt))
			if err != nil {
				fail("BeginCheckpoint: %v", err)
			}
			pending, pendingDump, releaseAt = p, dumpStore(t, s), op+1+pick(100)
		default:
			// Checkpoint, restore into a new directory and continue there.
			ckpt++
			dir := fmt.Sprintf("ckpt-%d", ckpt)
			dbDir = fmt.Sprintf("db-%d", ckpt)
			if err := s.Checkpoint(dir); err != nil {
				fail("Checkpoint: %v", err)
			}
			if err := s.Close(); err != nil {
				fail("Close: %v", err)
			}
			if err := Restore(dir, dbDir, opts); err != nil {
				fail("Restore: %v", err)
			}
			if s, err = Open(dbDir, opts); err != nil {
				fail("open restored: %v", err)
			}
			if st, err = s.Stage("gbk", StageOptions{AllowedLateness: lateness}); err != nil {
				fail("Stage: %v", err)
			}
		}
	}
	finish()
	// Finally every read of every key, window and id agrees.
	for _, key := range keys {
		kb, rb := st.Backend([]byte(key)), ref.backend(key)
		for _, w := range windows {
			for _, id := range ids {
				if diff := gocmp.Diff(scanAll(t, rb, w, id), scanAll(t, kb, w, id)); diff != "" {
					t.Fatalf("final Scan(%q, %v, %q) (-want +got):\n%s", key, w, id, diff)
				}
			}
		}
	}
	for d := range df.TimeDomain(2) {
		var got []Timer
		for tm, err := range st.DueTimers(d, df.MaxTime) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, tm)
		}
		if diff := gocmp.Diff(ref.timers(d), got); diff != "" {
			t.Fatalf("final timers of domain %v (-want +got):\n%s", d, diff)
		}
	}
}
