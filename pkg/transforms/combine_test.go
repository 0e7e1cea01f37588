package transforms_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// joinFn joins strings in order; its default (no input) is "<none>".
type joinFn struct{}

func (joinFn) CreateAccumulator() []string              { return nil }
func (joinFn) AddInput(a []string, v string) []string   { return append(a, v) }
func (joinFn) MergeAccumulators(a, b []string) []string { return append(a, b...) }
func (joinFn) ExtractOutput(a []string) string {
	if len(a) == 0 {
		return "<none>"
	}
	a = slices.Clone(a)
	slices.Sort(a)
	return strings.Join(a, ",")
}

func TestCombineGlobally(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		words := transforms.Create(s, "Words", "b", "c", "a")
		out := collect(s, "Out", transforms.CombineGlobally(s, "Join", joinFn{}, words))
		return func(t *testing.T) {
			elems := out.Elems()
			if len(elems) != 1 || elems[0].Value != "a,b,c" || !elems[0].Window.IsGlobal() {
				t.Errorf("got %v, want one a,b,c in the global window", elems)
			}
		}
	})
}

func TestCombineGloballyEmptyGlobalWindow(t *testing.T) {
	// Beam's Combine.globally emits the default for an empty input in the global window.
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		empty := transforms.Create[string](s, "Empty")
		def := collect(s, "Default", transforms.CombineGlobally(s, "Join", joinFn{}, empty))
		none := collect(s, "None", transforms.CombineGlobally(s, "JoinNoDefault", joinFn{}, empty, transforms.WithoutDefaults()))
		count := collect(s, "Count", transforms.Count(s, "CountEmpty", empty))
		return func(t *testing.T) {
			elems := def.Elems()
			if len(elems) != 1 || elems[0].Value != "<none>" || !elems[0].Window.IsGlobal() {
				t.Errorf("got %v, want the default <none> in the global window", elems)
			}
			if got := none.Values(); len(got) != 0 {
				t.Errorf("WithoutDefaults gave %v", got)
			}
			if d := cmp.Diff([]int64{0}, count.Values()); d != "" {
				t.Errorf("Count of nothing (-want +got):\n%s", d)
			}
		}
	})
}

func TestCombineGloballyFixedWindows(t *testing.T) {
	// Windows with input emit one value each; empty windows emit nothing, and
	// an empty input emits nothing at all.
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		fixed := dataflow.Fixed(10 * time.Millisecond)
		words := transforms.WindowInto(s, "Window", fixed, transforms.CreateTimestamped(s, "Words", []transforms.Timestamped[string]{
			ts("a", 1), ts("b", 2), ts("c", 12), ts("d", 35),
		}))
		out := collect(s, "Out", transforms.CombineGlobally(s, "Join", joinFn{}, words))
		empty := transforms.WindowInto(s, "WindowEmpty", fixed, transforms.Create[string](s, "Empty"))
		none := collect(s, "None", transforms.CombineGlobally(s, "JoinEmpty", joinFn{}, empty))
		counts := collect(s, "Counts", transforms.Count(s, "CountEmpty", empty))
		return func(t *testing.T) {
			want := []windowed[string]{{"a,b", win(0, 10)}, {"c", win(10, 20)}, {"d", win(30, 40)}}
			if d := cmp.Diff(want, windowedValues(out), sorted(func(a, b windowed[string]) bool { return a.Value < b.Value })); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			for _, e := range out.Elems() {
				if e.Time != e.Window.MaxTimestamp() {
					t.Errorf("%v: want the end of its window as timestamp", e)
				}
			}
			if got := none.Values(); len(got) != 0 {
				t.Errorf("empty windowed input gave %v", got)
			}
			if got := counts.Values(); len(got) != 0 {
				t.Errorf("empty windowed Count gave %v", got)
			}
		}
	})
}

