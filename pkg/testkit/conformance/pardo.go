package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
)

func parDoCases() []Case {
	return []Case{
		{"ParDo/Map", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", 1, 2, 3, 4, 5)
			passert.Equals(s, "Check", transforms.Map(s, "Times10", func(v int) int { return v * 10 }, in), 10, 20, 30, 40, 50)
			return Expect{}
		}},
		{"ParDo/FlatMap", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", "a b c", "", "d")
			words := transforms.FlatMap(s, "Split", func(line string, emit func(string)) {
				for _, w := range strings.Fields(line) {
					emit(w)
				}
			}, in)
			passert.Equals(s, "Check", words, "a", "b", "c", "d")
			return Expect{}
		}},
		{"ParDo/Filter", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
			passert.Equals(s, "Check", transforms.Filter(s, "Even", func(v int) bool { return v%2 == 0 }, in), 2, 4, 6, 8, 10)
			return Expect{}
		}},
		{"ParDo/ManyElements", func(s dataflow.Scope) Expect {
			// More elements than one batch, from a splittable source.
			const n = 10_000
			in := transforms.Sequence(s, "Sequence", 0, n)
			sq := transforms.Map(s, "Double", func(v int64) int64 { return 2 * v }, in)
			want := make([]int64, n)
			for i := range want {
				want[i] = 2 * int64(i)
			}
			passert.Equals(s, "Check", sq, want...)
			return Expect{}
		}},
		{"ParDo/MultipleOutputs", func(s dataflow.Scope) Expect {
			odd := dataflow.NewOutput[int]("odd")
			text := dataflow.NewOutput[string]("text")
			in := transforms.Create(s, "Create", 1, 2, 3, 4, 5)
			even := dataflow.ParDo(s, "Split", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				if v%2 == 0 {
					emit.Emit(v)
				} else {
					odd.Emit(c, v)
				}
				text.Emit(c, fmt.Sprint("v", v))
				return nil
			}), in, dataflow.WithOutputs(odd, text))
			passert.Equals(s, "Even", even, 2, 4)
			passert.Equals(s, "Odd", odd.PCollection(), 1, 3, 5)
			passert.Equals(s, "Text", text.PCollection(), "v1", "v2", "v3", "v4", "v5")
			return Expect{}
		}},
		{"ParDo/UnconsumedOutput", func(s dataflow.Scope) Expect {
			// An output nobody reads is still written to, without error.
			unused := dataflow.NewOutput[string]("unused")
			in := transforms.Create(s, "Create", 1, 2)
			out := dataflow.ParDo(s, "Emit", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				unused.Emit(c, "x")
				emit.Emit(v)
				return nil
			}), in, dataflow.WithOutputs(unused))
			passert.Equals(s, "Check", out, 1, 2)
			return Expect{}
		}},
		{"ParDo/Partition", func(s dataflow.Scope) Expect {
			parts := transforms.Partition(s, "Partition", 3, func(v int) int { return v % 3 }, transforms.Create(s, "Create", 0, 1, 2, 3, 4, 5, 6))
			passert.Equals(s, "Part0", parts[0], 0, 3, 6)
			passert.Equals(s, "Part1", parts[1], 1, 4)
			passert.Equals(s, "Part2", parts[2], 2, 5)
			return Expect{}
		}},
		{"ParDo/Lifecycle", func(s dataflow.Scope) Expect {
			// Elements at 0s..19s in two 10s windows; FinishBundle emits,
			// per window, how many elements the bundle held, at the end of
			// that window.
			var vs []transforms.Timestamped[int]
			for i := range 20 {
				vs = append(vs, tv(i, int64(i)*1000))
			}
			in := createFixed10(s, "Create", vs...)
			out := dataflow.ParDo[int, KV[string, int]](s, "Lifecycle", &lifecycleFn{}, in)
			elems := transforms.Filter(s, "KeepElements", func(e KV[string, int]) bool { return e.Key == "elem" }, out)
			bundles := transforms.Filter(s, "KeepBundles", func(e KV[string, int]) bool { return e.Key == "bundle" }, out)
			var want []KV[string, int]
			for i := range 20 {
				want = append(want, kv("elem", i))
			}
			passert.Equals(s, "Elements", elems, want...)
			passert.That(s, "BundleCounts", bundles).SatisfiesElems(func(got []dataflow.Elem[KV[string, int]]) error {
				per := map[dataflow.Window]int{}
				for _, e := range got {
					if e.Time != e.Window.MaxTimestamp() {
						return fmt.Errorf("FinishBundle output %v is not at the timestamp it was emitted with, %v", e, e.Window.MaxTimestamp())
					}
					per[e.Window] += e.Value.Value
				}
				want := map[dataflow.Window]int{w10(0): 10, w10(1): 10}
				if !mapsEqual(per, want) {
					return fmt.Errorf("elements per window counted in bundles = %v, want %v", per, want)
				}
				return nil
			})
			return Expect{}
		}},
		{"ParDo/SetupTeardown", func(s dataflow.Scope) Expect {
			// Observed in memory shared with the test: a runner must run the
			// DoFn in this process for this case (Beam allows Teardown to be
			// skipped when a worker dies; no worker dies here).
			st := &lifecycleCounts{}
			in := transforms.Sequence(s, "Sequence", 0, 1000)
			out := dataflow.ParDo[int64, int64](s, "Counted", &countedFn{counts: st}, in)
			passert.Count(s, "Check", out, 1000)
			return Expect{After: func() error {
				setups, teardowns := st.setups.Load(), st.teardowns.Load()
				if setups < 1 {
					return fmt.Errorf("Setup was called %d times, want at least once", setups)
				}
				if teardowns != setups {
					return fmt.Errorf("Teardown was called %d times after %d calls of Setup, want as many", teardowns, setups)
				}
				return nil
			}}
		}},
	}
}

