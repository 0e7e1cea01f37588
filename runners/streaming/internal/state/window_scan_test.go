package state

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// TestWindowStatesCompleteCacheAndPebble checks that WindowStates finds the
// same window states whether they are all in the cache of a new database
// (no Pebble read), partly evicted from a small cache, or in a reopened
// database: the cache's knowledge of absent keys is only trusted while it
// is complete.
func TestWindowStatesCompleteCacheAndPebble(t *testing.T) {
	w1, w2 := df.IntervalWindow(0, 10), df.IntervalWindow(10, 20)
	fill := func(t *testing.T, st *Stage, n int) map[string]string {
		want := map[string]string{}
		for i := range n {
			key := []byte(fmt.Sprintf("key-%05d", i))
			v := []byte(fmt.Sprintf("acc-%d", i))
			if err := st.PutWindowState(key, w1, v); err != nil {
				t.Fatal(err)
			}
			if err := st.PutWindowState(key, w2, []byte("other")); err != nil {
				t.Fatal(err)
			}
			want[string(key)] = string(v)
		}
		// A deleted state is not found.
		if err := st.DropWindow([]byte("key-00003"), w1); err != nil {
			t.Fatal(err)
		}
		delete(want, "key-00003")
		return want
	}
	scan := func(t *testing.T, st *Stage) map[string]string {
		got := map[string]string{}
		if err := st.WindowStates(w1, func(k, v []byte) error {
			if _, dup := got[string(k)]; dup {
				t.Fatalf("key %q found twice", k)
			}
			got[string(k)] = string(v)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, tc := range []struct {
		name  string
		cache int64
	}{{"complete cache", 0}, {"evicting cache", 64 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			s := mustOpen(t, "db", Options{FS: fs, MaxParallelism: 8, stateCacheBytes: tc.cache})
			st := mustStage(t, s, "comb")
			want := fill(t, st, 3000)
			if d := cmp.Diff(want, scan(t, st)); d != "" {
				t.Fatalf("WindowStates (-want +got):\n%s", d)
			}
			if tc.cache == 0 && !s.cache.complete(st.scope(w1)) {
				t.Fatal("a new database with a large cache should know its window completely")
			}
			if tc.cache > 0 && s.cache.complete(st.scope(w1)) {
				t.Fatal("a window evicted from should not count as complete")
			}
			// After a restart the cache knows nothing: Pebble answers.
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = mustOpen(t, "db", Options{FS: fs, MaxParallelism: 8})
			defer s.Close()
			st = mustStage(t, s, "comb")
			if s.cache.complete(st.scope(w1)) {
				t.Fatal("a reopened database cannot be complete in the cache")
			}
			if v, ok, err := st.GetWindowState([]byte("key-00007"), w1); err != nil || !ok || string(v) != "acc-7" {
				t.Fatalf("after reopen: %q %v %v", v, ok, err)
			}
			if d := cmp.Diff(want, scan(t, st)); d != "" {
				t.Fatalf("WindowStates after reopen (-want +got):\n%s", d)
			}
		})
	}
}