func TestCombineGloballySlidingWindows(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		nums := transforms.WindowInto(s, "Window", dataflow.Sliding(10*time.Millisecond, 5*time.Millisecond),
			transforms.CreateTimestamped(s, "Nums", []transforms.Timestamped[int]{ts(1, 1), ts(2, 7), ts(4, 12)}))
		out := collect(s, "Out", transforms.Sum(s, "Sum", nums))
		return func(t *testing.T) {
			want := []windowed[int]{{1, win(-5, 5)}, {3, win(0, 10)}, {6, win(5, 15)}, {4, win(10, 20)}}
			if d := cmp.Diff(want, windowedValues(out), sorted(func(a, b windowed[int]) bool { return a.Window.Start < b.Window.Start })); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
}

func TestCombineGloballyLarge(t *testing.T) {
	// Enough input for several workers' partial accumulators.
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		seq := transforms.Sequence(s, "Seq", 1, 100_001)
		sum := collect(s, "Sum", transforms.Sum(s, "SumAll", seq))
		count := collect(s, "Count", transforms.Count(s, "CountAll", seq))
		return func(t *testing.T) {
			if d := cmp.Diff([]int64{100_000 * 100_001 / 2}, sum.Values()); d != "" {
				t.Errorf("Sum (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]int64{100_000}, count.Values()); d != "" {
				t.Errorf("Count (-want +got):\n%s", d)
			}
		}
	})
}

func TestReduce(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		concat := func(a, b string) string {
			if a > b { // commutative: order the operands
				a, b = b, a
			}
			return a + b
		}
		perKey := collect(s, "PerKey", transforms.ReducePerKey(s, "ReduceKeys", concat,
			transforms.Create(s, "KVs", kv("x", "a"), kv("y", "b"), kv("x", "c"))))
		global := collect(s, "Global", transforms.ReduceGlobally(s, "ReduceAll", func(a, b int) int { return a * b },
			transforms.Create(s, "Nums", 1, 2, 3, 4)))
		empty := collect(s, "Empty", transforms.ReduceGlobally(s, "ReduceNothing", func(a, b int) int { return a * b },
			transforms.Create[int](s, "Nothing")))
		return func(t *testing.T) {
			if d := cmp.Diff([]transforms.KV[string, string]{kv("x", "ac"), kv("y", "b")}, perKey.Values(), sorted(kvLess[string, string])); d != "" {
				t.Errorf("ReducePerKey (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]int{24}, global.Values()); d != "" {
				t.Errorf("ReduceGlobally (-want +got):\n%s", d)
			}
			if got := empty.Values(); len(got) != 0 {
				t.Errorf("ReduceGlobally of nothing gave %v, want nothing", got)
			}
		}
	})
}

func TestCount(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		words := transforms.Create(s, "Words", "a", "b", "a", "c", "a")
		global := collect(s, "Global", transforms.Count(s, "Count", words))
		perElem := collect(s, "PerElement", transforms.CountPerElement(s, "CountPerElement", words))
		keyed := transforms.Create(s, "KVs", kv("x", 1.5), kv("x", 2.5), kv("y", 0.0))
		perKey := collect(s, "PerKey", transforms.CountPerKey(s, "CountPerKey", keyed))
		return func(t *testing.T) {
			if d := cmp.Diff([]int64{5}, global.Values()); d != "" {
				t.Errorf("Count (-want +got):\n%s", d)
			}
			want := []transforms.KV[string, int64]{kv("a", int64(3)), kv("b", int64(1)), kv("c", int64(1))}
			if d := cmp.Diff(want, perElem.Values(), sorted(kvLess[string, int64])); d != "" {
				t.Errorf("CountPerElement (-want +got):\n%s", d)
			}
			want = []transforms.KV[string, int64]{kv("x", int64(2)), kv("y", int64(1))}
			if d := cmp.Diff(want, perKey.Values(), sorted(kvLess[string, int64])); d != "" {
				t.Errorf("CountPerKey (-want +got):\n%s", d)
			}
		}
	})
}

