package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluicedata/sluice/runners/direct"
)

func TestWindowsumMatchesHandLoop(t *testing.T) {
	for _, n := range []int64{0, 1, 1023, 1024, 1025, 100_000} {
		for _, par := range []int{1, 3} {
			t.Run(fmt.Sprintf("n=%d/par=%d", n, par), func(t *testing.T) {
				got, err := run(context.Background(), direct.New(direct.Options{Parallelism: par}), n)
				if err != nil {
					t.Fatal(err)
				}
				g, tot := handLoop(n)
				if got.groups != g || got.total != tot {
					t.Fatalf("groups=%d total=%d, want groups=%d total=%d", got.groups, got.total, g, tot)
				}
			})
		}
	}
}

const benchEvents = 4_000_000

func BenchmarkWindowsum(b *testing.B) {
	b.Run("runner=direct", func(b *testing.B) {
		b.ReportAllocs()
		r := direct.New(direct.Options{})
		for b.Loop() {
			res, err := run(context.Background(), r, benchEvents)
			if err != nil {
				b.Fatal(err)
			}
			if res.groups != 400000 || res.total != 1995982702 {
				b.Fatalf("wrong result: %+v", res)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("baseline=handloop", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if g, _ := handLoop(benchEvents); g != 400000 {
				b.Fatal(g)
			}
		}
		b.ReportMetric(float64(benchEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