// The optional lifecycle interfaces are found by type assertion, so a
// mistyped method would silently not be called: check them at compile time.
var (
	_ dataflow.Setupper                         = (*lifecycleFn)(nil)
	_ dataflow.BundleStarter                    = (*lifecycleFn)(nil)
	_ dataflow.BundleFinisher[KV[string, int]]  = (*lifecycleFn)(nil)
	_ dataflow.Teardowner                       = (*lifecycleFn)(nil)
	_ dataflow.Setupper                         = (*countedFn)(nil)
	_ dataflow.Teardowner                       = (*countedFn)(nil)
	_ dataflow.BundleFinisher[int]              = (*panicFinishFn)(nil)
	_ dataflow.CombineFn[int, statsAcc, string] = statsFn{}
	_ dataflow.CombineFn[int, []int, []int]     = collectFn{}
)

// lifecycleFn fails unless its methods are called in the order Beam
// defines: Setup, then for each bundle StartBundle, ProcessElement*,
// FinishBundle. Each worker has its own copy.
type lifecycleFn struct {
	setup    bool
	inBundle bool
	counts   map[dataflow.Window]int
}

func (f *lifecycleFn) Setup(context.Context) error {
	if f.setup {
		return fmt.Errorf("Setup called twice on one instance")
	}
	f.setup = true
	return nil
}

func (f *lifecycleFn) StartBundle(context.Context) error {
	if !f.setup || f.inBundle {
		return fmt.Errorf("StartBundle called with setup=%t inBundle=%t", f.setup, f.inBundle)
	}
	f.inBundle = true
	f.counts = map[dataflow.Window]int{}
	return nil
}

func (f *lifecycleFn) ProcessElement(c *dataflow.Context, v int, emit dataflow.Emitter[KV[string, int]]) error {
	if !f.setup || !f.inBundle {
		return fmt.Errorf("ProcessElement called with setup=%t inBundle=%t", f.setup, f.inBundle)
	}
	f.counts[c.Window()]++
	emit.Emit(kv("elem", v))
	return nil
}

