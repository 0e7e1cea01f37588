package conformance

import (
	"fmt"
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
)

// Stateful DoFns used by the state and timer cases.

// countFn numbers each key's elements per window with value state.
type countFn struct{ n *dataflow.ValueState[int] }

func (f *countFn) ProcessElement(c *dataflow.Context, e KV[string, int], emit dataflow.Emitter[KV[string, int]]) error {
	n, _ := f.n.Read(c)
	f.n.Write(c, n+1)
	emit.Emit(kv(e.Key, n+1))
	return nil
}

// flushFn buffers each key's values per window and emits them, sorted, with
// their sum and distinct count, when an end-of-window timer fires.
type flushFn struct {
	buf      *dataflow.BagState[int]
	sum      *dataflow.CombiningState[int, int, int]
	distinct *dataflow.SetState[int]
	last     *dataflow.MapState[string, int]
	flush    *dataflow.Timer
}

type intSum struct{}

func (intSum) CreateAccumulator() int         { return 0 }
func (intSum) AddInput(a, x int) int          { return a + x }
func (intSum) MergeAccumulators(a, b int) int { return a + b }
func (intSum) ExtractOutput(a int) int        { return a }

func newFlushFn() *flushFn {
	return &flushFn{
		buf:      dataflow.NewBagState[int]("buf"),
		sum:      dataflow.NewCombiningState[int, int, int]("sum", intSum{}),
		distinct: dataflow.NewSetState[int]("distinct"),
		last:     dataflow.NewMapState[string, int]("last"),
		flush:    dataflow.NewEventTimer("flush"),
	}
}

func (f *flushFn) ProcessElement(c *dataflow.Context, e KV[string, int], _ dataflow.Emitter[string]) error {
	f.buf.Add(c, e.Value)
	f.sum.Add(c, e.Value)
	f.distinct.Add(c, e.Value)
	f.last.Put(c, "last", e.Value)
	f.flush.Set(c, c.Window().MaxTimestamp())
	return nil
}

func (f *flushFn) OnTimer(c *dataflow.Context, key string, t dataflow.TimerFiring, emit dataflow.Emitter[string]) error {
	vals := f.buf.Read(c)
	slices.Sort(vals)
	n := 0
	for range f.distinct.All(c) {
		n++
	}
	last, _ := f.last.Get(c, "last")
	emit.Emit(fmt.Sprintf("%s:%v sum=%d distinct=%d last-set=%t", key, vals, f.sum.Read(c), n, last != 0))
	f.buf.Clear(c)
	if !f.buf.IsEmpty(c) {
		return fmt.Errorf("bag not empty after Clear")
	}
	return nil
}

// loopFn re-sets an event-time timer a few times from OnTimer, with an
// output timestamp, as Beam's looping-timer pattern does.
type loopFn struct {
	tick  *dataflow.Timer
	count *dataflow.ValueState[int]
}

func (f *loopFn) ProcessElement(c *dataflow.Context, e KV[string, int], _ dataflow.Emitter[int]) error {
	f.tick.Set(c, c.Timestamp()+1_000, dataflow.WithOutputTimestamp(c.Timestamp()))
	return nil
}

func (f *loopFn) OnTimer(c *dataflow.Context, _ string, t dataflow.TimerFiring, emit dataflow.Emitter[int]) error {
	n, _ := f.count.Read(c)
	f.count.Write(c, n+1)
	emit.Emit(int(c.Timestamp()))
	if n+1 < 3 {
		f.tick.Set(c, t.Time+1_000, dataflow.WithOutputTimestamp(t.Time))
	}
	return nil
}

// procFn sets a processing-time timer; on bounded input it fires at the end.
type procFn struct{ p *dataflow.Timer }

func (f *procFn) ProcessElement(c *dataflow.Context, e KV[string, int], _ dataflow.Emitter[string]) error {
	f.p.Set(c, 0)
	return nil
}

func (f *procFn) OnTimer(c *dataflow.Context, key string, t dataflow.TimerFiring, emit dataflow.Emitter[string]) error {
	emit.Emit(key + ":" + t.Domain.String())
	return nil
}

func stateCases() []Case {
	return []Case{
		{"State/ValuePerKeyAndWindow", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv("a", 1), 1_000), tv(kv("a", 2), 2_000), tv(kv("b", 3), 3_000), tv(kv("a", 4), 14_000))
			out := dataflow.StatefulParDo(s, "Count", dataflow.DoFn[KV[string, int], KV[string, int]](&countFn{n: dataflow.NewValueState[int]("n")}), in)
			passert.That(s, "Counts", out).WindowsEqual(map[dataflow.Window][]KV[string, int]{
				w10(0): {kv("a", 1), kv("a", 2), kv("b", 1)},
				w10(1): {kv("a", 1)},
			})
			return Expect{}
		}},
		{"State/BagCombiningSetMapWithEventTimer", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv("a", 3), 1_000), tv(kv("a", 1), 2_000), tv(kv("a", 3), 3_000), tv(kv("b", 5), 4_000), tv(kv("a", 7), 12_000))
			out := dataflow.StatefulParDo(s, "Flush", dataflow.DoFn[KV[string, int], string](newFlushFn()), in)
			passert.That(s, "Flushed", out).WindowedEquals(
				passert.At("a:[1 3 3] sum=7 distinct=2 last-set=true", w10(0).MaxTimestamp(), w10(0)),
				passert.At("b:[5] sum=5 distinct=1 last-set=true", w10(0).MaxTimestamp(), w10(0)),
				passert.At("a:[7] sum=7 distinct=1 last-set=true", w10(1).MaxTimestamp(), w10(1)),
			)
			return Expect{}
		}},
		{"Timer/LoopingWithOutputTimestamp", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv("k", 0), 1_000))
			out := dataflow.StatefulParDo(s, "Loop", dataflow.DoFn[KV[string, int], int](&loopFn{tick: dataflow.NewEventTimer("tick"), count: dataflow.NewValueState[int]("count")}), in)
			passert.That(s, "Ticks", out).WindowedEquals(
				passert.At(1_000, 1_000, w10(0)),
				passert.At(2_000, 2_000, w10(0)),
				passert.At(3_000, 3_000, w10(0)),
			)
			return Expect{}
		}},
		{"Timer/ProcessingTimeFiresAtEndOfBoundedInput", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv("a", 1), 1_000), tv(kv("b", 1), 2_000))
			out := dataflow.StatefulParDo(s, "Proc", dataflow.DoFn[KV[string, int], string](&procFn{p: dataflow.NewProcessingTimer("p")}), in)
			passert.Equals(s, "Fired", out, "a:processing-time", "b:processing-time")
			return Expect{}
		}},
		{"Timer/AfterWindowExpiryFails", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv("k", 0), 1_000))
			dataflow.StatefulParDo(s, "Late", dataflow.DoFn[KV[string, int], int](&loopFn{tick: dataflow.NewEventTimer("tick"), count: dataflow.NewValueState[int]("count")}),
				dataflow.WindowInto(s, "Tiny", dataflow.Fixed(500_000_000), in))
			return Expect{Error: []string{`"Late"`, "expires"}}
		}},
		{"State/FloatKeyRejected", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv(1.5, 1), 1_000))
			dataflow.StatefulParDo(s, "FloatState", dataflow.DoFn[KV[float64, int], KV[string, int]](dataflow.DoFnFunc[KV[float64, int], KV[string, int]](
				func(*dataflow.Context, KV[float64, int], dataflow.Emitter[KV[string, int]]) error { return nil })), in)
			return Expect{Rejected: true, Error: []string{"FloatState"}}
		}},
	}
}
