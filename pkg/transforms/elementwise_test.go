package transforms_test

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

func TestCreate(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		out := collect(s, "Out", transforms.Create(s, "Create", "a", "b", "c"))
		empty := collect(s, "Empty", transforms.Create[string](s, "CreateNothing"))
		return func(t *testing.T) {
			want := []dataflow.Elem[string]{
				{Value: "a", Time: dataflow.MinTime, Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane},
				{Value: "b", Time: dataflow.MinTime, Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane},
				{Value: "c", Time: dataflow.MinTime, Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane},
			}
			if d := cmp.Diff(want, out.Elems(), sorted(func(a, b dataflow.Elem[string]) bool { return a.Value < b.Value })); d != "" {
				t.Errorf("Create (-want +got):\n%s", d)
			}
			if got := empty.Elems(); len(got) != 0 {
				t.Errorf("empty Create gave %v", got)
			}
		}
	})
}

func TestCreateCopiesValues(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	vs := []int{1, 2, 3}
	out := collect(s, "Out", transforms.Create(s, "Create", vs...))
	vs[0] = 100 // after the build: must not change the pipeline
	if err := execute(p, direct.Options{}); err != nil {
		t.Fatal(err)
	}
	if d := diffUnordered([]int{1, 2, 3}, out.Values()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestCreateTimestampedFixedWindows(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		pc := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[string]{
			{Value: "a", Time: at(1)}, {Value: "b", Time: at(9)}, {Value: "c", Time: at(10)},
		})
		raw := collect(s, "Raw", pc)
		win10 := transforms.WindowInto(s, "Window", dataflow.Fixed(10*time.Millisecond), pc)
		out := collect(s, "Out", win10)
		return func(t *testing.T) {
			for _, e := range raw.Elems() {
				if !e.Window.IsGlobal() {
					t.Errorf("CreateTimestamped element %v not in the global window", e)
				}
			}
			want := []dataflow.Elem[string]{
				{Value: "a", Time: at(1), Window: win(0, 10), Pane: dataflow.NoFiringPane},
				{Value: "b", Time: at(9), Window: win(0, 10), Pane: dataflow.NoFiringPane},
				{Value: "c", Time: at(10), Window: win(10, 20), Pane: dataflow.NoFiringPane},
			}
			if d := cmp.Diff(want, out.Elems(), sorted(func(a, b dataflow.Elem[string]) bool { return a.Value < b.Value })); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
}

func TestCreateTimestampedOutOfRange(t *testing.T) {
	err := buildErr(t, func(s dataflow.Scope) {
		transforms.CreateTimestamped(s, "Bad", []transforms.Timestamped[int]{{Value: 1, Time: dataflow.MaxTime + 1}})
	})
	if !strings.Contains(err.Error(), `"Bad"`) {
		t.Errorf("error %q does not name the transform", err)
	}
}

func TestSequence(t *testing.T) {
	// Sizes around the batch size, read by 1 and by many workers.
	for _, n := range []int64{0, 1, dataflow.BatchSize - 1, dataflow.BatchSize, dataflow.BatchSize + 1, 1023, 1024, 1025, 100_000} {
		for _, par := range []int{1, 7} {
			t.Run(fmt.Sprintf("n=%d/workers=%d", n, par), func(t *testing.T) {
				p := dataflow.NewPipeline()
				s := p.Root()
				start := int64(-5)
				out := collect(s, "Out", transforms.Sequence(s, "Seq", start, start+n))
				if err := execute(p, direct.Options{Parallelism: par}); err != nil {
					t.Fatal(err)
				}
				elems := out.Elems()
				got := make([]int64, len(elems))
				for i, e := range elems {
					got[i] = e.Value
					if e.Time != dataflow.MinTime || !e.Window.IsGlobal() {
						t.Fatalf("element %v: want MinTime in the global window", e)
					}
				}
				slices.Sort(got)
				want := make([]int64, n)
				for i := range want {
					want[i] = start + int64(i)
				}
				if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			})
		}
	}
}

func TestSequenceInvalid(t *testing.T) {
	buildErr(t, func(s dataflow.Scope) { transforms.Sequence(s, "Seq", 10, 5) })
}

func TestElementwise(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		nums := transforms.Create(s, "Nums", 1, 2, 3, 4, 5, 6)
		doubled := collect(s, "DoubledOut", transforms.Map(s, "Double", func(v int) int { return 2 * v }, nums))
		strs := collect(s, "StrOut", transforms.MapErr(s, "Str", func(v int) (string, error) { return strconv.Itoa(v), nil }, nums))
		flat := collect(s, "FlatOut", transforms.FlatMap(s, "Repeat", func(v int, emit func(int)) {
			for range v % 3 {
				emit(v)
			}
		}, nums))
		even := collect(s, "EvenOut", transforms.Filter(s, "Even", func(v int) bool { return v%2 == 0 }, nums))
		keyed := transforms.KeyBy(s, "KeyBy", func(v int) string { return map[bool]string{true: "even", false: "odd"}[v%2 == 0] }, nums)
		keyedOut := collect(s, "KeyedOut", keyed)
		keys := collect(s, "KeysOut", transforms.Keys(s, "Keys", keyed))
		values := collect(s, "ValuesOut", transforms.Values(s, "Values", keyed))
		swapped := collect(s, "SwappedOut", transforms.SwapKV(s, "Swap", keyed))
		return func(t *testing.T) {
			if d := diffUnordered([]int{2, 4, 6, 8, 10, 12}, doubled.Values()); d != "" {
				t.Errorf("Map (-want +got):\n%s", d)
			}
			if d := diffUnordered([]string{"1", "2", "3", "4", "5", "6"}, strs.Values()); d != "" {
				t.Errorf("MapErr (-want +got):\n%s", d)
			}
			if d := diffUnordered([]int{1, 2, 2, 4, 5, 5}, flat.Values()); d != "" {
				t.Errorf("FlatMap (-want +got):\n%s", d)
			}
			if d := diffUnordered([]int{2, 4, 6}, even.Values()); d != "" {
				t.Errorf("Filter (-want +got):\n%s", d)
			}
			wantKeyed := []transforms.KV[string, int]{kv("odd", 1), kv("even", 2), kv("odd", 3), kv("even", 4), kv("odd", 5), kv("even", 6)}
			if d := cmp.Diff(wantKeyed, keyedOut.Values(), sorted(kvLess[string, int])); d != "" {
				t.Errorf("KeyBy (-want +got):\n%s", d)
			}
			if d := diffUnordered([]string{"odd", "even", "odd", "even", "odd", "even"}, keys.Values()); d != "" {
				t.Errorf("Keys (-want +got):\n%s", d)
			}
			if d := diffUnordered([]int{1, 2, 3, 4, 5, 6}, values.Values()); d != "" {
				t.Errorf("Values (-want +got):\n%s", d)
			}
			wantSwapped := []transforms.KV[int, string]{kv(1, "odd"), kv(2, "even"), kv(3, "odd"), kv(4, "even"), kv(5, "odd"), kv(6, "even")}
			if d := cmp.Diff(wantSwapped, swapped.Values(), sorted(kvLess[int, string])); d != "" {
				t.Errorf("SwapKV (-want +got):\n%s", d)
			}
		}
	})
}

