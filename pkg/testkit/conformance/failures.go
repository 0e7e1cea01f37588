package conformance

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// failingInput is 1, 2, 3 at 5s, 12s and 25s in 10s fixed windows: element 2
// is the one that fails, at 12s in [10s, 20s).
func failingInput(s dataflow.Scope) dataflow.PCollection[int] {
	return createFixed10(s, "Create", tv(1, 5_000), tv(2, 12_000), tv(3, 25_000))
}

// elementError is what an error about element 2 of failingInput names.
func elementError(transform string, more ...string) []string {
	return append([]string{transform, ms(12_000).String(), w10(1).String()}, more...)
}

func failureCases() []Case {
	return []Case{
		{"Failure/DoFnPanics", func(s dataflow.Scope) Expect {
			dataflow.ParDo(s, "Panicker", fn(func(_ *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				if v == 2 {
					panic("boom on two")
				}
				emit.Emit(v)
				return nil
			}), failingInput(s))
			return Expect{Error: elementError("Panicker", "boom on two")}
		}},
		{"Failure/DoFnReturnsError", func(s dataflow.Scope) Expect {
			dataflow.ParDo(s, "Failer", fn(func(_ *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				if v == 2 {
					return errors.New("bad element two")
				}
				emit.Emit(v)
				return nil
			}), failingInput(s))
			return Expect{Error: elementError("Failer", "bad element two")}
		}},
		{"Failure/ErrorInComposite", func(s dataflow.Scope) Expect {
			inner := s.Scope("Outer")
			transforms.MapErr(inner, "Inner", func(v int) (int, error) {
				if v == 2 {
					return 0, errors.New("bad element two")
				}
				return v, nil
			}, failingInput(s))
			return Expect{Error: elementError("Outer/Inner", "bad element two")}
		}},
		{"Failure/ErrorAfterGroupByKey", func(s dataflow.Scope) Expect {
			keyed := transforms.Map(s, "Key", func(v int) KV[int, int] { return kv(v, v) }, failingInput(s))
			g := dataflow.GroupByKey(s, "GroupByKey", keyed)
			dataflow.ParDo(s, "FailGroup", fn(func(_ *dataflow.Context, g KV[int, iter.Seq[int]], emit dataflow.Emitter[int]) error {
				if g.Key == 2 {
					return errors.New("bad group two")
				}
				emit.Emit(g.Key)
				return nil
			}), g)
			// The group's timestamp is the end of its window.
			return Expect{Error: []string{"FailGroup", "bad group two", w10(1).MaxTimestamp().String(), w10(1).String()}}
		}},
		{"Failure/PanicInFinishBundle", func(s dataflow.Scope) Expect {
			dataflow.ParDo[int, int](s, "BadFinish", &panicFinishFn{}, failingInput(s))
			return Expect{Error: []string{"BadFinish", "finish boom"}}
		}},
		{"Failure/CombineFnPanics", func(s dataflow.Scope) Expect {
			keyed := transforms.Map(s, "Key", func(v int) KV[string, int] { return kv("k", v) }, failingInput(s))
			dataflow.CombinePerKey(s, "BadCombine", dataflow.CombineFn[int, int, int](panicCombineFn{}), keyed)
			return Expect{Error: []string{"BadCombine", "combine boom"}}
		}},
		{"Failure/UndeclaredOutput", func(s dataflow.Scope) Expect {
			other := dataflow.NewOutput[int]("other")
			dataflow.ParDo(s, "EmitUndeclared", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				other.Emit(c, v)
				return nil
			}), failingInput(s))
			return Expect{Error: []string{"EmitUndeclared", "other"}}
		}},
		{"Failure/UndeclaredSideInput", func(s dataflow.Scope) Expect {
			side := dataflow.AsSingleton(transforms.Create(s, "Side", 1))
			dataflow.ParDo(s, "ReadUndeclared", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.Emit(v + side.Get(c))
				return nil
			}), failingInput(s))
			return Expect{Error: []string{"ReadUndeclared"}}
		}},
		{"Failure/DuplicateName", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", 1)
			transforms.Map(s, "Dup", func(v int) int { return v }, in)
			transforms.Map(s, "Dup", func(v int) int { return v }, in)
			return Expect{Rejected: true, Error: []string{`"Dup"`, "duplicate"}}
		}},
		{"Failure/FloatKey", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", kv(1.5, 1))
			dataflow.GroupByKey(s, "GroupFloats", in)
			return Expect{Rejected: true, Error: []string{"GroupFloats"}}
		}},
		{"Failure/PCollectionOfAnotherPipeline", func(s dataflow.Scope) Expect {
			other := dataflow.NewPipeline()
			foreign := transforms.Create(other.Root(), "Foreign", 1)
			transforms.Create(s, "Create", 1)
			transforms.Map(s, "UseForeign", func(v int) int { return v }, foreign)
			return Expect{Rejected: true, Error: []string{"UseForeign"}}
		}},
		{"Failure/SessionsSideInput", func(s dataflow.Scope) Expect {
			raw := transforms.CreateTimestamped(s, "Side", []transforms.Timestamped[int]{tv(1, 1_000)})
			sessions := dataflow.WindowInto(s, "Sessions", dataflow.Sessions(time.Second), raw)
			side := dataflow.AsSlice(sessions)
			dataflow.ParDo(s, "ReadSessions", fn(func(c *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
				emit.Emit(len(side.Get(c)))
				return nil
			}), transforms.Create(s, "Main", 1), dataflow.WithSideInputs(side))
			return Expect{Rejected: true, Error: []string{"ReadSessions"}}
		}},
		{"Failure/FlattenDifferentWindows", func(s dataflow.Scope) Expect {
			a := failingInput(s)
			b := transforms.Create(s, "Global", 1)
			dataflow.Flatten(s, "MixWindows", a, b)
			return Expect{Rejected: true, Error: []string{"MixWindows"}}
		}},
		{"Failure/InvalidTrigger", func(s dataflow.Scope) Expect {
			dataflow.WindowInto(s, "CountZero", dataflow.Global(), transforms.Create(s, "Create", 1), dataflow.Triggering(dataflow.AfterCount(0)))
			return Expect{Rejected: true, Error: []string{"CountZero"}}
		}},
		{"Failure/FailedAssertion", func(s dataflow.Scope) Expect {
			// A failed assertion fails the run and names itself.
			passert.Equals(s, "WrongSum", transforms.Sum(s, "Sum", transforms.Create(s, "Create", 1, 2)), 4)
			return Expect{Error: []string{"WrongSum", "missing", "4", "unexpected", "3"}}
		}},
	}
}

