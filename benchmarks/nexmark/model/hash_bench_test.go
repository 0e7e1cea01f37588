package model_test

import (
	"testing"

	"github.com/sluicedata/sluice/benchmarks/nexmark/generator"
	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
)

// The fingerprint's per-event cost, which every runner's figure in the
// Nexmark command includes: over 1M events as the generator allocates them,
// over the same events compacted (as -source=memory holds them), and over
// 1000 events that stay in cache.
func BenchmarkEventHash(b *testing.B)        { benchHash(b, events(b, 1_000_000)) }
func BenchmarkEventHashCompact(b *testing.B) { benchHash(b, generator.Compact(events(b, 1_000_000))) }
func BenchmarkEventHashCached(b *testing.B)  { benchHash(b, events(b, 1000)) }

func events(b *testing.B, n int64) []model.Event {
	g, err := generator.New(generator.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	return g.Events(0, n)
}

func benchHash(b *testing.B, events []model.Event) {
	var sum uint64
	for i := 0; b.Loop(); i++ {
		sum += events[i%len(events)].Hash()
	}
	_ = sum
}
