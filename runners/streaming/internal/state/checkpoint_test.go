package state

import (
	"errors"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

func mustOpen(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustStage(t testing.TB, s *Store, name string) *Stage {
	t.Helper()
	st, err := s.Stage(name, StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// readValue returns key's value state "v" in the global window ("" if none).
func readValue(t testing.TB, st *Stage, key string) string {
	t.Helper()
	v, ok, err := st.Backend([]byte(key)).Get(df.GlobalWindow, "v", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return string(v)
}

func TestCheckpointRestoreSeesExactlyTheCheckpointedState(t *testing.T) {
	opts := Options{FS: vfs.NewMem()}
	s := mustOpen(t, "job/db", opts)
	st := mustStage(t, s, "pardo")
	put := func(key, v string) {
		t.Helper()
		if err := st.Backend([]byte(key)).Put(df.GlobalWindow, "v", nil, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	put("a", "1")
	put("b", "1")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	put("a", "2") // unflushed: Checkpoint flushes it
	if err := s.Checkpoint("job/ckpt-1"); err != nil {
		t.Fatal(err)
	}
	put("a", "3") // after the checkpoint: not in it
	put("c", "3")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint("job/ckpt-1"); err == nil {
		t.Error("Checkpoint into an existing directory succeeded")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The live database has everything flushed.
	s = mustOpen(t, "job/db", opts)
	st = mustStage(t, s, "pardo")
	if got := readValue(t, st, "a") + readValue(t, st, "b") + readValue(t, st, "c"); got != "313" {
		t.Errorf("reopened live state = %q, want %q", got, "313")
	}
	s.Close()

	// Restored from the checkpoint, it has exactly what preceded it, and
	// restoring twice (the restored database having been written) gives
	// the same: the checkpoint is not modified through hard links.
	for range 2 {
		if err := Restore("job/ckpt-1", "job/db", opts); err != nil {
			t.Fatal(err)
		}
		s = mustOpen(t, "job/db", opts)
		st = mustStage(t, s, "pardo")
		if got := readValue(t, st, "a") + readValue(t, st, "b") + readValue(t, st, "c"); got != "21" {
			t.Errorf("restored state = %q, want %q", got, "21")
		}
		put("b", "9")
		put("d", "9")
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMaxParallelismMismatch(t *testing.T) {
	opts := Options{FS: vfs.NewMem(), MaxParallelism: 64}
	s := mustOpen(t, "db", opts)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	opts.MaxParallelism = 128
	_, err := Open("db", opts)
	if !errors.Is(err, ErrMaxParallelism) {
		t.Fatalf("Open with another MaxParallelism: %v, want ErrMaxParallelism", err)
	}
	if !strings.Contains(err.Error(), "64") || !strings.Contains(err.Error(), "128") {
		t.Errorf("error %q does not name both values", err)
	}
	opts.MaxParallelism = 64
	s = mustOpen(t, "db", opts)
	s.Close()
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{MaxParallelism: -1}, {MaxParallelism: 1<<15 + 1}, {CacheBytes: 1000}} {
		if _, err := Open("db", Options{FS: vfs.NewMem(), MaxParallelism: o.MaxParallelism, CacheBytes: o.CacheBytes}); err == nil {
			t.Errorf("Open with %+v succeeded", o)
		}
	}
}

func TestCheckpointWriteErrorIsReturned(t *testing.T) {
	var inj errorfs.Toggle
	inj.Injector = errorfs.ErrInjected.If(errorfs.PathMatch("ckpt/*"))
	fs := errorfs.Wrap(vfs.NewMem(), &inj)
	s := mustOpen(t, "db", Options{FS: fs})
	defer s.Close()
	if err := mustStage(t, s, "x").Backend([]byte("k")).Put(df.GlobalWindow, "v", nil, []byte("1")); err != nil {
		t.Fatal(err)
	}
	inj.On()
	err := s.Checkpoint("ckpt")
	var le errorfs.LabelledError
	if !errors.As(err, &le) || le.Label != errorfs.ErrInjected.Label {
		t.Fatalf("Checkpoint with failing writes: %v, want ErrInjected", err)
	}
	inj.Off()
	// The store still works, and a later checkpoint succeeds.
	if err := s.Checkpoint("ckpt2"); err != nil {
		t.Fatal(err)
	}
}
