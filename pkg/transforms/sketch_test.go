package transforms_test

import (
	"cmp"
	"fmt"
	"math"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

func TestApproximateCountDistinct(t *testing.T) {
	const n = 100_000
	for _, precision := range []int{10, transforms.DefaultHLLPrecision, 16} {
		t.Run(fmt.Sprintf("p=%d", precision), func(t *testing.T) {
			runModes(t, func(s dataflow.Scope) func(*testing.T) {
				// Each of n values three times, as strings so the hash sees varied bytes.
				seq := transforms.Sequence(s, "Seq", 0, 3*n)
				strs := transforms.Map(s, "Str", func(v int64) string { return fmt.Sprintf("user-%d", v%n) }, seq)
				out := collect(s, "Out", transforms.ApproximateCountDistinct(s, "Distinct", precision, strs))
				return func(t *testing.T) {
					got := out.Values()
					if len(got) != 1 {
						t.Fatalf("got %v, want one estimate", got)
					}
					// 4 standard errors of HyperLogLog: 4 * 1.04/sqrt(2^p).
					bound := 4 * 1.04 / math.Sqrt(float64(int(1)<<precision))
					if rel := math.Abs(float64(got[0]-n)) / n; rel > bound {
						t.Errorf("estimate %d of %d distinct: relative error %.4f > %.4f", got[0], n, rel, bound)
					} else {
						t.Logf("estimate %d of %d distinct: relative error %.4f (bound %.4f)", got[0], n, rel, bound)
					}
				}
			})
		})
	}
}

func TestApproximateCountDistinctSmallIsExact(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		seq := transforms.Sequence(s, "Seq", 0, 5000)
		mod := transforms.Map(s, "Mod", func(v int64) int64 { return v % 777 }, seq)
		global := collect(s, "Global", transforms.ApproximateCountDistinct(s, "Distinct", 14, mod))
		keyed := transforms.KeyBy(s, "Parity", func(v int64) bool { return v%2 == 0 }, mod)
		perKey := collect(s, "PerKey", transforms.ApproximateCountDistinctPerKey(s, "DistinctPerKey", 14, keyed))
		empty := collect(s, "Empty", transforms.ApproximateCountDistinct(s, "DistinctNothing", 12, transforms.Create[string](s, "Nothing")))
		return func(t *testing.T) {
			if d := gocmp.Diff([]int64{777}, global.Values()); d != "" {
				t.Errorf("global (-want +got):\n%s", d)
			}
			// 0..776: 389 even, 388 odd.
			want := []transforms.KV[bool, int64]{kv(false, int64(388)), kv(true, int64(389))}
			if d := gocmp.Diff(want, perKey.Values(), sorted(func(a, b transforms.KV[bool, int64]) bool { return !a.Key && b.Key })); d != "" {
				t.Errorf("per key (-want +got):\n%s", d)
			}
			if d := gocmp.Diff([]int64{0}, empty.Values()); d != "" {
				t.Errorf("empty (-want +got):\n%s", d)
			}
		}
	})
}

func TestApproximateQuantilesExact(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		// 0..100 in a scrambled order.
		nums := transforms.Map(s, "Scramble", func(v int64) int64 { return v * 37 % 101 }, transforms.Sequence(s, "Seq", 0, 101))
		quartiles := collect(s, "Quartiles", transforms.ApproximateQuantiles(s, "Q5", 5, cmp.Less[int64], nums))
		minMax := collect(s, "MinMax", transforms.ApproximateQuantiles(s, "Q2", 2, cmp.Less[int64], nums))
		deciles := collect(s, "Deciles", transforms.ApproximateQuantiles(s, "Q11", 11, cmp.Less[int64], nums))
		keyed := transforms.KeyBy(s, "Parity", func(v int64) int64 { return v % 2 }, nums)
		perKey := collect(s, "PerKey", transforms.ApproximateQuantilesPerKey(s, "QPerKey", 3, cmp.Less[int64], keyed))
		empty := collect(s, "Empty", transforms.ApproximateQuantiles(s, "QNothing", 3, cmp.Less[int], transforms.Create[int](s, "Nothing")))
		return func(t *testing.T) {
			if d := gocmp.Diff([][]int64{{0, 25, 50, 75, 100}}, quartiles.Values()); d != "" {
				t.Errorf("quartiles (-want +got):\n%s", d)
			}
			if d := gocmp.Diff([][]int64{{0, 100}}, minMax.Values()); d != "" {
				t.Errorf("min and max (-want +got):\n%s", d)
			}
			if d := gocmp.Diff([][]int64{{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}}, deciles.Values()); d != "" {
				t.Errorf("deciles (-want +got):\n%s", d)
			}
			// Evens 0..100 (51 values): median 50. Odds 1..99 (50 values): Beam picks
			// position floor((50-1)/2) = 24 of the sorted values, 49.
			want := []transforms.KV[int64, []int64]{kv(int64(0), []int64{0, 50, 100}), kv(int64(1), []int64{1, 49, 99})}
			if d := gocmp.Diff(want, perKey.Values(), sorted(func(a, b transforms.KV[int64, []int64]) bool { return a.Key < b.Key })); d != "" {
				t.Errorf("per key (-want +got):\n%s", d)
			}
			if got := empty.Values(); len(got) != 1 || len(got[0]) != 0 {
				t.Errorf("empty: got %v, want one empty slice", got)
			}
		}
	})
}