func TestSumMean(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		ints := transforms.Create(s, "Ints", 1, 2, 3, 4)
		floats := transforms.Create(s, "Floats", 0.5, 1.5)
		keyed := transforms.Create(s, "KVs", kv("x", uint8(200)), kv("x", uint8(100)), kv("y", uint8(7)))
		sumInts := collect(s, "SumInts", transforms.Sum(s, "SumI", ints))
		sumFloats := collect(s, "SumFloats", transforms.Sum(s, "SumF", floats))
		sumKeys := collect(s, "SumKeys", transforms.SumPerKey(s, "SumK", keyed))
		meanInts := collect(s, "MeanInts", transforms.Mean(s, "MeanI", ints))
		meanKeys := collect(s, "MeanKeys", transforms.MeanPerKey(s, "MeanK", keyed))
		empty := transforms.Create[float64](s, "Empty")
		sumEmpty := collect(s, "SumEmpty", transforms.Sum(s, "SumE", empty))
		meanEmpty := collect(s, "MeanEmpty", transforms.Mean(s, "MeanE", empty))
		return func(t *testing.T) {
			if d := cmp.Diff([]int{10}, sumInts.Values()); d != "" {
				t.Errorf("Sum ints (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]float64{2}, sumFloats.Values()); d != "" {
				t.Errorf("Sum floats (-want +got):\n%s", d)
			}
			// uint8 sums wrap, as Go's do.
			if d := cmp.Diff([]transforms.KV[string, uint8]{kv("x", uint8(44)), kv("y", uint8(7))}, sumKeys.Values(),
				sorted(func(a, b transforms.KV[string, uint8]) bool { return a.Key < b.Key })); d != "" {
				t.Errorf("SumPerKey (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]float64{2.5}, meanInts.Values()); d != "" {
				t.Errorf("Mean (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]transforms.KV[string, float64]{kv("x", 150.0), kv("y", 7.0)}, meanKeys.Values(), sorted(kvLess[string, float64])); d != "" {
				t.Errorf("MeanPerKey (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]float64{0}, sumEmpty.Values()); d != "" {
				t.Errorf("Sum of nothing (-want +got):\n%s", d)
			}
			if got := meanEmpty.Values(); len(got) != 1 || !math.IsNaN(got[0]) {
				t.Errorf("Mean of nothing = %v, want [NaN] (as Beam)", got)
			}
		}
	})
}

func TestMinMax(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		nums := transforms.Create(s, "Nums", 3, -1, 7, 2)
		keyed := transforms.Create(s, "KVs", kv("x", "b"), kv("x", "a"), kv("y", "z"))
		empty := transforms.Create[int](s, "Empty")
		minAll := collect(s, "MinAll", transforms.Min(s, "Min", nums))
		maxAll := collect(s, "MaxAll", transforms.Max(s, "Max", nums))
		minKeys := collect(s, "MinKeys", transforms.MinPerKey(s, "MinK", keyed))
		maxKeys := collect(s, "MaxKeys", transforms.MaxPerKey(s, "MaxK", keyed))
		minEmpty := collect(s, "MinEmpty", transforms.Min(s, "MinE", empty))
		maxEmpty := collect(s, "MaxEmpty", transforms.Max(s, "MaxE", empty))
		return func(t *testing.T) {
			if d := cmp.Diff([]int{-1}, minAll.Values()); d != "" {
				t.Errorf("Min (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]int{7}, maxAll.Values()); d != "" {
				t.Errorf("Max (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]transforms.KV[string, string]{kv("x", "a"), kv("y", "z")}, minKeys.Values(), sorted(kvLess[string, string])); d != "" {
				t.Errorf("MinPerKey (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]transforms.KV[string, string]{kv("x", "b"), kv("y", "z")}, maxKeys.Values(), sorted(kvLess[string, string])); d != "" {
				t.Errorf("MaxPerKey (-want +got):\n%s", d)
			}
			if got := append(minEmpty.Values(), maxEmpty.Values()...); len(got) != 0 {
				t.Errorf("Min/Max of nothing gave %v, want nothing", got)
			}
		}
	})
}

func TestTop(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		nums := transforms.Create(s, "Nums", 5, 1, 9, 3, 7, 9)
		keyed := transforms.Create(s, "KVs", kv("x", 1), kv("x", 4), kv("x", 2), kv("y", 8))
		byLen := transforms.Create(s, "Words", "ccc", "a", "bb", "dddd")
		largest := collect(s, "Largest", transforms.Largest(s, "Top3", 3, nums))
		smallest := collect(s, "Smallest", transforms.Smallest(s, "Bottom2", 2, nums))
		all := collect(s, "All", transforms.Largest(s, "Top10", 10, nums))
		zero := collect(s, "Zero", transforms.Largest(s, "Top0", 0, nums))
		longest := collect(s, "Longest", transforms.Top(s, "Longest2", 2, func(a, b string) bool { return len(a) < len(b) }, byLen))
		largestKeys := collect(s, "LargestKeys", transforms.LargestPerKey(s, "TopK", 2, keyed))
		smallestKeys := collect(s, "SmallestKeys", transforms.SmallestPerKey(s, "BottomK", 2, keyed))
		empty := collect(s, "Empty", transforms.Largest(s, "TopNothing", 2, transforms.Create[int](s, "Nothing")))
		return func(t *testing.T) {
			check := func(what string, want, got any) {
				t.Helper()
				if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("%s (-want +got):\n%s", what, d)
				}
			}
			check("Largest", [][]int{{9, 9, 7}}, largest.Values())
			check("Smallest", [][]int{{1, 3}}, smallest.Values())
			check("Largest(10)", [][]int{{9, 9, 7, 5, 3, 1}}, all.Values())
			check("Largest(0)", [][]int{{}}, zero.Values())
			check("Top by length", [][]string{{"dddd", "ccc"}}, longest.Values())
			check("Top of nothing", [][]int{{}}, empty.Values())
			less := func(a, b transforms.KV[string, []int]) bool { return a.Key < b.Key }
			if d := cmp.Diff([]transforms.KV[string, []int]{kv("x", []int{4, 2}), kv("y", []int{8})}, largestKeys.Values(), sorted(less)); d != "" {
				t.Errorf("LargestPerKey (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]transforms.KV[string, []int]{kv("x", []int{1, 2}), kv("y", []int{8})}, smallestKeys.Values(), sorted(less)); d != "" {
				t.Errorf("SmallestPerKey (-want +got):\n%s", d)
			}
		}
	})
}

func TestTopManyInputs(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		seq := transforms.Sequence(s, "Seq", 0, 50_000)
		out := collect(s, "Out", transforms.Largest(s, "Top5", 5, seq))
		return func(t *testing.T) {
			if d := cmp.Diff([][]int64{{49_999, 49_998, 49_997, 49_996, 49_995}}, out.Values()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
}

func TestDistinct(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		words := transforms.Create(s, "Words", "a", "b", "a", "c", "b", "a")
		out := collect(s, "Out", transforms.Distinct(s, "Distinct", words))
		windowedIn := transforms.WindowInto(s, "Window", dataflow.Fixed(10*time.Millisecond), transforms.CreateTimestamped(s, "Stamped",
			[]transforms.Timestamped[string]{ts("a", 1), ts("a", 2), ts("a", 11)}))
		perWindow := collect(s, "PerWindow", transforms.Distinct(s, "DistinctWindowed", windowedIn))
		return func(t *testing.T) {
			if d := diffUnordered([]string{"a", "b", "c"}, out.Values()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			want := []windowed[string]{{"a", win(0, 10)}, {"a", win(10, 20)}}
			if d := cmp.Diff(want, windowedValues(perWindow), sorted(func(a, b windowed[string]) bool { return a.Window.Start < b.Window.Start })); d != "" {
				t.Errorf("per window (-want +got):\n%s", d)
			}
		}
	})
}

func TestDistinctNonDeterministicKey(t *testing.T) {
	err := buildErr(t, func(s dataflow.Scope) {
		transforms.Distinct(s, "Floats", transforms.Create(s, "Nums", 1.5))
	})
	if !strings.Contains(err.Error(), "Floats") {
		t.Errorf("error %v does not name the transform", err)
	}
}

func TestSampleFixedSize(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		seq := transforms.Sequence(s, "Seq", 0, 10_000)
		sample := collect(s, "Sample", transforms.SampleFixedSize(s, "Sample5", 5, seq))
		small := collect(s, "Small", transforms.SampleFixedSize(s, "SampleAll", 10, transforms.Create(s, "Three", 1, 2, 3)))
		keyed := transforms.KeyBy(s, "Mod", func(v int64) int64 { return v % 3 }, seq)
		perKey := collect(s, "PerKey", transforms.SampleFixedSizePerKey(s, "SamplePerKey", 4, keyed))
		empty := collect(s, "Empty", transforms.SampleFixedSize(s, "SampleNothing", 3, transforms.Create[int](s, "Nothing")))
		return func(t *testing.T) {
			got := sample.Values()
			if len(got) != 1 || len(got[0]) != 5 {
				t.Fatalf("got %v, want one sample of 5", got)
			}
			if vs := slices.Compact(slices.Sorted(slices.Values(got[0]))); len(vs) != 5 || vs[0] < 0 || vs[4] >= 10_000 {
				t.Errorf("sample %v: want 5 distinct inputs", got[0])
			}
			if d := cmp.Diff([][]int{{1, 2, 3}}, small.Values(), cmpopts.SortSlices(func(a, b int) bool { return a < b })); d != "" {
				t.Errorf("sample of fewer than n (-want +got):\n%s", d)
			}
			if kvs := perKey.Values(); len(kvs) != 3 {
				t.Errorf("per key: got %d keys, want 3", len(kvs))
			}
			for _, kv := range perKey.Values() {
				if len(kv.Value) != 4 {
					t.Errorf("key %d: sample %v, want 4 values", kv.Key, kv.Value)
				}
				for _, v := range kv.Value {
					if v%3 != kv.Key {
						t.Errorf("key %d: sampled %d of another key", kv.Key, v)
					}
				}
			}
			if d := cmp.Diff([][]int{{}}, empty.Values(), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("sample of nothing (-want +got):\n%s", d)
			}
		}
	})
}