func TestFlatMapManyOutputs(t *testing.T) {
	// More outputs than a batch holds, from several inputs.
	p := dataflow.NewPipeline()
	s := p.Root()
	out := collect(s, "Out", transforms.FlatMap(s, "Explode", func(n int, emit func(int)) {
		for i := range n {
			emit(i)
		}
	}, transforms.Create(s, "Create", 3000, 1025)))
	if err := execute(p, direct.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := len(out.Values()); got != 4025 {
		t.Errorf("got %d outputs, want 4025", got)
	}
}

var errOdd = errors.New("odd input")

func TestMapErrFails(t *testing.T) {
	err := runErr(t, func(s dataflow.Scope) {
		out := transforms.MapErr(s, "Check", func(v int) (int, error) {
			if v%2 == 1 {
				return 0, errOdd
			}
			return v, nil
		}, transforms.Create(s, "Create", 2, 3))
		collect(s, "Out", out)
	})
	var ee *dataflow.ElementError
	if !errors.As(err, &ee) || !errors.Is(err, errOdd) || ee.Transform != "Check" {
		t.Errorf("error %v: want an ElementError of transform Check wrapping %v", err, errOdd)
	}
}

func TestFlatMapErrFails(t *testing.T) {
	err := runErr(t, func(s dataflow.Scope) {
		out := transforms.FlatMapErr(s, "Check", func(v int, emit func(int)) error {
			emit(v)
			return errOdd
		}, transforms.Create(s, "Create", 1))
		collect(s, "Out", out)
	})
	if !errors.Is(err, errOdd) {
		t.Errorf("error %v does not wrap %v", err, errOdd)
	}
}

func TestWithTimestamps(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		nums := transforms.Create(s, "Nums", int64(5), 15, 25)
		stamped := transforms.WithTimestamps(s, "Stamp", func(v int64) dataflow.EventTime { return at(v) }, nums)
		reified := collect(s, "ReifiedOut", transforms.ReifyTimestamps(s, "Reify", stamped))
		win10 := transforms.WindowInto(s, "Window", dataflow.Fixed(10*time.Millisecond), stamped)
		counts := collect(s, "CountOut", transforms.Count(s, "Count", win10))
		return func(t *testing.T) {
			want := []transforms.Timestamped[int64]{ts(int64(5), 5), ts(int64(15), 15), ts(int64(25), 25)}
			if d := cmp.Diff(want, reified.Values(), sorted(func(a, b transforms.Timestamped[int64]) bool { return a.Value < b.Value })); d != "" {
				t.Errorf("ReifyTimestamps (-want +got):\n%s", d)
			}
			wantCounts := []windowed[int64]{{1, win(0, 10)}, {1, win(10, 20)}, {1, win(20, 30)}}
			if d := cmp.Diff(wantCounts, windowedValues(counts), sorted(func(a, b windowed[int64]) bool { return a.Window.Start < b.Window.Start })); d != "" {
				t.Errorf("Count per window (-want +got):\n%s", d)
			}
		}
	})
}

