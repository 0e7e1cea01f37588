package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	gocmp "github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// gateFS holds checkpoints pending while its gate is closed: either
// before their goroutine applies the cut to Pebble (when the store's
// beforeApply is gateFS.waitApply), or once Pebble's checkpoint (of a
// directory named ckpt*) has taken its version and listed its WAL files
// but copied nothing, the worst moment for a write to reach Pebble. A
// closed gate also opens by itself after gateTimeout, so that a write
// waiting for the checkpoint cannot deadlock a test.
type gateFS struct {
	vfs.FS
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	atApply bool
}

const gateTimeout = 50 * time.Millisecond

func (g *gateFS) close(atApply bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate == nil {
		g.gate = make(chan struct{})
	}
	g.atApply = atApply
}

func (g *gateFS) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *gateFS) wait(atApply bool) {
	g.mu.Lock()
	gate := g.gate
	if g.atApply != atApply {
		gate = nil
	}
	g.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-time.After(gateTimeout):
		}
	}
}

func (g *gateFS) waitApply() { g.wait(true) }

func (g *gateFS) MkdirAll(dir string, perm os.FileMode) error {
	if strings.HasPrefix(g.PathBase(dir), "ckpt") {
		g.wait(false)
	}
	return g.FS.MkdirAll(dir, perm)
}

type kv struct{ K, V string }

// dumpStore returns every key and value the store holds: the batch over
// Pebble, then the cache's dirty values and the chunk number. Buffers must
// have no pending values (as right after BeginCheckpoint).
func dumpStore(t testing.TB, s *Store) []kv {
	t.Helper()
	it, err := s.newIter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for ok := it.First(); ok; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			t.Fatal(err)
		}
		m[string(it.Key())] = string(v)
	}
	if err := s.closeIter(it); err != nil {
		t.Fatal(err)
	}
	for _, ents := range s.cache.scopes {
		for k, e := range ents {
			switch {
			case e.buffer && e.pending > 0:
				t.Fatalf("buffer %x has pending values", k)
			case e.buffer:
			case e.dirty && e.present:
				m[k] = string(e.val)
			case e.dirty:
				delete(m, k)
			}
		}
	}
	if len(m) > 0 {
		m[string(metaKey("seq"))] = string(binary.AppendUvarint(nil, s.seq))
	}
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	slices.SortFunc(out, func(a, b kv) int { return strings.Compare(a.K, b.K) })
	return out
}

