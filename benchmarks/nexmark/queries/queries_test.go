package queries_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/benchmarks/nexmark/generator"
	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	"github.com/sluicedata/sluice/benchmarks/nexmark/queries"
	"github.com/sluicedata/sluice/runners/direct"
)

// testConfig spreads the events over more event time than Beam's default
// rate (10,000 events per second), so that small runs cover many windows:
// 10,000 events span 20 s, 100,000 span 200 s.
func testConfig() generator.Config {
	cfg := generator.DefaultConfig()
	cfg.EventsPerSecond = 500
	return cfg
}

// TestQueriesMatchReference runs every query on the direct runner and
// compares its output, element by element, with the hand-written reference
// over the same events.
func TestQueriesMatchReference(t *testing.T) {
	type setup struct {
		n           int64
		parallelism int
		queries     []string // nil: all
	}
	setups := []setup{
		{n: 0, parallelism: 2},
		{n: 1, parallelism: 2},
		{n: 10_000, parallelism: 1},
		{n: 10_000, parallelism: 3},
		// 100,000 events for the queries whose results need many events
		// (windows, winning bids, joins) to be interesting. Not q0 and q1,
		// whose 100,000 results only take time to compare, nor q11: the
		// direct runner merges sessions in time quadratic in their length,
		// which takes a minute here under -race.
		{n: 100_000, parallelism: 2, queries: []string{"q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9", "q12"}},
	}
	if testing.Short() {
		setups = setups[:3]
	}
	g, err := generator.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	events := g.Events(0, 100_000)
	for _, st := range setups {
		evs := events[:st.n]
		src := generator.NewSliceSource(g, evs)
		for _, q := range queries.All {
			if st.queries != nil && !slices.Contains(st.queries, q.Name) {
				continue
			}
			t.Run(fmt.Sprintf("%s/n=%d/par=%d", q.Name, st.n, st.parallelism), func(t *testing.T) {
				want := q.Reference(slices.Values(evs), true)
				got, err := q.Run(context.Background(), direct.New(direct.Options{Parallelism: st.parallelism, Progress: direct.ProgressOff}), src, true)
				if err != nil {
					t.Fatal(err)
				}
				checkSame(t, q.Name, want, got)
				if got.Fingerprint != want.Fingerprint {
					t.Fatalf("fingerprints differ: got %v, want %v", got.Fingerprint, want.Fingerprint)
				}
				if st.n >= 10_000 && want.Fingerprint.Count == 0 {
					t.Errorf("%s has no results at n=%d: the test checks nothing", q.Name, st.n)
				}
			})
		}
	}
}

// checkSame fails t unless got has exactly the elements of want, and
// lists what is missing and unexpected if not.
func checkSame(t *testing.T, query string, want, got queries.Results) {
	t.Helper()
	if cmp.Equal(want.Elements, got.Elements) {
		return
	}
	count := map[uint64]int{}
	for _, e := range want.Elements {
		count[e.Hash()]++
	}
	for _, e := range got.Elements {
		count[e.Hash()]--
	}
	var missing, unexpected []model.Hashable
	for _, e := range want.Elements {
		if count[e.Hash()] > 0 {
			missing = append(missing, e)
		}
	}
	for _, e := range got.Elements {
		if count[e.Hash()] < 0 {
			unexpected = append(unexpected, e)
		}
	}
	const show = 5
	t.Errorf("%s: %d results, the reference %d; %d missing, %d unexpected", query, len(got.Elements), len(want.Elements), len(missing), len(unexpected))
	for i, e := range missing[:min(show, len(missing))] {
		t.Errorf("missing %d: %+v", i, e)
	}
	for i, e := range unexpected[:min(show, len(unexpected))] {
		t.Errorf("unexpected %d: %+v", i, e)
	}
}

// TestQueriesOutOfOrder is TestQueriesMatchReference over events whose
// timestamps are shuffled within groups of 1000 (2 s here), as Beam's
// outOfOrderGroupSize does.
func TestQueriesOutOfOrder(t *testing.T) {
	cfg := testConfig()
	cfg.OutOfOrderGroupSize = 1000
	g, err := generator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events := g.Events(0, 10_000)
	src := generator.NewSliceSource(g, events)
	for _, q := range queries.All {
		t.Run(q.Name, func(t *testing.T) {
			want := q.Reference(slices.Values(events), true)
			got, err := q.Run(context.Background(), direct.New(direct.Options{Parallelism: 2, Progress: direct.ProgressOff}), src, true)
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, q.Name, want, got)
		})
	}
}

// TestGeneratedSourceMatchesSlice checks that reading the generator as a
// split source gives the same results as the events held in memory.
func TestGeneratedSourceMatchesSlice(t *testing.T) {
	g, err := generator.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	const n = 5_000
	for _, name := range []string{"q0", "q9"} {
		q, _ := queries.ByName(name)
		want := q.Reference(g.All(0, n), false)
		got, err := q.Run(context.Background(), direct.New(direct.Options{Parallelism: 3, Progress: direct.ProgressOff}), generator.NewSource(g, n), false)
		if err != nil {
			t.Fatal(err)
		}
		if got.Fingerprint != want.Fingerprint {
			t.Errorf("%s: got %v, want %v", name, got.Fingerprint, want.Fingerprint)
		}
	}
}

// TestResultCounts pins the number of results of each query at 10,000
// events of the test configuration, so that a change to the generator or to
// a query's semantics shows up here.
func TestResultCounts(t *testing.T) {
	g, err := generator.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	events := g.Events(0, 10_000)
	want := map[string]int64{"q0": 10000, "q1": 9200, "q2": 22, "q3": 17, "q4": 26, "q5": 6, "q6": 92, "q7": 2, "q8": 496, "q9": 248, "q11": 196, "q12": 196}
	for _, q := range queries.All {
		if got := q.Reference(slices.Values(events), false).Fingerprint.Count; got != want[q.Name] {
			t.Errorf("%s has %d results, want %d", q.Name, got, want[q.Name])
		}
	}
}
