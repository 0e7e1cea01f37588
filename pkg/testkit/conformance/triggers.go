package conformance

import (
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// Triggers on bounded input, as Beam defines them: every element arrives
// while the watermark is at -inf, in the order the GroupByKey receives it,
// and the trigger sees each element on its own; then the watermark jumps to
// +inf, which fires what the trigger has left and expires every window.
//
// Each case feeds one key from one Create, so its elements arrive in a
// deterministic order; the expectations still only use what does not depend
// on that order: the number of panes, their PaneInfo, their sizes, and how
// their contents relate (discarding panes partition the input, accumulating
// panes grow). Beam's Java runners-core evaluates triggers after each
// bundle rather than after each element, so a runner built on it may fire
// fewer, larger count-triggered panes; such a runner names these cases as
// known deviations.

// lastFlag is the expected IsLast of a pane.
type lastFlag uint8

const (
	notLast lastFlag = iota
	last
	// eitherLast leaves IsLast unchecked: with allowed lateness, Beam's
	// runners-core emits the on-time pane before it knows that no late pane
	// follows (IsLast false), while Beam's batch runners mark it last.
	eitherLast
)

// wantPane is the expected shape of one pane; its index is its position in
// the list, it is first at position 0, and its non-speculative index follows
// from the timings of the panes before it.
type wantPane struct {
	timing dataflow.PaneTiming
	last   lastFlag
	size   int
}

func early(size int) wantPane        { return wantPane{dataflow.PaneEarly, notLast, size} }
func earlyLast(size int) wantPane    { return wantPane{dataflow.PaneEarly, last, size} }
func onTime(size int) wantPane       { return wantPane{dataflow.PaneOnTime, notLast, size} }
func onTimeLast(size int) wantPane   { return wantPane{dataflow.PaneOnTime, last, size} }
func onTimeEither(size int) wantPane { return wantPane{dataflow.PaneOnTime, eitherLast, size} }

// paneShape is a pane as compared and printed by checkPanes.
type paneShape struct {
	Timing              string
	Index               int64
	NonSpeculativeIndex int64
	IsFirst, IsLast     bool
	Size                int
}

// checkPanes returns a check of the panes of one key in window w: their
// shapes must be want's, and their contents must be drawn from inputs (a
// multiset) as the accumulation mode says: discarding panes are disjoint
// parts of inputs, accumulating panes each contain the one before. With
// complete, every input must have made it into a pane.
func checkPanes(w dataflow.Window, mode dataflow.AccumulationMode, inputs []int, complete bool, want ...wantPane) func([]dataflow.Elem[KV[string, []int]]) error {
	inputs = slices.Clone(inputs)
	return func(got []dataflow.Elem[KV[string, []int]]) error {
		for _, e := range got {
			if e.Window != w {
				return fmt.Errorf("pane %v of %v is in window %v, want %v", e.Pane, e.Value, e.Window, w)
			}
		}
		got = slices.Clone(got)
		slices.SortStableFunc(got, func(a, b dataflow.Elem[KV[string, []int]]) int { return int(a.Pane.Index - b.Pane.Index) })
		var gotShape, wantShape []paneShape
		var nonSpec int64
		for i, wp := range want {
			ps := paneShape{Timing: wp.timing.String(), Index: int64(i), NonSpeculativeIndex: -1, IsFirst: i == 0, IsLast: wp.last == last, Size: wp.size}
			if wp.timing != dataflow.PaneEarly {
				ps.NonSpeculativeIndex = nonSpec
				nonSpec++
			}
			wantShape = append(wantShape, ps)
		}
		for i, e := range got {
			ps := paneShape{Timing: e.Pane.Timing.String(), Index: e.Pane.Index, NonSpeculativeIndex: e.Pane.NonSpeculativeIndex,
				IsFirst: e.Pane.IsFirst, IsLast: e.Pane.IsLast, Size: len(e.Value.Value)}
			if i < len(want) && want[i].last == eitherLast {
				ps.IsLast = false
			}
			gotShape = append(gotShape, ps)
		}
		if d := cmp.Diff(wantShape, gotShape); d != "" {
			return fmt.Errorf("panes of window %v differ (-want +got; inputs %v, %v):\n%s\ngot panes:\n%s", w, inputs, mode, d, describePanes(got))
		}
		var seen []int
		for i, e := range got {
			vs := e.Value.Value
			if mode == dataflow.Accumulating {
				if i > 0 && !subMultiset(got[i-1].Value.Value, vs) {
					return fmt.Errorf("accumulating pane %d %v does not contain pane %d %v", i, vs, i-1, got[i-1].Value.Value)
				}
				seen = vs
			} else {
				seen = append(seen, vs...)
			}
		}
		if !subMultiset(seen, inputs) {
			return fmt.Errorf("panes hold %v, which is not part of the input %v; got panes:\n%s", seen, inputs, describePanes(got))
		}
		if complete && len(seen) != len(inputs) {
			return fmt.Errorf("panes hold %v, want every input %v; got panes:\n%s", seen, inputs, describePanes(got))
		}
		return nil
	}
}

// describePanes prints grouped elements one per line with their panes.
func describePanes[T any](got []dataflow.Elem[T]) string {
	var b strings.Builder
	for _, e := range got {
		fmt.Fprintf(&b, "\t%v %v: %v\n", e.Window, e.Pane, e.Value)
	}
	return b.String()
}

// subMultiset reports whether every value of a is in b, as often.
func subMultiset(a, b []int) bool {
	n := map[int]int{}
	for _, v := range b {
		n[v]++
	}
	for _, v := range a {
		if n[v] == 0 {
			return false
		}
		n[v]--
	}
	return true
}

// triggered builds values 1..n of key "k" at 100ms, 200ms, ... (all in the
// first 10s window), in one Create, windows them with wfn and opts, and
// groups them.
func triggered(s dataflow.Scope, n int, wfn dataflow.WindowFn, opts ...dataflow.WindowOption) (dataflow.PCollection[KV[string, iter.Seq[int]]], []int) {
	var vs []transforms.Timestamped[KV[string, int]]
	var inputs []int
	for i := 1; i <= n; i++ {
		vs = append(vs, tv(kv("k", i), int64(i)*100))
		inputs = append(inputs, i)
	}
	raw := transforms.CreateTimestamped(s, "Create", vs)
	in := dataflow.WindowInto(s, "Window", wfn, raw, opts...)
	return dataflow.GroupByKey(s, "GroupByKey", in), inputs
}

// triggerCase is a case that triggers n elements of one key in the first 10s
// fixed window (or the global window) and checks the panes.
func triggerCase(name string, n int, global bool, t dataflow.Trigger, mode dataflow.AccumulationMode, complete bool, want []wantPane, opts ...dataflow.WindowOption) Case {
	return Case{name, func(s dataflow.Scope) Expect {
		wfn, w := dataflow.Fixed(10*time.Second), w10(0)
		if global {
			wfn, w = dataflow.Global(), dataflow.GlobalWindow
		}
		opts := append([]dataflow.WindowOption{dataflow.Triggering(t)}, opts...)
		if mode == dataflow.Accumulating {
			opts = append(opts, dataflow.AccumulatingPanes())
		}
		g, inputs := triggered(s, n, wfn, opts...)
		passert.That(s, "Panes", passert.Grouped(s, "Materialize", g)).SatisfiesElems(checkPanes(w, mode, inputs, complete, want...))
		return Expect{}
	}}
}

func triggerCases() []Case {
	const (
		discarding   = dataflow.Discarding
		accumulating = dataflow.Accumulating
		global       = true
		fixed        = false
		complete     = true
		dropping     = false
	)
	earlyCount2 := dataflow.AfterWatermark().WithEarlyFirings(dataflow.AfterCount(2))
	return []Case{
		{"Trigger/DefaultFixed", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv("k", 1), 1_000), tv(kv("k", 2), 2_000), tv(kv("k", 3), 12_000), tv(kv("j", 4), 13_000))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			passert.Panes(s, "Panes", g,
				passert.Pane[KV[string, []int]]{Window: w10(0), Pane: onTimeOnly, Values: []KV[string, []int]{kv("k", []int{1, 2})}},
				passert.Pane[KV[string, []int]]{Window: w10(1), Pane: onTimeOnly, Values: []KV[string, []int]{kv("k", []int{3}), kv("j", []int{4})}},
			)
			return Expect{}
		}},
		triggerCase("Trigger/DefaultGlobal", 5, global, dataflow.Default(), discarding, complete, []wantPane{onTimeLast(5)}),
		triggerCase("Trigger/DefaultAllowedLateness", 5, fixed, dataflow.Default(), discarding, complete, []wantPane{onTimeEither(5)},
			dataflow.AllowedLateness(time.Hour)),
		triggerCase("Trigger/AfterWatermark", 5, fixed, dataflow.AfterWatermark(), discarding, complete, []wantPane{onTimeLast(5)}),
		triggerCase("Trigger/EarlyCountAccumulating", 5, fixed, earlyCount2, accumulating, complete,
			[]wantPane{early(2), early(4), onTimeLast(5)}),
		triggerCase("Trigger/EarlyCountDiscarding", 5, fixed, earlyCount2, discarding, complete,
			[]wantPane{early(2), early(2), onTimeLast(1)}),
		// Beam's default OnTimeBehavior, FIRE_ALWAYS: the on-time pane fires
		// even when no element arrived since the last early pane.
		triggerCase("Trigger/EarlyCountEmptyOnTimePane", 4, fixed, earlyCount2, discarding, complete,
			[]wantPane{early(2), early(2), onTimeLast(0)}),
		triggerCase("Trigger/EarlyCountAccumulatingOnTimePane", 4, fixed, earlyCount2, accumulating, complete,
			[]wantPane{early(2), early(4), onTimeLast(4)}),
		// FIRE_IF_NON_EMPTY: no on-time pane, so no pane is marked last.
		triggerCase("Trigger/EarlyCountFireIfNonEmpty", 4, fixed, earlyCount2, discarding, complete,
			[]wantPane{early(2), early(2)}, dataflow.WithOnTimeBehavior(dataflow.FireIfNonEmpty)),
		// With allowed lateness the on-time pane is not the end of the
		// trigger (late firings could follow); on bounded input none do.
		triggerCase("Trigger/EarlyAndLateFirings", 5, fixed, earlyCount2.WithLateFirings(dataflow.AfterCount(1)), discarding, complete,
			[]wantPane{early(2), early(2), onTimeEither(1)}, dataflow.AllowedLateness(time.Hour)),
		triggerCase("Trigger/RepeatedlyCount", 5, global, dataflow.Repeatedly(dataflow.AfterCount(2)), discarding, complete,
			[]wantPane{early(2), early(2), onTimeLast(1)}),
		// The window expires with nothing new: the final pane is the
		// on-time pane of the expiring window, empty, fired because of
		// FIRE_ALWAYS.
		triggerCase("Trigger/RepeatedlyCountExactMultiple", 4, global, dataflow.Repeatedly(dataflow.AfterCount(2)), discarding, complete,
			[]wantPane{early(2), early(2), onTimeLast(0)}),
		triggerCase("Trigger/RepeatedlyCountAccumulating", 5, fixed, dataflow.Repeatedly(dataflow.AfterCount(2)), accumulating, complete,
			[]wantPane{early(2), early(4), onTimeLast(5)}),
		triggerCase("Trigger/Always", 3, global, dataflow.Always(), discarding, complete,
			[]wantPane{early(1), early(1), early(1), onTimeLast(0)}),
		// AfterCount alone fires once and finishes: the window closes and
		// the later elements are dropped.
		triggerCase("Trigger/AfterCountOnce", 5, global, dataflow.AfterCount(2), discarding, dropping,
			[]wantPane{earlyLast(2)}),
		triggerCase("Trigger/Never", 5, fixed, dataflow.Never(), discarding, complete, []wantPane{onTimeLast(5)}),
		triggerCase("Trigger/AfterEach", 10, global, dataflow.AfterEach(dataflow.AfterCount(2), dataflow.AfterCount(3)), discarding, dropping,
			[]wantPane{early(2), earlyLast(3)}),
		triggerCase("Trigger/AfterEachAccumulating", 10, global, dataflow.AfterEach(dataflow.AfterCount(2), dataflow.AfterCount(3)), accumulating, dropping,
			[]wantPane{early(2), earlyLast(5)}),
		triggerCase("Trigger/AfterAnyCountFirst", 5, fixed, dataflow.AfterAny(dataflow.AfterCount(3), dataflow.AfterWatermark()), discarding, dropping,
			[]wantPane{earlyLast(3)}),
		triggerCase("Trigger/AfterAnyWatermarkFirst", 2, fixed, dataflow.AfterAny(dataflow.AfterCount(3), dataflow.AfterWatermark()), discarding, complete,
			[]wantPane{onTimeLast(2)}),
		triggerCase("Trigger/AfterAllCounts", 5, global, dataflow.AfterAll(dataflow.AfterCount(2), dataflow.AfterCount(3)), discarding, dropping,
			[]wantPane{earlyLast(3)}),
		triggerCase("Trigger/AfterAllWatermark", 5, fixed, dataflow.AfterAll(dataflow.AfterCount(2), dataflow.AfterWatermark()), discarding, complete,
			[]wantPane{onTimeLast(5)}),
		// Repeatedly(AfterCount(2)) until a separate count of 5 fires: panes
		// after elements 2, 4 and 5; the rest is dropped.
		triggerCase("Trigger/OrFinallyCount", 9, global, dataflow.OrFinally(dataflow.Repeatedly(dataflow.AfterCount(2)), dataflow.AfterCount(5)), discarding, dropping,
			[]wantPane{early(2), early(2), earlyLast(1)}),
		triggerCase("Trigger/OrFinallyWatermark", 5, fixed, dataflow.OrFinally(dataflow.Repeatedly(dataflow.AfterCount(2)), dataflow.AfterWatermark()), discarding, complete,
			[]wantPane{early(2), early(2), onTimeLast(1)}),
		{"Trigger/SessionsEarlyCount", func(s dataflow.Scope) Expect {
			// Sessions merge as elements arrive, and a pane fires in the
			// session as it is when the trigger fires (Beam's ReduceFnRunner
			// with one element at a time). Gap 5s, elements at 1s, 2s, 3s,
			// 4s: after 2s the session is [1s,7s) and fires [1 2]; 3s and 4s
			// grow it to [1s,9s), a new window whose panes start again at
			// index 0, which fires [3 4]; at the end of input it fires its
			// on-time pane, empty (discarding, FIRE_ALWAYS).
			raw := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[KV[string, int]]{
				tv(kv("k", 1), 1_000), tv(kv("k", 2), 2_000), tv(kv("k", 3), 3_000), tv(kv("k", 4), 4_000),
			})
			in := dataflow.WindowInto(s, "Sessions", dataflow.Sessions(5*time.Second), raw, dataflow.Triggering(dataflow.Repeatedly(dataflow.AfterCount(2))))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			firstEarly := dataflow.PaneInfo{Timing: dataflow.PaneEarly, Index: 0, NonSpeculativeIndex: -1, IsFirst: true}
			passert.Panes(s, "Panes", g,
				passert.Pane[KV[string, []int]]{Window: win(1_000, 7_000), Pane: firstEarly, Values: []KV[string, []int]{kv("k", []int{1, 2})}},
				passert.Pane[KV[string, []int]]{Window: win(1_000, 9_000), Pane: firstEarly, Values: []KV[string, []int]{kv("k", []int{3, 4})}},
				passert.Pane[KV[string, []int]]{Window: win(1_000, 9_000), Pane: dataflow.PaneInfo{Timing: dataflow.PaneOnTime, Index: 1, NonSpeculativeIndex: 0, IsLast: true},
					Values: []KV[string, []int]{kv("k", []int{})}},
			)
			return Expect{}
		}},
		{"Trigger/CombineRepeatedlyCount", func(s dataflow.Scope) Expect {
			// A combine under a count trigger cannot be lifted: it sums the
			// elements of each pane.
			raw := transforms.Create(s, "Create", kv("k", 1), kv("k", 2), kv("k", 3), kv("k", 4), kv("k", 5))
			in := dataflow.WindowInto(s, "Window", dataflow.Global(), raw, dataflow.Triggering(dataflow.Repeatedly(dataflow.AfterCount(2))))
			sums := transforms.SumPerKey(s, "Sum", in)
			passert.That(s, "Panes", sums).SatisfiesElems(func(got []dataflow.Elem[KV[string, int]]) error {
				slices.SortFunc(got, func(a, b dataflow.Elem[KV[string, int]]) int { return int(a.Pane.Index - b.Pane.Index) })
				var timings []string
				total := 0
				for _, e := range got {
					timings = append(timings, fmt.Sprintf("%v/last=%t", e.Pane.Timing, e.Pane.IsLast))
					total += e.Value.Value
				}
				want := []string{"EARLY/last=false", "EARLY/last=false", "ON_TIME/last=true"}
				if !slices.Equal(timings, want) || total != 15 {
					return fmt.Errorf("panes %v with sums totalling %d, want %v totalling 15 (got %v)", timings, total, want, got)
				}
				return nil
			})
			return Expect{}
		}},
		{"Trigger/ContinuationDefault", func(s dataflow.Scope) Expect {
			// Sums per key, then all sums of a window in one group: the
			// second GroupByKey fires once per window too.
			in := createFixed10(s, "Create", tv(kv("a", 1), 1_000), tv(kv("b", 2), 2_000), tv(kv("a", 3), 3_000), tv(kv("a", 4), 14_000))
			sums := transforms.SumPerKey(s, "Sum", in)
			all := transforms.Map(s, "Rekey", func(kv KV[string, int]) KV[string, int] { return KV[string, int]{Key: "all", Value: kv.Value} }, sums)
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", all))
			passert.Panes(s, "Panes", g,
				passert.Pane[KV[string, []int]]{Window: w10(0), Pane: onTimeOnly, Values: []KV[string, []int]{kv("all", []int{2, 4})}},
				passert.Pane[KV[string, []int]]{Window: w10(1), Pane: onTimeOnly, Values: []KV[string, []int]{kv("all", []int{4})}},
			)
			passert.That(s, "Timestamps", g).WindowedEquals(
				passert.At(kv("all", []int{2, 4}), w10(0).MaxTimestamp(), w10(0)),
				passert.At(kv("all", []int{4}), w10(1).MaxTimestamp(), w10(1)),
			)
			return Expect{}
		}},
		{"Trigger/ContinuationEarlyCount", func(s dataflow.Scope) Expect {
			// The first GroupByKey fires early panes of 2, 2 and an on-time
			// pane of 1; the second runs the continuation trigger,
			// AfterWatermark with early AfterCount(1): one early pane per
			// arriving element, then an empty on-time pane.
			t := earlyCount2
			g1, _ := triggered(s, 5, dataflow.Fixed(10*time.Second), dataflow.Triggering(t))
			if got, want := g1.Windowing().Trigger, dataflow.ContinuationTrigger(t); fmt.Sprint(got) != fmt.Sprint(want) {
				s.Errorf("GroupByKey", "output trigger is %v, want the continuation %v", got, want)
			}
			sizes := dataflow.ParDo(s, "Size", fn(func(_ *dataflow.Context, g KV[string, iter.Seq[int]], emit dataflow.Emitter[KV[string, int]]) error {
				n := 0
				for range g.Value {
					n++
				}
				emit.Emit(kv("sizes", n))
				return nil
			}), g1)
			g2 := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "Regroup", sizes))
			passert.That(s, "Panes", g2).SatisfiesElems(checkPanes(w10(0), dataflow.Discarding, []int{2, 2, 1}, complete,
				early(1), early(1), early(1), onTimeLast(0)))
			return Expect{}
		}},
	}
}