func (f *lifecycleFn) FinishBundle(_ context.Context, emit dataflow.WindowedEmitter[KV[string, int]]) error {
	if !f.inBundle {
		return fmt.Errorf("FinishBundle called outside a bundle")
	}
	for w, n := range f.counts {
		emit.Emit(kv("bundle", n), w.MaxTimestamp(), w)
	}
	f.inBundle = false
	return nil
}

func (f *lifecycleFn) Teardown(context.Context) error {
	if !f.setup {
		return fmt.Errorf("Teardown called without Setup")
	}
	return nil
}

type lifecycleCounts struct {
	setups, teardowns atomic.Int64
}

type countedFn struct {
	counts *lifecycleCounts // shared by the workers' copies
}

func (f *countedFn) Setup(context.Context) error {
	f.counts.setups.Add(1)
	return nil
}

func (f *countedFn) ProcessElement(_ *dataflow.Context, v int64, emit dataflow.Emitter[int64]) error {
	emit.Emit(v)
	return nil
}

func (f *countedFn) Teardown(context.Context) error {
	f.counts.teardowns.Add(1)
	return nil
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sideInputCases() []Case {
	return []Case{
		{"SideInput/Singleton", func(s dataflow.Scope) Expect {
			side := dataflow.AsSingleton(transforms.Create(s, "Side", 10))
			in := transforms.Create(s, "Main", 1, 2, 3)
			out := dataflow.ParDo(s, "AddSide", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.Emit(v + side.Get(c))
				return nil
			}), in, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, 11, 12, 13)
			return Expect{}
		}},
		{"SideInput/SingletonDefault", func(s dataflow.Scope) Expect {
			side := dataflow.AsSingleton(transforms.Create[int](s, "Side"), 7)
			in := transforms.Create(s, "Main", 1, 2, 3)
			out := dataflow.ParDo(s, "AddSide", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.Emit(v + side.Get(c))
				return nil
			}), in, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, 8, 9, 10)
			return Expect{}
		}},
		{"SideInput/SingletonEmptyFails", func(s dataflow.Scope) Expect {
			side := dataflow.AsSingleton(transforms.Create[int](s, "Side"))
			in := transforms.Create(s, "Main", 1)
			dataflow.ParDo(s, "ReadEmptySingleton", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.Emit(v + side.Get(c))
				return nil
			}), in, dataflow.WithSideInputs(side))
			return Expect{Error: []string{"ReadEmptySingleton"}}
		}},
		{"SideInput/SingletonTooManyFails", func(s dataflow.Scope) Expect {
			side := dataflow.AsSingleton(transforms.Create(s, "Side", 1, 2))
			in := transforms.Create(s, "Main", 1)
			dataflow.ParDo(s, "ReadTwoSingletons", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.Emit(v + side.Get(c))
				return nil
			}), in, dataflow.WithSideInputs(side))
			return Expect{Error: []string{"ReadTwoSingletons"}}
		}},
		{"SideInput/Slice", func(s dataflow.Scope) Expect {
			side := dataflow.AsSlice(transforms.Create(s, "Side", 1, 2, 3))
			in := transforms.Create(s, "Main", 100, 200)
			out := dataflow.ParDo(s, "AddSum", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				for _, x := range side.Get(c) {
					v += x
				}
				emit.Emit(v)
				return nil
			}), in, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, 106, 206)
			return Expect{}
		}},
		{"SideInput/SliceEmpty", func(s dataflow.Scope) Expect {
			side := dataflow.AsSlice(transforms.Create[int](s, "Side"))
			in := transforms.Create(s, "Main", 1, 2)
			out := dataflow.ParDo(s, "Len", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.Emit(len(side.Get(c)))
				return nil
			}), in, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, 0, 0)
			return Expect{}
		}},
		{"SideInput/Map", func(s dataflow.Scope) Expect {
			side := dataflow.AsMap(transforms.Create(s, "Side", kv("a", 1), kv("b", 2)))
			in := transforms.Create(s, "Main", "a", "b", "c")
			out := dataflow.ParDo(s, "Lookup", fn(func(c *dataflow.Context, k string, emit dataflow.Emitter[KV[string, int]]) error {
				v, ok := side.Lookup(c, k)
				if !ok {
					v = -1
				}
				emit.Emit(kv(k, v))
				return nil
			}), in, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, kv("a", 1), kv("b", 2), kv("c", -1))
			return Expect{}
		}},
		{"SideInput/MapDuplicateKeyFails", func(s dataflow.Scope) Expect {
			side := dataflow.AsMap(transforms.Create(s, "Side", kv("a", 1), kv("a", 2)))
			in := transforms.Create(s, "Main", "a")
			dataflow.ParDo(s, "LookupDuplicate", fn(func(c *dataflow.Context, k string, emit dataflow.Emitter[int]) error {
				v, _ := side.Lookup(c, k)
				emit.Emit(v)
				return nil
			}), in, dataflow.WithSideInputs(side))
			return Expect{Error: []string{"LookupDuplicate"}}
		}},
		{"SideInput/MultiMap", func(s dataflow.Scope) Expect {
			side := dataflow.AsMultiMap(transforms.Create(s, "Side", kv("a", 1), kv("a", 2), kv("b", 3)))
			in := transforms.Create(s, "Main", "a", "b", "c")
			out := dataflow.ParDo(s, "Lookup", fn(func(c *dataflow.Context, k string, emit dataflow.Emitter[KV[string, []int]]) error {
				vs := slices.Clone(side.Lookup(c, k))
				slices.Sort(vs)
				emit.Emit(kv(k, vs))
				return nil
			}), in, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, kv("a", []int{1, 2}), kv("b", []int{3}), kv("c", []int{}))
			return Expect{}
		}},
		{"SideInput/WindowedSingleton", func(s dataflow.Scope) Expect {
			// Each main element sees the side value of its own window, and
			// the default where the side input has no value.
			side := dataflow.AsSingleton(createFixed10(s, "Side", tv(100, 5_000), tv(200, 15_000), tv(300, 27_000)), -1)
			main := createFixed10(s, "Main", tv(1, 1_000), tv(12, 12_000), tv(25, 25_000), tv(35, 35_000))
			out := dataflow.ParDo(s, "Join", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[KV[int, int]]) error {
				emit.Emit(kv(v, side.Get(c)))
				return nil
			}), main, dataflow.WithSideInputs(side))
			passert.That(s, "Check", out).WindowedEquals(
				passert.At(kv(1, 100), ms(1_000), w10(0)),
				passert.At(kv(12, 200), ms(12_000), w10(1)),
				passert.At(kv(25, 300), ms(25_000), w10(2)),
				passert.At(kv(35, -1), ms(35_000), w10(3)),
			)
			return Expect{}
		}},
		{"SideInput/WindowedSlice", func(s dataflow.Scope) Expect {
			side := dataflow.AsSlice(createFixed10(s, "Side", tv(1, 1_000), tv(2, 2_000), tv(10, 11_000)))
			main := createFixed10(s, "Main", tv("a", 3_000), tv("b", 13_000), tv("c", 23_000))
			out := dataflow.ParDo(s, "Sum", fn(func(c *dataflow.Context, v string, emit dataflow.Emitter[KV[string, int]]) error {
				sum := 0
				for _, x := range side.Get(c) {
					sum += x
				}
				emit.Emit(kv(v, sum))
				return nil
			}), main, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, kv("a", 3), kv("b", 10), kv("c", 0))
			return Expect{}
		}},
		{"SideInput/GlobalSideFixedMain", func(s dataflow.Scope) Expect {
			// A side input in the global window is seen by every main window.
			side := dataflow.AsSingleton(transforms.Create(s, "Side", 42))
			main := createFixed10(s, "Main", tv(1, 1_000), tv(2, 12_000), tv(3, 123_000))
			out := dataflow.ParDo(s, "Add", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.Emit(v + side.Get(c))
				return nil
			}), main, dataflow.WithSideInputs(side))
			passert.That(s, "Check", out).WindowedEquals(
				passert.At(43, ms(1_000), w10(0)),
				passert.At(44, ms(12_000), w10(1)),
				passert.At(45, ms(123_000), w10(12)),
			)
			return Expect{}
		}},
		{"SideInput/CoarserFixedSide", func(s dataflow.Scope) Expect {
			// Main in 10s windows, side in 20s windows: a main window maps
			// to the side window that contains its end.
			sideIn := transforms.CreateTimestamped(s, "Side", []transforms.Timestamped[int]{tv(1, 5_000), tv(2, 25_000)})
			side := dataflow.AsSingleton(dataflow.WindowInto(s, "Fixed20", dataflow.Fixed(20*time.Second), sideIn))
			main := createFixed10(s, "Main", tv("a", 5_000), tv("b", 15_000), tv("c", 25_000))
			out := dataflow.ParDo(s, "Join", fn(func(c *dataflow.Context, v string, emit dataflow.Emitter[KV[string, int]]) error {
				emit.Emit(kv(v, side.Get(c)))
				return nil
			}), main, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, kv("a", 1), kv("b", 1), kv("c", 2))
			return Expect{}
		}},
		{"SideInput/SlidingSide", func(s dataflow.Scope) Expect {
			// Main in 10s fixed windows, side in 20s windows every 10s: a main
			// window maps to the latest side window that contains its end
			// ([0,10) -> [0,20), [10,20) -> [10,30)).
			sideIn := transforms.CreateTimestamped(s, "Side", []transforms.Timestamped[int]{tv(1, 5_000), tv(2, 15_000)})
			side := dataflow.AsSlice(dataflow.WindowInto(s, "Sliding", dataflow.Sliding(20*time.Second, 10*time.Second), sideIn))
			main := createFixed10(s, "Main", tv("a", 5_000), tv("b", 15_000))
			out := dataflow.ParDo(s, "Sum", fn(func(c *dataflow.Context, v string, emit dataflow.Emitter[KV[string, int]]) error {
				sum := 0
				for _, x := range side.Get(c) {
					sum += x
				}
				emit.Emit(kv(v, sum))
				return nil
			}), main, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, kv("a", 3), kv("b", 2))
			return Expect{}
		}},
		{"SideInput/Several", func(s dataflow.Scope) Expect {
			one := dataflow.AsSingleton(transforms.Create(s, "One", 1))
			many := dataflow.AsSlice(transforms.Create(s, "Many", 10, 20))
			names := dataflow.AsMap(transforms.Create(s, "Names", kv(1, "one")))
			in := transforms.Create(s, "Main", 100)
			out := dataflow.ParDo(s, "Use", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[string]) error {
				sum := v + one.Get(c)
				for _, x := range many.Get(c) {
					sum += x
				}
				name, _ := names.Lookup(c, one.Get(c))
				emit.Emit(fmt.Sprint(name, sum))
				return nil
			}), in, dataflow.WithSideInputs(one, many, names))
			passert.Equals(s, "Check", out, "one131")
			return Expect{}
		}},
		{"SideInput/SameAsMain", func(s dataflow.Scope) Expect {
			// One collection read as the main input and as a side input.
			in := transforms.Create(s, "Create", 1, 2, 3)
			side := dataflow.AsSlice(in)
			out := dataflow.ParDo(s, "Len", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[KV[int, int]]) error {
				emit.Emit(kv(v, len(side.Get(c))))
				return nil
			}), in, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, kv(1, 3), kv(2, 3), kv(3, 3))
			return Expect{}
		}},
		{"SideInput/FromGroupByKey", func(s dataflow.Scope) Expect {
			// A side input computed by a combine: the reader waits for it.
			counts := transforms.CountPerKey(s, "Count", transforms.Create(s, "Words", kv("a", 0), kv("b", 0), kv("a", 0)))
			side := dataflow.AsMap(counts)
			in := transforms.Create(s, "Main", "a", "b")
			out := dataflow.ParDo(s, "Lookup", fn(func(c *dataflow.Context, k string, emit dataflow.Emitter[KV[string, int64]]) error {
				n, _ := side.Lookup(c, k)
				emit.Emit(kv(k, n))
				return nil
			}), in, dataflow.WithSideInputs(side))
			passert.Equals(s, "Check", out, kv[string, int64]("a", 2), kv[string, int64]("b", 1))
			return Expect{}
		}},
	}
}