func TestSampleIsUniform(t *testing.T) {
	// Each of 10 inputs should land in a sample of 1 about a tenth of the time.
	const runs = 2000
	p := dataflow.NewPipeline()
	s := p.Root()
	keyed := transforms.FlatMap(s, "Runs", func(v int, emit func(transforms.KV[int, int])) {
		for r := range runs {
			emit(kv(r, v))
		}
	}, transforms.Create(s, "Ten", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9))
	out := collect(s, "Out", transforms.SampleFixedSizePerKey(s, "Sample", 1, keyed))
	if err := execute(p, modes[0].opts); err != nil {
		t.Fatal(err)
	}
	var hits [10]int
	for _, kv := range out.Values() {
		hits[kv.Value[0]]++
	}
	// Binomial(2000, 0.1): mean 200, standard deviation about 13.4; allow 5 of them.
	for v, n := range hits {
		if n < 133 || n > 267 {
			t.Errorf("input %d sampled %d times of %d, want about %d: %v", v, n, runs, runs/10, hits)
		}
	}
}

func TestLatest(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		stamped := transforms.CreateTimestamped(s, "Stamped", []transforms.Timestamped[string]{
			ts("old", 5), ts("newest", 30), ts("mid", 12),
		})
		global := collect(s, "Global", transforms.Latest(s, "Latest", stamped))
		keyed := transforms.CreateTimestamped(s, "KeyedStamped", []transforms.Timestamped[transforms.KV[string, int]]{
			ts(kv("x", 1), 10), ts(kv("x", 2), 20), ts(kv("y", 3), 15), ts(kv("y", 4), 5),
		})
		perKey := collect(s, "PerKey", transforms.LatestPerKey(s, "LatestPerKey", keyed))
		windowedIn := transforms.WindowInto(s, "Window", dataflow.Fixed(10*time.Millisecond), stamped)
		perWindow := collect(s, "PerWindow", transforms.Latest(s, "LatestWindowed", windowedIn))
		empty := collect(s, "Empty", transforms.Latest(s, "LatestNothing", transforms.Create[string](s, "Nothing")))
		return func(t *testing.T) {
			if d := cmp.Diff([]string{"newest"}, global.Values()); d != "" {
				t.Errorf("Latest (-want +got):\n%s", d)
			}
			if d := cmp.Diff([]transforms.KV[string, int]{kv("x", 2), kv("y", 3)}, perKey.Values(), sorted(kvLess[string, int])); d != "" {
				t.Errorf("LatestPerKey (-want +got):\n%s", d)
			}
			want := []windowed[string]{{"old", win(0, 10)}, {"mid", win(10, 20)}, {"newest", win(30, 40)}}
			if d := cmp.Diff(want, windowedValues(perWindow), sorted(func(a, b windowed[string]) bool { return a.Window.Start < b.Window.Start })); d != "" {
				t.Errorf("per window (-want +got):\n%s", d)
			}
			if got := empty.Values(); len(got) != 0 {
				t.Errorf("Latest of nothing gave %v", got)
			}
		}
	})
}

