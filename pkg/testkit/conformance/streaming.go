package conformance

import (
	"iter"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/testkit/teststream"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// StreamingCases returns the cases that read unbounded input (TestStream):
// watermarks that advance while elements arrive, processing-time triggers,
// late data. They are Beam's TestStreamTest and trigger examples, with
// Beam's expected panes. Run includes them; a runner of bounded input
// only runs them with BoundedOnly, which expects each to be rejected.
func StreamingCases() []Case {
	minute := int64(time.Minute / time.Millisecond)
	flattenValues := func(s dataflow.Scope, name string, in dataflow.PCollection[string]) dataflow.PCollection[string] {
		s, name = s.Scope(name), ""
		keyed := transforms.KeyBy(s, name+"Key", func(string) int { return 1 }, in)
		g := dataflow.GroupByKey(s, name+"GroupByKey", keyed)
		return transforms.FlatMap(s, name+"Flatten", func(kv KV[int, iter.Seq[string]], emit func(string)) {
			for v := range kv.Value {
				emit(v)
			}
		}, g)
	}
	sumAll := func(s dataflow.Scope, name string, in dataflow.PCollection[int64]) dataflow.PCollection[int64] {
		s, name = s.Scope(name), ""
		keyed := transforms.KeyBy(s, name+"Key", func(int64) string { return "" }, in)
		return transforms.Values(s, name+"Values", transforms.CombinePerKey(s, name+"Sum", transforms.SumFn[int64](), keyed))
	}
	// Beam's Go trigger tests (sdks/go/test/integration/primitives,
	// windowinto.go): a TestStream of float64, windowed with a trigger,
	// summed globally, and the sums' values or count asserted.
	goTrigger := func(name string, build func(*teststream.Stream[float64]) *teststream.Stream[float64], fn dataflow.WindowFn, tr dataflow.Trigger, check func(s dataflow.Scope, sums dataflow.PCollection[float64])) Case {
		return Case{"TestStream/Go/" + name, func(s dataflow.Scope) Expect {
			in := teststream.Create(s, "Stream", build(teststream.New[float64]()))
			windowed := dataflow.WindowInto(s, "Window", fn, in, dataflow.Triggering(tr))
			sums := transforms.CombineGlobally(s, "Sum", transforms.SumFn[float64](), windowed)
			check(s, dataflow.WindowInto(s, "Global", dataflow.Global(), sums))
			return Expect{}
		}}
	}
	equals := func(want ...float64) func(dataflow.Scope, dataflow.PCollection[float64]) {
		return func(s dataflow.Scope, sums dataflow.PCollection[float64]) {
			passert.That(s, "Equals", sums).Equals(want...)
		}
	}
	count := func(n int) func(dataflow.Scope, dataflow.PCollection[float64]) {
		return func(s dataflow.Scope, sums dataflow.PCollection[float64]) { passert.That(s, "Count", sums).Count(n) }
	}
	fixed := dataflow.Fixed(10 * time.Second)
	at := func(t int64, vs ...float64) func(*teststream.Stream[float64]) *teststream.Stream[float64] {
		return func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(ms(t), vs...)
		}
	}
	_ = at
	return []Case{
		goTrigger("TriggerDefault", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3).AdvanceWatermark(11000).AddElementsAt(12000, 4, 5).AdvanceWatermark(13000)
		}, fixed, dataflow.Default(), equals(6, 9)),
		goTrigger("TriggerAlways", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3).AdvanceWatermark(11000)
		}, fixed, dataflow.Always(), equals(1, 2, 3)),
		goTrigger("TriggerElementCount", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3).AdvanceWatermark(2000).AddElementsAt(6000, 4, 5).AdvanceWatermark(10000).AddElementsAt(52000, 10).AdvanceWatermark(53000)
		}, fixed, dataflow.AfterCount(2), count(2)),
		goTrigger("TriggerAfterProcessingTimeNotTriggered", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AdvanceProcessingTime(100*time.Millisecond).AddElementsAt(1000, 1, 2, 3).AdvanceProcessingTime(4999*time.Millisecond).AddElementsAt(22000, 4)
		}, dataflow.Global(), dataflow.AfterProcessingTime(5*time.Second), equals(10)),
		goTrigger("TriggerAfterProcessingTime", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AdvanceProcessingTime(100*time.Millisecond).AddElementsAt(1000, 1, 2, 3).AdvanceProcessingTime(5000*time.Millisecond).AddElementsAt(22000, 4)
		}, dataflow.Global(), dataflow.AfterProcessingTime(5*time.Second), equals(6, 4)),
		goTrigger("TriggerRepeat", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3).AdvanceWatermark(2000).AddElementsAt(6000, 4, 5, 6).AdvanceWatermark(10000)
		}, dataflow.Global(), dataflow.Repeatedly(dataflow.AfterCount(2)), count(3)),
		goTrigger("TriggerAfterEndOfWindow", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3).AdvanceWatermark(11000)
		}, fixed, dataflow.AfterWatermark().WithEarlyFirings(dataflow.AfterCount(2)).WithLateFirings(dataflow.AfterCount(1)), count(2)),
		goTrigger("TriggerAfterAll", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3, 5, 8).AdvanceWatermark(11000)
		}, fixed, dataflow.Repeatedly(dataflow.AfterAll(dataflow.Always(), dataflow.AfterCount(5))), count(1)),
		goTrigger("TriggerAfterEach", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3, 5, 8).AdvanceWatermark(11000)
		}, dataflow.Global(), dataflow.Repeatedly(dataflow.AfterEach(dataflow.AfterCount(3), dataflow.Always())), count(3)),
		goTrigger("TriggerAfterAny", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3).AdvanceWatermark(11000).AddElementsAt(12000, 5, 8)
		}, fixed, dataflow.Repeatedly(dataflow.AfterAny(dataflow.AfterCount(3), dataflow.Always())), count(5)),
		goTrigger("TriggerNever", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3).AdvanceWatermark(11000).AddElementsAt(12000, 5, 8)
		}, fixed, dataflow.Never(), count(2)),
		goTrigger("TriggerOrFinally", func(st *teststream.Stream[float64]) *teststream.Stream[float64] {
			return st.AddElementsAt(1000, 1, 2, 3).AdvanceWatermark(11000).AddElementsAt(12000, 5, 8)
		}, fixed, dataflow.OrFinally(dataflow.Always(), dataflow.AfterCount(2)), count(4)),
		// Beam TestStreamTest.testLateDataAccumulating.
		{"TestStream/LateDataAccumulating", func(s dataflow.Scope) Expect {
			src := teststream.New[int64]().
				AddElementsAt(0, 1, 2, 3).
				AdvanceWatermark(ms(6*minute)).
				AddElementsAt(0, 4, 5). // late, within the allowed lateness
				AdvanceWatermark(ms(20*minute)).
				AddElementsAt(0, -1, -2, -3). // droppably late
				AdvanceWatermarkToInfinity()
			in := teststream.Create(s, "Stream", src)
			windowed := dataflow.WindowInto(s, "Window", dataflow.Fixed(5*time.Minute), in,
				dataflow.Triggering(dataflow.AfterWatermark().
					WithEarlyFirings(dataflow.AfterProcessingTime(2*time.Minute)).
					WithLateFirings(dataflow.AfterCount(1))),
				dataflow.AccumulatingPanes(), dataflow.AllowedLateness(5*time.Minute))
			sums := sumAll(s, "Sum", windowed)
			w := win(0, 5*minute)
			passert.That(s, "InWindow", sums).InWindow(w).Equals(6, 15)
			passert.That(s, "OnTime", sums).InWindow(w).InOnTimePane().Equals(6)
			passert.That(s, "Final", sums).InWindow(w).InFinalPane().Equals(15)
			return Expect{}
		}},
		// Beam TestStreamTest.testProcessingTimeTrigger.
		{"TestStream/ProcessingTimeTrigger", func(s dataflow.Scope) Expect {
			src := teststream.New[int64]().
				AddElements(teststream.At[int64](1, 1000), teststream.At[int64](2, 2000)).
				AdvanceProcessingTime(12 * time.Minute).
				AddElements(teststream.At[int64](3, 3000)).
				AdvanceProcessingTime(6 * time.Minute).
				AdvanceWatermarkToInfinity()
			in := teststream.Create(s, "Stream", src)
			windowed := dataflow.WindowInto(s, "Window", dataflow.Global(), in,
				dataflow.Triggering(dataflow.AfterWatermark().WithEarlyFirings(dataflow.AfterProcessingTime(5*time.Minute))),
				dataflow.AccumulatingPanes())
			sums := sumAll(s, "Sum", windowed)
			passert.That(s, "Early", sums).InGlobalWindow().InEarlyPanes().Equals(3, 6)
			return Expect{}
		}},
		// Beam TestStreamTest.testDiscardingMode.
		{"TestStream/DiscardingMode", func(s dataflow.Scope) Expect {
			src := teststream.New[string]().
				AdvanceWatermark(0).
				AddElements(teststream.At("firstPane", 100), teststream.At("alsoFirstPane", 200)).
				AddElements(teststream.At("onTimePane", 500)).
				AdvanceWatermark(1000).
				AddElements(teststream.At("finalLatePane", 750), teststream.At("alsoFinalLatePane", 250)).
				AdvanceWatermarkToInfinity()
			in := teststream.Create(s, "Stream", src)
			windowed := dataflow.WindowInto(s, "Window", dataflow.Fixed(time.Second), in,
				dataflow.Triggering(dataflow.Repeatedly(dataflow.OrFinally(dataflow.AfterCount(2), dataflow.AfterWatermark()))),
				dataflow.DiscardingPanes(), dataflow.AllowedLateness(5*time.Second))
			values := flattenValues(s, "Values", windowed)
			w := win(0, 1000)
			passert.That(s, "InWindow", values).InWindow(w).Equals("firstPane", "alsoFirstPane", "onTimePane", "finalLatePane", "alsoFinalLatePane")
			passert.That(s, "NonLate", values).InWindow(w).InNonLatePanes().Equals("firstPane", "alsoFirstPane", "onTimePane")
			passert.That(s, "OnTime", values).InWindow(w).InOnTimePane().Equals("onTimePane")
			passert.That(s, "Final", values).InWindow(w).InFinalPane().Equals("finalLatePane", "alsoFinalLatePane")
			return Expect{}
		}},
		// Beam TestStreamTest.testFirstElementLate.
		{"TestStream/FirstElementLate", func(s dataflow.Scope) Expect {
			src := teststream.New[string]().
				AdvanceWatermark(0).
				AddElements(teststream.At("late", -1_000_000)).
				AddElements(teststream.At("onTime", 100)).
				AdvanceWatermarkToInfinity()
			in := teststream.Create(s, "Stream", src)
			windowed := dataflow.WindowInto(s, "Window", dataflow.Fixed(time.Second), in,
				dataflow.Triggering(dataflow.Default()), dataflow.DiscardingPanes(), dataflow.AllowedLateness(5*time.Second))
			values := flattenValues(s, "Values", windowed)
			passert.That(s, "Late", values).InWindow(win(-1_000_000, -999_000)).Empty()
			passert.That(s, "OnTime", values).InWindow(win(0, 1000)).Equals("onTime")
			return Expect{}
		}},
		// Beam TestStreamTest.testElementsAtAlmostPositiveInfinity.
		{"TestStream/ElementsAtAlmostPositiveInfinity", func(s dataflow.Scope) Expect {
			eogw := dataflow.EndOfGlobalWindow
			src := teststream.New[string]().
				AddElementsAt(eogw, "foo", "bar").
				AdvanceWatermarkToInfinity()
			in := teststream.Create(s, "Stream", src)
			size := 6 * 60 * minute
			windowed := dataflow.WindowInto(s, "Window", dataflow.Fixed(6*time.Hour), in)
			values := flattenValues(s, "Values", windowed)
			start := int64(eogw) - ((int64(eogw)%size)+size)%size
			// FixedWindows caps a window at the end of the global window.
			passert.That(s, "InWindow", values).InWindow(win(start, int64(eogw)+1)).Equals("foo", "bar")
			return Expect{}
		}},
		// Elements arrive while the watermark advances: every window fires
		// on time once, in order, with what arrived before the watermark
		// passed it; an element behind the watermark without allowed
		// lateness is dropped.
		{"TestStream/FixedWindowsOnTime", func(s dataflow.Scope) Expect {
			src := teststream.New[int64]().
				AddElements(teststream.At[int64](1, 1_000), teststream.At[int64](2, 2_000)).
				AdvanceWatermark(9_000).
				AddElements(teststream.At[int64](3, 9_500), teststream.At[int64](4, 12_000)).
				AdvanceWatermark(15_000).
				AddElements(teststream.At[int64](100, 5_000)). // late, dropped
				AddElements(teststream.At[int64](5, 19_000)).
				AdvanceWatermarkToInfinity()
			in := teststream.Create(s, "Stream", src)
			sums := sumAll(s, "Sum", fixed10(s, "Window", in))
			passert.That(s, "Sums", sums).Panes(
				passert.Pane[int64]{Window: w10(0), Pane: onTimeOnly, Values: []int64{6}},
				passert.Pane[int64]{Window: w10(1), Pane: onTimeOnly, Values: []int64{9}},
			)
			return Expect{}
		}},
		// Sessions merge across arrivals in different rounds: two sessions
		// that a later element bridges become one.
		{"TestStream/SessionsMergeAcrossArrivals", func(s dataflow.Scope) Expect {
			src := teststream.New[string]().
				AddElements(teststream.At("a", 1_000)).
				AddElements(teststream.At("b", 10_000)).
				AdvanceWatermark(5_000).
				AddElements(teststream.At("c", 5_500)). // bridges [1s,6s) and [10s,15s)
				AdvanceWatermarkToInfinity()
			in := teststream.Create(s, "Stream", src)
			windowed := dataflow.WindowInto(s, "Window", dataflow.Sessions(5*time.Second), in)
			values := flattenValues(s, "Values", windowed)
			passert.That(s, "Session", values).InWindow(win(1_000, 15_000)).InOnTimePane().Equals("a", "b", "c")
			return Expect{}
		}},
	}
}