func TestWithTimestampsSkew(t *testing.T) {
	back := func(v int64) dataflow.EventTime { return at(v - 5) }
	build := func(opts ...transforms.TimestampOption) func(s dataflow.Scope) func(*testing.T) {
		return func(s dataflow.Scope) func(*testing.T) {
			nums := transforms.WithTimestamps(s, "Stamp", func(v int64) dataflow.EventTime { return at(v) }, transforms.Create(s, "Nums", int64(100)))
			out := collect(s, "Out", transforms.ReifyTimestamps(s, "Reify", transforms.WithTimestamps(s, "Back", back, nums, opts...)))
			return func(t *testing.T) {
				if d := cmp.Diff([]transforms.Timestamped[int64]{ts(int64(100), 95)}, out.Values()); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			}
		}
	}
	// Moving back 5ms needs an allowed skew of at least 5ms.
	runModes(t, build(transforms.AllowedTimestampSkew(5*time.Millisecond)))
	err := runErr(t, func(s dataflow.Scope) { build()(s) })
	if !strings.Contains(err.Error(), "Back") {
		t.Errorf("error %v does not name the transform", err)
	}
}

func TestPartition(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		parts := transforms.Partition(s, "Mod3", 3, func(v int) int { return v % 3 }, transforms.Create(s, "Nums", 0, 1, 2, 3, 4, 5, 6, 7))
		outs := make([]*collected[int], len(parts))
		for i, p := range parts {
			outs[i] = collect(s, fmt.Sprintf("Out%d", i), p)
		}
		return func(t *testing.T) {
			want := [][]int{{0, 3, 6}, {1, 4, 7}, {2, 5}}
			for i := range want {
				if d := diffUnordered(want[i], outs[i].Values()); d != "" {
					t.Errorf("partition %d (-want +got):\n%s", i, d)
				}
			}
		}
	})
}

func TestPartitionOne(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		parts := transforms.Partition(s, "One", 1, func(int) int { return 0 }, transforms.Create(s, "Nums", 1, 2))
		out := collect(s, "Out", parts[0])
		return func(t *testing.T) {
			if d := diffUnordered([]int{1, 2}, out.Values()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
}

func TestPartitionOutOfRange(t *testing.T) {
	err := runErr(t, func(s dataflow.Scope) {
		parts := transforms.Partition(s, "Split", 2, func(v int) int { return v }, transforms.Create(s, "Nums", 0, 1, 2))
		collect(s, "Out0", parts[0])
		collect(s, "Out1", parts[1])
	})
	var ee *dataflow.ElementError
	if !errors.As(err, &ee) || ee.Transform != "Split" || !strings.Contains(err.Error(), "returned 2") {
		t.Errorf("error %v: want an ElementError of Split about index 2", err)
	}
}

func TestPartitionInvalid(t *testing.T) {
	buildErr(t, func(s dataflow.Scope) {
		if parts := transforms.Partition(s, "Zero", 0, func(int) int { return 0 }, transforms.Create(s, "Nums", 1)); parts != nil {
			t.Errorf("Partition into 0 gave %d collections", len(parts))
		}
	})
	buildErr(t, func(s dataflow.Scope) {
		if parts := transforms.Partition[int](s, "NilFn", 2, nil, transforms.Create(s, "Nums", 1)); len(parts) != 2 {
			t.Errorf("Partition with a nil fn gave %d collections, want 2 invalid ones", len(parts))
		}
	})
}