func timestampCases() []Case {
	return []Case{
		{"Timestamp/WithTimestamps", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", 1, 2, 3)
			out := transforms.WithTimestamps(s, "Stamp", func(v int) dataflow.EventTime { return ms(int64(v) * 1000) }, in)
			passert.That(s, "Check", out).WindowedEquals(
				passert.At(1, ms(1000), dataflow.GlobalWindow),
				passert.At(2, ms(2000), dataflow.GlobalWindow),
				passert.At(3, ms(3000), dataflow.GlobalWindow),
			)
			return Expect{}
		}},
		{"Timestamp/KeptByMap", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(1, 1_500), tv(2, 12_500))
			out := transforms.Map(s, "Plus", func(v int) int { return v + 1 }, in)
			passert.That(s, "Check", out).WindowedEquals(
				passert.At(2, ms(1_500), w10(0)),
				passert.At(3, ms(12_500), w10(1)),
			)
			return Expect{}
		}},
		{"Timestamp/EmitAt", func(s dataflow.Scope) Expect {
			in := transforms.WithTimestamps(s, "Stamp", func(v int) dataflow.EventTime { return ms(int64(v) * 1000) }, transforms.Create(s, "Create", 1, 2))
			out := dataflow.ParDo(s, "Later", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.EmitAt(v, c.Timestamp().Add(500*time.Millisecond))
				return nil
			}), in)
			passert.That(s, "Check", out).WindowedEquals(
				passert.At(1, ms(1500), dataflow.GlobalWindow),
				passert.At(2, ms(2500), dataflow.GlobalWindow),
			)
			return Expect{}
		}},
		{"Timestamp/AllowedSkew", func(s dataflow.Scope) Expect {
			in := transforms.WithTimestamps(s, "Stamp", func(v int) dataflow.EventTime { return ms(int64(v) * 10_000) }, transforms.Create(s, "Create", 1, 2))
			out := dataflow.ParDo(s, "Earlier", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.EmitAt(v, c.Timestamp().Add(-time.Second))
				return nil
			}), in, dataflow.WithAllowedSkew(2*time.Second))
			passert.That(s, "Check", out).WindowedEquals(
				passert.At(1, ms(9_000), dataflow.GlobalWindow),
				passert.At(2, ms(19_000), dataflow.GlobalWindow),
			)
			return Expect{}
		}},
		{"Timestamp/SkewFails", func(s dataflow.Scope) Expect {
			// Emitting before the input's timestamp without allowed skew
			// fails the element (Beam: "Cannot output with timestamp ...").
			in := transforms.WithTimestamps(s, "Stamp", func(v int) dataflow.EventTime { return ms(10_000) }, transforms.Create(s, "Create", 1))
			dataflow.ParDo(s, "Backwards", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.EmitAt(v, c.Timestamp().Add(-time.Second))
				return nil
			}), in)
			return Expect{Error: []string{"Backwards", ms(10_000).String()}}
		}},
	}
}
