package transforms

// Unit tests of the pieces that pipelines cannot reach directly: source
// splitting and the merging of sketch accumulators in arbitrary orders.

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

var seedFlag = flag.Uint64("seed", 0, "seed of the randomized tests (0: from the clock)")

// testRand returns a seeded source and logs the seed, so a failure can be
// replayed with -seed.
func testRand(t *testing.T) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

func TestSequenceSplit(t *testing.T) {
	for _, tc := range []struct {
		start, end int64
		desired    int
		wantParts  int
	}{
		{0, 0, 4, 1},
		{0, 1, 4, 1},
		{0, 10, 1, 1},
		{0, 10, 3, 3},
		{0, 10, 10, 10},
		{0, 10, 100, 10},
		{-7, 1_000_003, 16, 16},
		{math.MinInt64, math.MaxInt64, 5, 5},
		{math.MaxInt64 - 3, math.MaxInt64, 8, 3},
	} {
		t.Run(fmt.Sprintf("[%d,%d)/%d", tc.start, tc.end, tc.desired), func(t *testing.T) {
			parts, err := sequenceSource{tc.start, tc.end}.Split(context.Background(), tc.desired)
			if err != nil {
				t.Fatal(err)
			}
			if len(parts) != tc.wantParts {
				t.Errorf("got %d parts, want %d", len(parts), tc.wantParts)
			}
			// Parts are contiguous, cover the range, and none is empty unless the range is.
			next := tc.start
			var minLen, maxLen uint64 = math.MaxUint64, 0
			for i, p := range parts {
				r := p.(sequenceSource)
				if r.start != next || (r.end <= r.start && tc.end > tc.start) {
					t.Fatalf("part %d is %v, want a non-empty range from %d", i, r, next)
				}
				l := uint64(r.end - r.start)
				minLen, maxLen = min(minLen, l), max(maxLen, l)
				next = r.end
			}
			if next != tc.end {
				t.Errorf("parts end at %d, want %d", next, tc.end)
			}
			if maxLen-minLen > 1 {
				t.Errorf("part lengths range from %d to %d, want them within 1", minLen, maxLen)
			}
		})
	}
}

