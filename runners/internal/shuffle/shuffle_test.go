package shuffle

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// collect reads every partition into key/window -> values in arrival order.
func collect(t *testing.T, s *Shuffle) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for p := range s.Partitions() {
		var prev *Group
		err := s.Groups(p, func(g *Group) error {
			k := fmt.Sprintf("%s@%v", g.Key, g.Window)
			if _, dup := got[k]; dup {
				return fmt.Errorf("group %s seen twice", k)
			}
			if s.SpilledBytes() > 0 && prev != nil && string(prev.Key) > string(g.Key) {
				return fmt.Errorf("groups out of order: %q after %q", g.Key, prev.Key)
			}
			for _, r := range g.Records {
				got[k] = append(got[k], string(r.Value))
			}
			prev = &Group{Key: append([]byte(nil), g.Key...)}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return got
}

func TestGroupsInMemoryAndSpilled(t *testing.T) {
	for _, limit := range []int64{1 << 30, 1} { // never spill; spill all the time
		t.Run(fmt.Sprint("budget=", limit), func(t *testing.T) {
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 0))
			budget := &Budget{Limit: limit, MinSpill: 64 << 10}
			s := New("test", 3, t.TempDir(), budget, false)
			defer s.Close()
			want := map[string][]string{}
			for i := range 20000 {
				k := fmt.Sprintf("k%03d", rng.IntN(500))
				w := df.IntervalWindow(df.EventTime(rng.IntN(3)*10), df.EventTime(rng.IntN(3)*10+10))
				v := fmt.Sprint(i)
				if err := s.Add([]byte(k), []byte(v), df.EventTime(i), w); err != nil {
					t.Fatal(err)
				}
				key := fmt.Sprintf("%s@%v", k, w)
				want[key] = append(want[key], v)
			}
			if limit == 1 && s.SpilledBytes() == 0 {
				t.Fatal("expected spilling with a 1-byte budget")
			}
			if diff := cmp.Diff(want, collect(t, s)); diff != "" {
				t.Fatalf("groups differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCloseRemovesSpillFiles(t *testing.T) {
	dir := t.TempDir()
	s := New("test", 1, dir, &Budget{Limit: 1, MinSpill: 64 << 10}, true)
	for i := range 5000 {
		if err := s.Add([]byte("key"), []byte(fmt.Sprint(i)), 0, df.GlobalWindow); err != nil {
			t.Fatal(err)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) == 0 {
		t.Fatal("no spill files written")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("%d spill files left after Close", len(files))
	}
}

func TestTruncatedSpillIsAnError(t *testing.T) {
	dir := t.TempDir()
	s := New("test", 1, dir, &Budget{Limit: 1, MinSpill: 64 << 10}, false)
	defer s.Close()
	for i := range 3000 {
		s.Add([]byte(fmt.Sprint("key", i)), []byte("value"), 0, df.GlobalWindow)
	}
	files, _ := os.ReadDir(dir)
	if len(files) == 0 {
		t.Fatal("no spill")
	}
	path := dir + "/" + files[0].Name()
	fi, _ := os.Stat(path)
	os.Truncate(path, fi.Size()-3)
	err := s.Groups(0, func(*Group) error { return nil })
	if err == nil {
		t.Fatal("reading a truncated spill file succeeded")
	}
	t.Log(err)
}
