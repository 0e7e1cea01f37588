package main

import (
	"context"
	"testing"

	"github.com/sluicedata/sluice/benchmarks/nexmark/generator"
	"github.com/sluicedata/sluice/benchmarks/nexmark/queries"
	"github.com/sluicedata/sluice/runners/direct"
)

// benchEvents is the size of every benchmark: Beam's default configuration,
// 1M events (100 s of event time), generated as they are read.
const benchEvents = 1_000_000

func BenchmarkQ0(b *testing.B)  { benchQuery(b, "q0") }
func BenchmarkQ1(b *testing.B)  { benchQuery(b, "q1") }
func BenchmarkQ2(b *testing.B)  { benchQuery(b, "q2") }
func BenchmarkQ3(b *testing.B)  { benchQuery(b, "q3") }
func BenchmarkQ4(b *testing.B)  { benchQuery(b, "q4") }
func BenchmarkQ5(b *testing.B)  { benchQuery(b, "q5") }
func BenchmarkQ6(b *testing.B)  { benchQuery(b, "q6") }
func BenchmarkQ7(b *testing.B)  { benchQuery(b, "q7") }
func BenchmarkQ8(b *testing.B)  { benchQuery(b, "q8") }
func BenchmarkQ9(b *testing.B)  { benchQuery(b, "q9") }
func BenchmarkQ11(b *testing.B) { benchQuery(b, "q11") }
func BenchmarkQ12(b *testing.B) { benchQuery(b, "q12") }

// benchQuery runs query name on the direct runner and the hand-written
// baseline over the same events, in the same run, and checks both against
// the baseline's result computed beforehand.
func benchQuery(b *testing.B, name string) {
	q, ok := queries.ByName(name)
	if !ok {
		b.Fatalf("no query %s", name)
	}
	g, err := generator.New(generator.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	want := q.Reference(g.All(0, benchEvents), false).Fingerprint
	b.Run("runner=direct", func(b *testing.B) {
		b.ReportAllocs()
		r := direct.New(direct.Options{Progress: direct.ProgressOff})
		for b.Loop() {
			res, err := q.Run(context.Background(), r, generator.NewSource(g, benchEvents), false)
			if err != nil {
				b.Fatal(err)
			}
			if res.Fingerprint != want {
				b.Fatalf("%s on direct: %v, want %v", name, res.Fingerprint, want)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("baseline=handloop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if got := q.Reference(g.All(0, benchEvents), false).Fingerprint; got != want {
				b.Fatalf("%s baseline: %v, want %v", name, got, want)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
