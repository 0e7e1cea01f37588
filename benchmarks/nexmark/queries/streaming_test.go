package queries_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/sluicedata/sluice/benchmarks/nexmark/generator"
	"github.com/sluicedata/sluice/benchmarks/nexmark/queries"
	"github.com/sluicedata/sluice/runners/streaming"
)

// TestQueriesOnStreamingRunner runs every query on the streaming runner
// (state in Pebble, a checkpoint every 20 ms) and checks its results
// against the hand-written reference, and so against the direct runner,
// which TestQueriesMatchReference checks the same way.
func TestQueriesOnStreamingRunner(t *testing.T) {
	n := int64(20_000)
	if testing.Short() {
		n = 2_000
	}
	g, err := generator.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	events := g.Events(0, n)
	src := generator.NewSliceSource(g, events)
	for _, q := range queries.All {
		t.Run(fmt.Sprintf("%s/n=%d", q.Name, n), func(t *testing.T) {
			want := q.Reference(slices.Values(events), true)
			r := streaming.New(streaming.Options{Parallelism: 2, CheckpointInterval: 20 * time.Millisecond, Log: io.Discard})
			got, err := q.Run(context.Background(), r, src, true)
			if err != nil {
				t.Fatal(err)
			}
			checkSame(t, q.Name, want, got)
			if got.Fingerprint != want.Fingerprint {
				t.Fatalf("fingerprints differ: got %v, want %v", got.Fingerprint, want.Fingerprint)
			}
		})
	}
}
