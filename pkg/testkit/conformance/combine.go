package conformance

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// statsFn is a CombineFn with a struct accumulator, whose output tells
// whether every input was added once and accumulators were merged right.
type statsFn struct{}

type statsAcc struct {
	Sum, Count, Min, Max int
}

func (statsFn) CreateAccumulator() statsAcc { return statsAcc{Min: math.MaxInt, Max: math.MinInt} }
func (statsFn) AddInput(a statsAcc, v int) statsAcc {
	return statsAcc{Sum: a.Sum + v, Count: a.Count + 1, Min: min(a.Min, v), Max: max(a.Max, v)}
}
func (statsFn) MergeAccumulators(a, b statsAcc) statsAcc {
	return statsAcc{Sum: a.Sum + b.Sum, Count: a.Count + b.Count, Min: min(a.Min, b.Min), Max: max(a.Max, b.Max)}
}
func (statsFn) ExtractOutput(a statsAcc) string {
	if a.Count == 0 {
		return "empty"
	}
	return fmt.Sprintf("n=%d sum=%d min=%d max=%d", a.Count, a.Sum, a.Min, a.Max)
}

// collectFn collects its inputs into a sorted slice; its accumulator is a
// slice that AddInput and MergeAccumulators modify, as Beam allows.
type collectFn struct{}

func (collectFn) CreateAccumulator() []int           { return nil }
func (collectFn) AddInput(a []int, v int) []int      { return append(a, v) }
func (collectFn) MergeAccumulators(a, b []int) []int { return append(a, b...) }

func (collectFn) ExtractOutput(a []int) []int {
	out := slices.Clone(a) // the accumulator may be used again
	slices.Sort(out)
	return out
}

func statsCombine() dataflow.CombineFn[int, statsAcc, string] { return statsFn{} }

type scored struct {
	Name  string
	Score int
}

