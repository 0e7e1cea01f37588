package state

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// TestMemIndex checks the in-memory timer index against a map under random
// adds, removes and seeks, with keys added in and out of order.
func TestMemIndex(t *testing.T) {
	for _, seed := range seeds(t, 5) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			var m memIndex
			ref := map[string][8]byte{}
			key := func() string { return fmt.Sprintf("k%04d", rng.IntN(300)) }
			next := 0 // keys added in order now and then, as timers mostly are
			for op := range 20_000 {
				switch r := rng.IntN(10); {
				case r < 4:
					k := key()
					if rng.IntN(2) == 0 {
						k = fmt.Sprintf("k%04d", next%300)
						next++
					}
					if _, ok := ref[k]; ok {
						continue
					}
					v := [8]byte{byte(op)}
					ref[k] = v
					m.add([]byte(k), v[:])
				case r < 7:
					k := key()
					_, want := ref[k]
					delete(ref, k)
					if got := m.remove([]byte(k)); got != want {
						t.Fatalf("op %d: remove(%s) = %v, want %v", op, k, got, want)
					}
				case r < 9:
					lo, hi := key(), key()
					if lo > hi {
						lo, hi = hi, lo
					}
					n := 1 + rng.IntN(20)
					var want []memEntry
					for k, v := range ref {
						if k >= lo && k < hi {
							want = append(want, memEntry{k, v})
						}
					}
					slices.SortFunc(want, func(a, b memEntry) int { return strings.Compare(a.k, b.k) })
					want = want[:min(n, len(want))]
					got := m.seek([]byte(lo), []byte(hi), n, nil)
					if !slices.Equal(got, want) {
						t.Fatalf("op %d: seek(%s, %s, %d) = %v, want %v", op, lo, hi, n, got, want)
					}
				default:
					if m.len() != len(ref) {
						t.Fatalf("op %d: len %d, want %d", op, m.len(), len(ref))
					}
					if rng.IntN(50) == 0 {
						m.reset()
						clear(ref)
					}
				}
			}
		})
	}
}

// TestTimersPastTheInMemoryBound sets more timers than a stage keeps in
// memory (maxMemTimers), in random order, replacing and clearing some:
// DueTimers yields the live ones in order, whether they stayed in memory
// or went to the batch.
func TestTimersPastTheInMemoryBound(t *testing.T) {
	s := mustOpen(t, "db", Options{FS: vfs.NewMem()})
	defer s.Close()
	st := mustStage(t, s, "pardo")
	rng := rand.New(rand.NewPCG(1, 2))
	n := 2 * maxMemTimers
	want := map[string]df.EventTime{}
	var set []string
	for range n {
		k := fmt.Sprintf("k%07d", rng.IntN(8*n))
		if len(set) > 0 && rng.IntN(4) == 0 {
			k = set[rng.IntN(len(set))] // replace or clear a timer set before
		}
		set = append(set, k)
		at := df.EventTime(rng.IntN(1 << 20))
		b := st.Backend([]byte(k))
		if rng.IntN(10) == 0 {
			if err := b.ClearTimer(df.GlobalWindow, "f", ""); err != nil {
				t.Fatal(err)
			}
			delete(want, k)
			continue
		}
		if err := b.SetTimer(df.TimerData{Family: "f", Window: df.GlobalWindow, Domain: df.EventTimeDomain, FireAt: at, Hold: at}); err != nil {
			t.Fatal(err)
		}
		want[k] = at
	}
	if st.mem[df.EventTimeDomain].len() >= len(want) {
		t.Fatalf("all %d timers in memory; the test needs some in the batch", len(want))
	}
	var prev df.EventTime = -1
	got := 0
	for tm, err := range st.DueTimers(df.EventTimeDomain, df.MaxTime) {
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[string(tm.Key)]; !ok || w != tm.FireAt || tm.FireAt < prev {
			t.Fatalf("timer %s @%d (want @%d, %v), after @%d", tm.Key, tm.FireAt, w, ok, prev)
		}
		prev = tm.FireAt
		delete(want, string(tm.Key))
		got++
	}
	if len(want) > 0 {
		t.Fatalf("%d timers not yielded (of %d)", len(want), got+len(want))
	}
}