// TestBeginCheckpointTakesExactlyTheStateAtTheCall writes each sort of
// state before and after BeginCheckpoint (cache-resident values, map
// entries in the batch, pending bag values, expired windows) while the
// checkpoint is held pending, and checks that the checkpoint holds what
// preceded the call and the live store holds everything.
func TestBeginCheckpointTakesExactlyTheStateAtTheCall(t *testing.T) {
	gfs := &gateFS{FS: vfs.NewMem()}
	// A small batch, so that writes before the cut are partly committed
	// early and writes after it outgrow the batch's share.
	opts := Options{FS: gfs, MaxParallelism: 4, batchBytesOverride: 2 << 10}
	s := mustOpen(t, "db", opts)
	defer s.Close()
	st, err := s.Stage("st", StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w1, w2, w3 := df.Window{Start: 0, End: 10}, df.Window{Start: 10, End: 20}, df.Window{Start: 20, End: 30}
	b := st.Backend([]byte("a"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	filler := func(prefix string, n int) {
		t.Helper()
		for i := range n {
			must(st.Backend([]byte(prefix+string(rune('a'+i%26))+string(rune('a'+i/26)))).Put(w3, "f", []byte("s"), bytes.Repeat([]byte{'x'}, 40)))
		}
	}
	must(b.Put(w1, "v", nil, []byte("expired before")))
	must(b.Put(w2, "v", nil, []byte("before")))             // stays in the cache
	must(b.Put(w2, "m", []byte("x"), []byte("map before"))) // batch
	must(b.Append(w2, "bag", []byte("b1")))                 // pending in the cache
	must(st.AppendElement([]byte("a"), w2, []byte("e1")))   // pending in the cache
	must(st.PutWindowState([]byte("a"), w2, []byte("ws1"))) // cache
	must(b.SetTimer(df.TimerData{Family: "f", Window: w2, FireAt: 15, Hold: 15}))
	filler("pre", 100) // some early commits
	if n, err := st.ExpireWindows(10); err != nil || n != 1 {
		t.Fatalf("ExpireWindows(10) = %d, %v", n, err)
	}

	s.beforeApply = gfs.waitApply
	gfs.close(true)
	p, err := s.BeginCheckpoint("ckpt-1")
	if err != nil {
		t.Fatal(err)
	}
	want := dumpStore(t, s)
	// Wait and Done from another goroutine, while the store is in use.
	waited := make(chan error, 1)
	go func() {
		<-p.Done()
		waited <- p.Wait()
	}()

	must(b.Put(w2, "v", nil, []byte("after")))
	must(b.Put(w2, "m", []byte("x"), []byte("map after")))
	must(b.Put(w2, "m", []byte("y"), []byte("new entry")))
	must(b.Append(w2, "bag", []byte("b2")))
	must(st.AppendElement([]byte("a"), w2, []byte("e2")))
	must(b.SetTimer(df.TimerData{Family: "g", Window: w2, FireAt: 16, Hold: 16}))
	must(b.Put(w3, "v", nil, []byte("w3 after")))
	filler("post", 60) // past the batch's share: commits are deferred
	must(s.Flush())
	if s.pending == nil {
		t.Fatal("the checkpoint completed while its gate was closed")
	}
	if got, _, _ := b.Get(w2, "v", nil); string(got) != "after" {
		t.Errorf("live Get during the checkpoint = %q, want %q", got, "after")
	}
	// Expire w2 while the checkpoint is pending: the range deletions must
	// not reach it.
	if n, err := st.ExpireWindows(20); err != nil || n != 1 {
		t.Fatalf("ExpireWindows(20) = %d, %v", n, err)
	}
	// Another checkpoint waits for the pending one (whose gate opens by
	// itself after gateTimeout), then takes its own cut.
	p2, err := s.BeginCheckpoint("ckpt-2")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
	default:
		t.Error("BeginCheckpoint returned while the previous checkpoint was pending")
	}
	want2 := dumpStore(t, s)
	gfs.open()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	must(b.Put(w3, "v2", nil, []byte("later")))
	must(s.Flush())
	must(p2.Wait())
	must(Restore("ckpt-2", "restored-2", opts))
	r2 := mustOpen(t, "restored-2", opts)
	if diff := gocmp.Diff(want2, dumpStore(t, r2)); diff != "" {
		t.Errorf("second checkpoint (-state at BeginCheckpoint +restored):\n%s", diff)
	}
	must(r2.Close())

	// The checkpoint holds exactly the state at BeginCheckpoint.
	must(Restore("ckpt-1", "restored", opts))
	r := mustOpen(t, "restored", opts)
	if diff := gocmp.Diff(want, dumpStore(t, r)); diff != "" {
		t.Errorf("checkpoint (-state at BeginCheckpoint +restored):\n%s", diff)
	}
	rst, err := r.Stage("st", StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rb := rst.Backend([]byte("a"))
	get := func(w df.Window, id string, sub []byte) string {
		v, ok, err := rb.Get(w, id, sub)
		must(err)
		if !ok {
			return "<none>"
		}
		return string(v)
	}
	var bag []string
	must(rb.Scan(w2, "bag", func(sub, v []byte) error {
		if sub == nil {
			bag = append(bag, string(v))
		}
		return nil
	}))
	var elems []string
	for v, err := range rst.Elements([]byte("a"), w2) {
		must(err)
		elems = append(elems, string(v))
	}
	ws, _, err := rst.GetWindowState([]byte("a"), w2)
	must(err)
	tm, ok, err := rst.MinTimer(df.EventTimeDomain)
	must(err)
	got := map[string]any{
		"w1 v": get(w1, "v", nil), "w2 v": get(w2, "v", nil), "w2 m/x": get(w2, "m", []byte("x")),
		"w2 m/y": get(w2, "m", []byte("y")), "w3 v": get(w3, "v", nil), "bag": bag, "elements": elems,
		"window state": string(ws), "min timer": [2]any{ok, tm.Family},
	}
	wantVals := map[string]any{
		"w1 v": "<none>", "w2 v": "before", "w2 m/x": "map before", "w2 m/y": "<none>", "w3 v": "<none>",
		"bag": []string{"b1"}, "elements": []string{"e1"}, "window state": "ws1", "min timer": [2]any{true, "f"},
	}
	if diff := gocmp.Diff(wantVals, got); diff != "" {
		t.Errorf("restored state (-want +got):\n%s", diff)
	}
	must(r.Close())

	// The live store kept every write, the expiry of w2 included.
	for v, err := range st.Elements([]byte("a"), w2) {
		t.Errorf("live element of expired window: %q, %v", v, err)
	}
	if v, ok, err := b.Get(w3, "v", nil); err != nil || !ok || string(v) != "w3 after" {
		t.Errorf("live w3 v = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := b.Get(w2, "v", nil); err != nil || ok {
		t.Errorf("live w2 v after expiry: %v, %v", ok, err)
	}
}

func TestBeginCheckpointErrors(t *testing.T) {
	s := mustOpen(t, "db", Options{FS: vfs.NewMem()})
	defer s.Close()
	st := mustStage(t, s, "st")
	b := st.Backend([]byte("k"))
	if err := b.Append(df.GlobalWindow, "bag", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint("ckpt"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginCheckpoint("ckpt"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("BeginCheckpoint into an existing directory: %v, want ErrExist", err)
	}
	err := b.Scan(df.GlobalWindow, "bag", func(_, _ []byte) error {
		_, err := s.BeginCheckpoint("ckpt2")
		return err
	})
	if err == nil {
		t.Error("BeginCheckpoint with an open iterator succeeded")
	}
}

// TestWritesWaitForACheckpointPastTheirShare holds a checkpoint pending
// (the gate opens by itself) while more is written than the batch may
// hold meanwhile: the writes wait for it, then go on.
func TestWritesWaitForACheckpointPastTheirShare(t *testing.T) {
	gfs := &gateFS{FS: vfs.NewMem()}
	opts := Options{FS: gfs, batchBytesOverride: 1 << 10, stateCacheBytes: -1}
	s := mustOpen(t, "db", opts)
	defer s.Close()
	st := mustStage(t, s, "st")
	gfs.close(false)
	defer gfs.open()
	p, err := s.BeginCheckpoint("ckpt")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := st.Backend([]byte{byte(i)}).Put(df.GlobalWindow, "v", nil, bytes.Repeat([]byte{1}, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if s.stalls == 0 {
		t.Error("no write waited for the checkpoint")
	}
	if s.batch.Len() > opts.deferredBatchBytes()+1<<10 {
		t.Errorf("batch holds %d bytes, more than %d", s.batch.Len(), opts.deferredBatchBytes())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, "db", opts)
	if got := len(dumpStore(t, s)); got < 200 {
		t.Errorf("reopened store has %d keys, want at least 200", got)
	}
}

// TestClearWhileTheCutIsNotInPebble clears a value that only the pending
// checkpoint's cut holds, before the cut reaches Pebble: the value must not
// come back once it does.
func TestClearWhileTheCutIsNotInPebble(t *testing.T) {
	gfs := &gateFS{FS: vfs.NewMem()}
	opts := Options{FS: gfs}
	s := mustOpen(t, "db", opts)
	st := mustStage(t, s, "st")
	b := st.Backend([]byte("k"))
	if err := b.Put(df.GlobalWindow, "v", nil, []byte("x")); err != nil {
		t.Fatal(err)
	}
	s.beforeApply = gfs.waitApply
	gfs.close(true)
	p, err := s.BeginCheckpoint("ckpt")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Clear(df.GlobalWindow, "v"); err != nil {
		t.Fatal(err)
	}
	gfs.open()
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, "db", opts)
	defer s.Close()
	if v, ok, err := mustStage(t, s, "st").Backend([]byte("k")).Get(df.GlobalWindow, "v", nil); err != nil || ok {
		t.Errorf("cleared value after reopen = %q, %v, %v; want none", v, ok, err)
	}
}