func combineCases() []Case {
	return []Case{
		{"Combine/PerKeyCustom", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", kv("a", 1), kv("b", 10), kv("a", 5), kv("a", 3), kv("b", -2))
			out := dataflow.CombinePerKey(s, "Stats", statsCombine(), in)
			passert.Equals(s, "Check", out, kv("a", "n=3 sum=9 min=1 max=5"), kv("b", "n=2 sum=8 min=-2 max=10"))
			return Expect{}
		}},
		{"Combine/PerKeyMutatingAccumulator", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", kv("a", 3), kv("b", 10), kv("a", 1), kv("a", 2))
			out := dataflow.CombinePerKey(s, "Collect", dataflow.CombineFn[int, []int, []int](collectFn{}), in)
			passert.Equals(s, "Check", out, kv("a", []int{1, 2, 3}), kv("b", []int{10}))
			return Expect{}
		}},
		{"Combine/PerKeyManyValues", func(s dataflow.Scope) Expect {
			// Enough elements on several workers that partial accumulators
			// of one key meet in the merge.
			const n, keys = 100_000, 7
			in := transforms.Map(s, "Key", func(i int64) KV[int64, int64] { return kv(i%keys, i) }, transforms.Sequence(s, "Sequence", 0, n))
			sums := transforms.SumPerKey(s, "Sum", in)
			counts := transforms.CountPerKey(s, "Count", in)
			wantSums := make([]KV[int64, int64], keys)
			wantCounts := make([]KV[int64, int64], keys)
			for k := range int64(keys) {
				wantSums[k].Key, wantCounts[k].Key = k, k
			}
			for i := range int64(n) {
				wantSums[i%keys].Value += i
				wantCounts[i%keys].Value++
			}
			passert.Equals(s, "Sums", sums, wantSums...)
			passert.Equals(s, "Counts", counts, wantCounts...)
			return Expect{}
		}},
		{"Combine/PerKeyFixedWindows", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv("a", 1), 1_000), tv(kv("a", 2), 2_000), tv(kv("a", 4), 12_000), tv(kv("b", 8), 3_000))
			out := transforms.SumPerKey(s, "Sum", in)
			passert.That(s, "Check", out).WindowedEquals(
				passert.At(kv("a", 3), w10(0).MaxTimestamp(), w10(0)),
				passert.At(kv("b", 8), w10(0).MaxTimestamp(), w10(0)),
				passert.At(kv("a", 4), w10(1).MaxTimestamp(), w10(1)),
			)
			passert.That(s, "OnlyPane", out).InOnlyPane().Count(3)
			return Expect{}
		}},
		{"Combine/GloballyEmptyGlobalWindow", func(s dataflow.Scope) Expect {
			// Beam's Combine.globally emits the CombineFn's default for an
			// empty input in the global window.
			empty := transforms.Create[int](s, "Empty")
			passert.EqualsList(s, "Sum", transforms.Sum(s, "SumAll", empty), 0)
			passert.EqualsList(s, "Count", transforms.Count(s, "CountAll", empty), int64(0))
			passert.EqualsList(s, "Custom", transforms.CombineGlobally(s, "StatsAll", statsCombine(), empty), "empty")
			passert.That(s, "Mean", transforms.Mean(s, "MeanAll", empty)).WithCmpOptions(cmpopts.EquateNaNs()).EqualsList(math.NaN())
			passert.EqualsList(s, "Top", transforms.Largest(s, "LargestAll", 2, empty), []int{})
			passert.Empty(s, "WithoutDefaults", transforms.CombineGlobally(s, "NoDefault", transforms.SumFn[int](), empty, transforms.WithoutDefaults()))
			return Expect{}
		}},
		{"Combine/GloballyEmptyFixedWindows", func(s dataflow.Scope) Expect {
			// In other windows an empty input gives no output at all.
			empty := fixed10(s, "Windowed", transforms.Create[int](s, "Empty"))
			passert.Empty(s, "Sum", transforms.Sum(s, "SumAll", empty))
			passert.Empty(s, "Count", transforms.Count(s, "CountAll", empty))
			return Expect{}
		}},
		{"Combine/GloballyFixedWindows", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(1, 1_000), tv(2, 2_000), tv(25, 25_000))
			passert.That(s, "Check", transforms.Sum(s, "Sum", in)).WindowedEquals(
				passert.At(3, w10(0).MaxTimestamp(), w10(0)),
				passert.At(25, w10(2).MaxTimestamp(), w10(2)),
			)
			return Expect{}
		}},
		{"Combine/Globally", func(s dataflow.Scope) Expect {
			in := transforms.Sequence(s, "Sequence", 1, 101)
			passert.EqualsList(s, "Sum", transforms.Sum(s, "SumAll", in), int64(5050))
			passert.EqualsList(s, "Count", transforms.Count(s, "CountAll", in), int64(100))
			passert.EqualsList(s, "Min", transforms.Min(s, "MinAll", in), int64(1))
			passert.EqualsList(s, "Max", transforms.Max(s, "MaxAll", in), int64(100))
			passert.EqualsList(s, "Mean", transforms.Mean(s, "MeanAll", in), 50.5)
			return Expect{}
		}},
		{"Combine/PerKeyStats", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", kv("a", 4), kv("a", 1), kv("b", 7), kv("a", 7))
			passert.Equals(s, "Count", transforms.CountPerKey(s, "CountPerKey", in), kv[string, int64]("a", 3), kv[string, int64]("b", 1))
			passert.Equals(s, "Sum", transforms.SumPerKey(s, "SumPerKey", in), kv("a", 12), kv("b", 7))
			passert.Equals(s, "Mean", transforms.MeanPerKey(s, "MeanPerKey", in), kv("a", 4.0), kv("b", 7.0))
			passert.Equals(s, "Min", transforms.MinPerKey(s, "MinPerKey", in), kv("a", 1), kv("b", 7))
			passert.Equals(s, "Max", transforms.MaxPerKey(s, "MaxPerKey", in), kv("a", 7), kv("b", 7))
			passert.Equals(s, "Top", transforms.LargestPerKey(s, "LargestPerKey", 2, in), kv("a", []int{7, 4}), kv("b", []int{7}))
			return Expect{}
		}},
		{"Combine/CountPerElement", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", "a", "b", "a", "c", "a")
			passert.Equals(s, "Check", transforms.CountPerElement(s, "Count", in), kv[string, int64]("a", 3), kv[string, int64]("b", 1), kv[string, int64]("c", 1))
			return Expect{}
		}},
		{"Combine/Top", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", 5, 1, 9, 3, 7)
			passert.EqualsList(s, "Largest", transforms.Largest(s, "Largest3", 3, in), []int{9, 7, 5})
			passert.EqualsList(s, "Smallest", transforms.Smallest(s, "Smallest2", 2, in), []int{1, 3})
			passert.EqualsList(s, "All", transforms.Largest(s, "Largest10", 10, in), []int{9, 7, 5, 3, 1})
			people := transforms.Create(s, "People", scored{"amy", 3}, scored{"bob", 9}, scored{"cat", 5})
			top := transforms.Top(s, "TopScore", 2, func(a, b scored) bool { return a.Score < b.Score }, people)
			passert.EqualsList(s, "Structs", top, []scored{{"bob", 9}, {"cat", 5}})
			return Expect{}
		}},
		{"Combine/Distinct", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", "a", "b", "a", "c", "b", "a")
			passert.Equals(s, "Check", transforms.Distinct(s, "Distinct", in), "a", "b", "c")
			win := createFixed10(s, "Windowed", tv("a", 1_000), tv("a", 2_000), tv("a", 11_000), tv("b", 12_000))
			passert.That(s, "PerWindow", transforms.Distinct(s, "DistinctPerWindow", win)).WindowsEqual(map[dataflow.Window][]string{
				w10(0): {"a"},
				w10(1): {"a", "b"},
			})
			return Expect{}
		}},
		{"Combine/Latest", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv("b", 2_000), tv("c", 3_000), tv("a", 1_000), tv("d", 15_000))
			passert.That(s, "Check", transforms.Latest(s, "Latest", in)).WindowsEqual(map[dataflow.Window][]string{
				w10(0): {"c"},
				w10(1): {"d"},
			})
			return Expect{}
		}},
		{"Combine/Sample", func(s dataflow.Scope) Expect {
			in := transforms.Sequence(s, "Sequence", 0, 1000)
			passert.Satisfies(s, "Check", transforms.SampleFixedSize(s, "Sample", 10, in), func(got [][]int64) error {
				if len(got) != 1 || len(got[0]) != 10 {
					return fmt.Errorf("got %v, want one sample of 10 elements", got)
				}
				seen := map[int64]bool{}
				for _, v := range got[0] {
					if v < 0 || v >= 1000 || seen[v] {
						return fmt.Errorf("sample %v has an element twice or one not in the input", got[0])
					}
					seen[v] = true
				}
				return nil
			})
			return Expect{}
		}},
		{"Combine/ApproximateQuantiles", func(s dataflow.Scope) Expect {
			// Exact for an input this small.
			in := transforms.Sequence(s, "Sequence", 0, 101)
			q := transforms.ApproximateQuantiles(s, "Quantiles", 5, func(a, b int64) bool { return a < b }, in)
			passert.EqualsList(s, "Check", q, []int64{0, 25, 50, 75, 100})
			return Expect{}
		}},
		{"Combine/ApproximateCountDistinct", func(s dataflow.Scope) Expect {
			in := transforms.Map(s, "Mod", func(v int64) int64 { return v % 5000 }, transforms.Sequence(s, "Sequence", 0, 20_000))
			passert.True(s, "Check", transforms.ApproximateCountDistinct(s, "Distinct", 14, in), func(n int64) bool {
				return n > 4800 && n < 5200 // precision 14: about 0.8% standard error
			})
			return Expect{}
		}},
		{"Combine/Sessions", func(s dataflow.Scope) Expect {
			// Merging windows: the combine cannot be lifted before the
			// sessions are known.
			in := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[KV[string, int]]{
				tv(kv("a", 1), 1_000), tv(kv("a", 2), 4_000), tv(kv("a", 4), 20_000), tv(kv("b", 8), 2_000),
			})
			sessions := dataflow.WindowInto(s, "Sessions", dataflow.Sessions(5*time.Second), in)
			passert.That(s, "Check", transforms.SumPerKey(s, "Sum", sessions)).WindowedEquals(
				passert.At(kv("a", 3), ms(8_999), win(1_000, 9_000)),
				passert.At(kv("a", 4), ms(24_999), win(20_000, 25_000)),
				passert.At(kv("b", 8), ms(6_999), win(2_000, 7_000)),
			)
			return Expect{}
		}},
	}
}