func TestSequenceRead(t *testing.T) {
	var got []int64
	batches := 0
	src := sequenceSource{math.MaxInt64 - 2500, math.MaxInt64}
	err := src.Read(context.Background(), dataflow.ConsumerFunc[int64](func(b []dataflow.Elem[int64]) error {
		batches++
		if len(b) > dataflow.BatchSize {
			t.Errorf("batch of %d", len(b))
		}
		for _, e := range b {
			got = append(got, e.Value)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2500 || got[0] != math.MaxInt64-2500 || got[len(got)-1] != math.MaxInt64-1 || batches != (2500+dataflow.BatchSize-1)/dataflow.BatchSize {
		t.Errorf("read %d values from %d to %d in %d batches", len(got), got[0], got[len(got)-1], batches)
	}
}

func TestHeapPush(t *testing.T) {
	r := testRand(t)
	less := func(a, b int) bool { return a < b }
	for range 200 {
		n := r.IntN(10)
		vs := make([]int, r.IntN(50))
		for i := range vs {
			vs[i] = r.IntN(30)
		}
		var h []int
		for _, v := range vs {
			h = heapPush(h, v, n, less)
		}
		got := slices.Sorted(slices.Values(h))
		want := slices.Sorted(slices.Values(vs))
		want = want[max(0, len(want)-n):]
		if !slices.Equal(got, want) {
			t.Fatalf("top %d of %v: got %v, want %v", n, vs, got, want)
		}
	}
}

// accumulate feeds vs to fn in random chunks, each into its own accumulator,
// and merges the accumulators in a random order, as a runner may.
func accumulate[I, A, O any](r *rand.Rand, fn dataflow.CombineFn[I, A, O], vs []I) A {
	var accs []A
	for len(vs) > 0 {
		n := 1 + r.IntN(min(len(vs), 5000))
		acc := fn.CreateAccumulator()
		for _, v := range vs[:n] {
			acc = fn.AddInput(acc, v)
		}
		accs = append(accs, acc)
		vs = vs[n:]
	}
	if len(accs) == 0 {
		return fn.CreateAccumulator()
	}
	for len(accs) > 1 {
		i, j := r.IntN(len(accs)), r.IntN(len(accs)-1)
		if j >= i {
			j++
		}
		accs[i] = fn.MergeAccumulators(accs[i], accs[j])
		accs = slices.Delete(accs, j, j+1)
	}
	return accs[0]
}

func TestQuantilesFnMerged(t *testing.T) {
	r := testRand(t)
	for _, n := range []int{1, 2, 100, 1024, 1025, 50_000} {
		for _, k := range []int{2, 16, 1024} {
			vs := r.Perm(n)
			fn := QuantilesFn(5, func(a, b int) bool { return a < b }, QuantilesBufferSize(k))
			acc := accumulate(r, fn, vs)
			if acc.Count != int64(n) {
				t.Fatalf("n=%d k=%d: count %d", n, k, acc.Count)
			}
			var weight int64
			for h, items := range acc.Levels {
				weight += int64(len(items)) << h
				if len(items) > k {
					t.Errorf("n=%d k=%d: level %d holds %d items", n, k, h, len(items))
				}
			}
			if weight != int64(n) {
				t.Errorf("n=%d k=%d: the levels weigh %d, want %d", n, k, weight, n)
			}
			q := fn.ExtractOutput(acc)
			if len(q) != 5 || q[0] != 0 || q[4] != n-1 {
				t.Fatalf("n=%d k=%d: quantiles %v", n, k, q)
			}
			bound := 1.0
			if n > k {
				bound = math.Log2(float64(n)/float64(k))*float64(n)/float64(k) + 1
			}
			for j := 1; j < 4; j++ {
				want := math.Floor(float64(j-1)*float64(n)/4 + float64(n-1)/4)
				if d := math.Abs(float64(q[j]) - want); d >= bound {
					t.Errorf("n=%d k=%d: quantile %d is %d, want %v within %.0f", n, k, j, q[j], want, bound)
				}
			}
		}
	}
}

func TestQuantilesFnDoesNotChangeInputs(t *testing.T) {
	fn := QuantilesFn(3, func(a, b int) bool { return a < b }, QuantilesBufferSize(4))
	a, b := fn.CreateAccumulator(), fn.CreateAccumulator()
	for i := range 10 {
		a = fn.AddInput(a, i)
		b = fn.AddInput(b, 100+i)
	}
	before := fmt.Sprint(b)
	a = fn.MergeAccumulators(a, b)
	if after := fmt.Sprint(b); after != before {
		t.Errorf("merge changed its second argument: %s, then %s", before, after)
	}
	out := fmt.Sprint(fn.ExtractOutput(a))
	if again := fmt.Sprint(fn.ExtractOutput(a)); again != out {
		t.Errorf("ExtractOutput is not repeatable: %s, then %s", out, again)
	}
}

func TestHLLFnMerged(t *testing.T) {
	r := testRand(t)
	for _, p := range []int{MinHLLPrecision, 10, 14} {
		fn := HLLFn(p)
		for _, n := range []int{0, 1, 50, 1 << (p - 3), 1<<(p-3) + 1, 30_000} {
			hs := make([]uint64, 0, 2*n)
			for i := range n {
				h := hash64(fmt.Appendf(nil, "v%d", i))
				hs = append(hs, h, h) // every value twice
			}
			r.Shuffle(len(hs), func(i, j int) { hs[i], hs[j] = hs[j], hs[i] })
			merged := fn.ExtractOutput(accumulate(r, fn, hs))
			single := fn.ExtractOutput(accumulate(r, fn, hs[:0:0]))
			if n == 0 && single != 0 {
				t.Errorf("p=%d: empty sketch estimates %d", p, single)
			}
			bound := 4 * 1.04 / math.Sqrt(float64(int(1)<<p))
			if n <= 1<<(p-3) && merged != int64(n) {
				t.Errorf("p=%d n=%d: sparse estimate %d, want exact", p, n, merged)
			}
			if rel := math.Abs(float64(merged)-float64(n)) / max(float64(n), 1); rel > bound {
				t.Errorf("p=%d n=%d: estimate %d, relative error %.4f > %.4f", p, n, merged, rel, bound)
			}
		}
	}
}

func TestHLLDenseMergeIsOrderFree(t *testing.T) {
	r := testRand(t)
	fn := HLLFn(8).(hllFn)
	hs := make([]uint64, 5000)
	for i := range hs {
		hs[i] = r.Uint64()
	}
	a, b := accumulate(r, fn, hs), accumulate(r, fn, hs)
	if a.Registers == nil || !slices.Equal(a.Registers, b.Registers) {
		t.Errorf("two merge orders gave different registers")
	}
}

func TestErtlEstimateExtremes(t *testing.T) {
	regs := make([]uint8, 1<<10)
	if e := ertlEstimate(regs, 10); e != 0 {
		t.Errorf("empty registers estimate %v", e)
	}
	for i := range regs {
		regs[i] = 64 - 10 + 1 // saturated
	}
	if e := ertlEstimate(regs, 10); math.IsNaN(e) || e <= 0 {
		t.Errorf("saturated registers estimate %v", e)
	}
}

func TestCmpOrderedHelpers(t *testing.T) {
	// Smallest uses greater: NaN is the smallest float, as cmp.Less has it.
	if !greater(1.0, math.NaN()) || greater(math.NaN(), 1.0) {
		t.Error("greater does not order NaN below every float")
	}
}