func TestApproximateQuantilesLarge(t *testing.T) {
	const n = 200_000
	for _, k := range []int{64, transforms.DefaultQuantilesBufferSize} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			runModes(t, func(s dataflow.Scope) func(*testing.T) {
				// A permutation of 0..n-1, so the value is its rank.
				nums := transforms.Map(s, "Scramble", func(v int64) int64 { return v * 7919 % n }, transforms.Sequence(s, "Seq", 0, n))
				out := collect(s, "Out", transforms.ApproximateQuantiles(s, "Q", 11, cmp.Less[int64], nums, transforms.QuantilesBufferSize(k)))
				return func(t *testing.T) {
					got := out.Values()
					if len(got) != 1 || len(got[0]) != 11 {
						t.Fatalf("got %v, want 11 quantiles", got)
					}
					q := got[0]
					if q[0] != 0 || q[10] != n-1 {
						t.Errorf("min, max = %d, %d, want exact 0, %d", q[0], q[10], n-1)
					}
					// The rank error bound of the sketch: log2(n/k) levels, each off by at most n/k.
					bound := math.Log2(float64(n)/float64(k)) * float64(n) / float64(k)
					worst := 0.0
					for j := 1; j < 10; j++ {
						want := float64(j) * (n - 1) / 10
						worst = max(worst, math.Abs(float64(q[j])-want))
					}
					if worst > bound {
						t.Errorf("quantiles %v: worst rank error %.0f > bound %.0f", q, worst, bound)
					}
					t.Logf("quantiles %v: worst rank error %.0f (%.3f%%), bound %.0f", q, worst, 100*worst/n, bound)
				}
			})
		})
	}
}

// roundTrip encodes and decodes v with T's coder.
func roundTrip[T any](t *testing.T, v T) {
	t.Helper()
	c, err := dataflow.CoderOf[T]()
	if err != nil {
		t.Errorf("%T has no coder: %v", v, err)
		return
	}
	b := c.Encode(nil, v)
	got, n, err := c.Decode(b)
	if err != nil || n != len(b) {
		t.Errorf("%T: decode: %v (read %d of %d bytes)", v, err, n, len(b))
		return
	}
	if d := gocmp.Diff(v, got, cmpopts.EquateEmpty(), gocmp.AllowUnexported(transforms.CoGroupResult{})); d != "" {
		t.Errorf("%T round trip (-want +got):\n%s", v, d)
	}
}

// TestAccumulatorCoders checks that every accumulator and output type has a
// derived coder, as runners that shuffle or checkpoint accumulators need.
func TestAccumulatorCoders(t *testing.T) {
	roundTrip(t, transforms.ReduceAccumulator[string]{Value: "x", Set: true})
	roundTrip(t, transforms.MeanAccumulator{Sum: 1.5, Count: 2})
	roundTrip(t, transforms.TopAccumulator[int]{Items: []int{3, 1, 2}})
	roundTrip(t, transforms.TopAccumulator[transforms.KV[uint64, string]]{Items: []transforms.KV[uint64, string]{kv(uint64(7), "a")}})
	roundTrip(t, transforms.HLLSketch{Hashes: []uint64{1, 2}, Sorted: 1})
	roundTrip(t, transforms.HLLSketch{Registers: []uint8{0, 3, 1, 0}})
	roundTrip(t, transforms.QuantilesAccumulator[int]{Count: 5, Min: 1, Max: 9, Levels: [][]int{{1, 9, 5}, {3}}, Parity: 1})
	roundTrip(t, transforms.ReduceAccumulator[transforms.Timestamped[string]]{Value: ts("v", 5), Set: true})
	roundTrip(t, transforms.Join[int, string]{Left: 1, HasLeft: true})
	roundTrip(t, transforms.CoGroupResult{})
}