type panicFinishFn struct{}

func (*panicFinishFn) ProcessElement(_ *dataflow.Context, v int, emit dataflow.Emitter[int]) error {
	emit.Emit(v)
	return nil
}

func (*panicFinishFn) FinishBundle(context.Context, dataflow.WindowedEmitter[int]) error {
	panic("finish boom")
}

type panicCombineFn struct{}

func (panicCombineFn) CreateAccumulator() int { return 0 }
func (panicCombineFn) AddInput(a, v int) int {
	if v == 2 {
		panic("combine boom")
	}
	return a + v
}
func (panicCombineFn) MergeAccumulators(a, b int) int { return a + b }
func (panicCombineFn) ExtractOutput(a int) int        { return a }

func metricsCases() []Case {
	counter := dataflow.NewCounter("conformance", "elements")
	dist := dataflow.NewDistribution("conformance", "values")
	gauge := dataflow.NewGauge("conformance", "last")
	metered := func(c *dataflow.Context, v int64, emit dataflow.Emitter[int64]) error {
		counter.Inc(c, 1)
		dist.Update(c, v)
		gauge.Set(c, v)
		emit.Emit(v)
		return nil
	}
	checkMetrics := func(step string, n int64) func(m dataflow.Metrics) error {
		return func(m dataflow.Metrics) error {
			var errs []error
			key := func(name string) dataflow.MetricKey {
				return dataflow.MetricKey{Step: step, Namespace: "conformance", Name: name}
			}
			if got := m.Counters[key("elements")]; got != n {
				errs = append(errs, fmt.Errorf("counter conformance/elements of %q = %d, want %d (all counters: %v)", step, got, n, m.Counters))
			}
			want := dataflow.DistributionValue{Count: n, Sum: n * (n + 1) / 2, Min: 1, Max: n}
			if got := m.Distributions[key("values")]; got != want {
				errs = append(errs, fmt.Errorf("distribution conformance/values of %q = %+v, want %+v", step, got, want))
			}
			if g, ok := m.Gauges[key("last")]; !ok || g.Value < 1 || g.Value > n {
				errs = append(errs, fmt.Errorf("gauge conformance/last of %q = %+v (present: %t), want a value in [1, %d]", step, g, ok, n))
			}
			return errors.Join(errs...)
		}
	}
	return []Case{
		{"Metrics/ParDo", func(s dataflow.Scope) Expect {
			out := dataflow.ParDo(s, "Metered", fn(metered), transforms.Sequence(s, "Sequence", 1, 101))
			passert.Count(s, "Check", out, 100)
			return Expect{Metrics: checkMetrics("Metered", 100)}
		}},
		{"Metrics/InComposite", func(s dataflow.Scope) Expect {
			out := dataflow.ParDo(s.Scope("Outer"), "Metered", fn(metered), transforms.Sequence(s, "Sequence", 1, 11))
			passert.Count(s, "Check", out, 10)
			return Expect{Metrics: checkMetrics("Outer/Metered", 10)}
		}},
		{"Metrics/AfterGroupByKey", func(s dataflow.Scope) Expect {
			// Many workers update the metrics of one transform after an exchange.
			keyed := transforms.Map(s, "Key", func(v int64) KV[int64, int64] { return kv(v, v) }, transforms.Sequence(s, "Sequence", 1, 1001))
			g := dataflow.GroupByKey(s, "GroupByKey", keyed)
			keys := transforms.Map(s, "Keys", func(g KV[int64, iter.Seq[int64]]) int64 { return g.Key }, g)
			out := dataflow.ParDo(s, "Metered", fn(metered), keys)
			passert.Count(s, "Check", out, 1000)
			return Expect{Metrics: checkMetrics("Metered", 1000)}
		}},
	}
}