func TestBuildErrors(t *testing.T) {
	less := func(a, b int) bool { return a < b }
	for name, build := range map[string]func(s dataflow.Scope, in dataflow.PCollection[int]){
		"Top":        func(s dataflow.Scope, in dataflow.PCollection[int]) { transforms.Top(s, "X", -1, less, in) },
		"TopNilLess": func(s dataflow.Scope, in dataflow.PCollection[int]) { transforms.Top(s, "X", 1, nil, in) },
		"Sample":     func(s dataflow.Scope, in dataflow.PCollection[int]) { transforms.SampleFixedSize(s, "X", -1, in) },
		"Quantiles": func(s dataflow.Scope, in dataflow.PCollection[int]) {
			transforms.ApproximateQuantiles(s, "X", 1, less, in)
		},
		"QuantilesBuffer": func(s dataflow.Scope, in dataflow.PCollection[int]) {
			transforms.ApproximateQuantiles(s, "X", 3, less, in, transforms.QuantilesBufferSize(1))
		},
		"CountDistinctPrecision": func(s dataflow.Scope, in dataflow.PCollection[int]) {
			transforms.ApproximateCountDistinct(s, "X", 30, in)
		},
		"CountDistinctFloat": func(s dataflow.Scope, in dataflow.PCollection[int]) {
			transforms.ApproximateCountDistinct(s, "X", 12, transforms.Map(s, "F", func(v int) float64 { return float64(v) }, in))
		},
		"Map": func(s dataflow.Scope, in dataflow.PCollection[int]) { transforms.Map[int, int](s, "X", nil, in) },
		"CombineGlobally": func(s dataflow.Scope, in dataflow.PCollection[int]) {
			transforms.CombineGlobally[int, int, int](s, "X", nil, in)
		},
		"ReduceGlobally": func(s dataflow.Scope, in dataflow.PCollection[int]) { transforms.ReduceGlobally(s, "X", nil, in) },
		"WithTimestampsNegSkew": func(s dataflow.Scope, in dataflow.PCollection[int]) {
			transforms.WithTimestamps(s, "X", func(int) dataflow.EventTime { return 0 }, in, transforms.AllowedTimestampSkew(-time.Second))
		},
		"InvalidInputPropagates": func(s dataflow.Scope, _ dataflow.PCollection[int]) {
			transforms.Count(s, "X", dataflow.PCollection[int]{})
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := buildErr(t, func(s dataflow.Scope) { build(s, transforms.Create(s, "In", 1, 2)) })
			if !strings.Contains(err.Error(), `"X`) {
				t.Errorf("error %v does not name the transform X", err)
			}
		})
	}
}
