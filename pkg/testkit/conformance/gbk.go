package conformance

import (
	"fmt"
	"iter"
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
)

type structKey struct {
	Name string
	N    int
}

func groupByKeyCases() []Case {
	return []Case{
		{"GroupByKey/Basic", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", kv("a", 1), kv("b", 2), kv("a", 3), kv("c", 4), kv("a", 5))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			passert.Equals(s, "Check", g, kv("a", []int{1, 3, 5}), kv("b", []int{2}), kv("c", []int{4}))
			return Expect{}
		}},
		{"GroupByKey/Empty", func(s dataflow.Scope) Expect {
			in := transforms.Create[KV[string, int]](s, "Create")
			passert.Empty(s, "Check", dataflow.GroupByKey(s, "GroupByKey", in))
			return Expect{}
		}},
		{"GroupByKey/OutputTimestampAndPane", func(s dataflow.Scope) Expect {
			// In the global window with the default trigger: one on-time
			// pane per key, at the end of the global window.
			in := transforms.Create(s, "Create", kv("a", 1), kv("a", 2), kv("b", 3))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			end := dataflow.GlobalWindow.MaxTimestamp()
			passert.That(s, "Timestamps", g).WindowedEquals(
				passert.At(kv("a", []int{1, 2}), end, dataflow.GlobalWindow),
				passert.At(kv("b", []int{3}), end, dataflow.GlobalWindow),
			)
			passert.Panes(s, "Panes", g, passert.Pane[KV[string, []int]]{
				Window: dataflow.GlobalWindow, Pane: onTimeOnly,
				Values: []KV[string, []int]{kv("a", []int{1, 2}), kv("b", []int{3})},
			})
			return Expect{}
		}},
		{"GroupByKey/ManyKeys", func(s dataflow.Scope) Expect {
			const n, keys = 20_000, 1000
			in := transforms.Map(s, "Key", func(i int64) KV[int64, int64] { return kv(i%keys, i) }, transforms.Sequence(s, "Sequence", 0, n))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			passert.Count(s, "Count", g, keys)
			passert.True(s, "Groups", g, func(g KV[int64, []int64]) bool {
				if len(g.Value) != n/keys {
					return false
				}
				for i, v := range g.Value {
					if v != g.Key+int64(i)*keys {
						return false
					}
				}
				return true
			})
			return Expect{}
		}},
		{"GroupByKey/ManyValues", func(s dataflow.Scope) Expect {
			const n = 100_000
			in := transforms.Map(s, "Key", func(i int64) KV[string, int64] { return kv("k", i) }, transforms.Sequence(s, "Sequence", 0, n))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			passert.Satisfies(s, "Check", g, func(got []KV[string, []int64]) error {
				if len(got) != 1 {
					return fmt.Errorf("%d groups, want 1", len(got))
				}
				vs := got[0].Value
				if len(vs) != n {
					return fmt.Errorf("%d values, want %d", len(vs), n)
				}
				for i, v := range vs {
					if v != int64(i) {
						return fmt.Errorf("sorted value %d is %d", i, v)
					}
				}
				return nil
			})
			return Expect{}
		}},
		{"GroupByKey/Reiterable", func(s dataflow.Scope) Expect {
			// Grouped values can be iterated more than once (Beam's
			// GroupByKey output is a re-iterable).
			in := transforms.Create(s, "Create", kv("a", 1), kv("a", 2), kv("a", 3))
			g := dataflow.GroupByKey(s, "GroupByKey", in)
			out := dataflow.ParDo(s, "Twice", fn(func(_ *dataflow.Context, g KV[string, iter.Seq[int]], emit dataflow.Emitter[KV[int, int]]) error {
				first, second := 0, 0
				for v := range g.Value {
					first += v
				}
				for v := range g.Value {
					second += v
				}
				emit.Emit(kv(first, second))
				return nil
			}), g)
			passert.Equals(s, "Check", out, kv(6, 6))
			return Expect{}
		}},
		{"GroupByKey/StructKey", func(s dataflow.Scope) Expect {
			in := transforms.Create(s, "Create", kv(structKey{"a", 1}, 1), kv(structKey{"a", 2}, 2), kv(structKey{"a", 1}, 3))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			passert.Equals(s, "Check", g, kv(structKey{"a", 1}, []int{1, 3}), kv(structKey{"a", 2}, []int{2}))
			return Expect{}
		}},
		{"GroupByKey/FixedWindows", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(kv("a", 1), 1_000), tv(kv("a", 2), 9_999), tv(kv("a", 3), 10_000), tv(kv("b", 4), 5_000))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			passert.That(s, "Check", g).WindowedEquals(
				passert.At(kv("a", []int{1, 2}), w10(0).MaxTimestamp(), w10(0)),
				passert.At(kv("b", []int{4}), w10(0).MaxTimestamp(), w10(0)),
				passert.At(kv("a", []int{3}), w10(1).MaxTimestamp(), w10(1)),
			)
			passert.That(s, "OnlyPane", g).InOnlyPane().Count(3)
			return Expect{}
		}},
		{"GroupByKey/Twice", func(s dataflow.Scope) Expect {
			// Group, sum per key, re-key by parity and group again.
			in := transforms.Create(s, "Create", kv(1, 1), kv(1, 2), kv(2, 3), kv(3, 4), kv(3, 5))
			sums := dataflow.ParDo(s, "Sum", fn(func(_ *dataflow.Context, g KV[int, iter.Seq[int]], emit dataflow.Emitter[KV[string, int]]) error {
				sum := 0
				for v := range g.Value {
					sum += v
				}
				parity := "even"
				if g.Key%2 == 1 {
					parity = "odd"
				}
				emit.Emit(kv(parity, sum))
				return nil
			}), dataflow.GroupByKey(s, "First", in))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "Second", sums))
			passert.Equals(s, "Check", g, kv("odd", []int{3, 9}), kv("even", []int{3}))
			return Expect{}
		}},
	}
}

// cogroupRow is one CoGroupByKey result, materialized for comparison.
type cogroupRow struct {
	Key    string
	Emails []string
	Phones []int
}

func coGroupCases() []Case {
	left := func(s dataflow.Scope) dataflow.PCollection[KV[string, int]] {
		return transforms.Create(s, "Left", kv("a", 1), kv("a", 2), kv("b", 3))
	}
	right := func(s dataflow.Scope) dataflow.PCollection[KV[string, string]] {
		return transforms.Create(s, "Right", kv("a", "x"), kv("c", "y"))
	}
	type J = transforms.Join[int, string]
	both := func(l int, r string) J { return J{Left: l, Right: r, HasLeft: true, HasRight: true} }
	inner := []KV[string, J]{kv("a", both(1, "x")), kv("a", both(2, "x"))}
	leftOnly := kv("b", J{Left: 3, HasLeft: true})
	rightOnly := kv("c", J{Right: "y", HasRight: true})
	return []Case{
		{"CoGroupByKey/Basic", func(s dataflow.Scope) Expect {
			emails := transforms.Create(s, "Emails", kv("amy", "amy@a"), kv("bob", "bob@b"), kv("amy", "amy@c"))
			phones := transforms.Create(s, "Phones", kv("amy", 1), kv("carl", 3), kv("carl", 2))
			out := cogroup(s, emails, phones)
			passert.Equals(s, "Check", out,
				cogroupRow{"amy", []string{"amy@a", "amy@c"}, []int{1}},
				cogroupRow{"bob", []string{"bob@b"}, nil},
				cogroupRow{"carl", nil, []int{2, 3}},
			)
			return Expect{}
		}},
		{"CoGroupByKey/Windowed", func(s dataflow.Scope) Expect {
			emails := createFixed10(s, "Emails", tv(kv("amy", "early"), 1_000), tv(kv("amy", "late"), 11_000))
			phones := createFixed10(s, "Phones", tv(kv("amy", 1), 2_000))
			out := cogroup(s, emails, phones)
			passert.That(s, "Check", out).WindowsEqual(map[dataflow.Window][]cogroupRow{
				w10(0): {{"amy", []string{"early"}, []int{1}}},
				w10(1): {{"amy", []string{"late"}, nil}},
			})
			return Expect{}
		}},
		{"Join/Inner", func(s dataflow.Scope) Expect {
			passert.Equals(s, "Check", transforms.InnerJoin(s, "Join", left(s), right(s)), inner...)
			return Expect{}
		}},
		{"Join/LeftOuter", func(s dataflow.Scope) Expect {
			passert.Equals(s, "Check", transforms.LeftOuterJoin(s, "Join", left(s), right(s)), append(slices.Clone(inner), leftOnly)...)
			return Expect{}
		}},
		{"Join/RightOuter", func(s dataflow.Scope) Expect {
			passert.Equals(s, "Check", transforms.RightOuterJoin(s, "Join", left(s), right(s)), append(slices.Clone(inner), rightOnly)...)
			return Expect{}
		}},
		{"Join/EmptySide", func(s dataflow.Scope) Expect {
			none := transforms.Create[KV[string, string]](s, "None")
			out := transforms.LeftOuterJoin(s, "Join", left(s), none)
			passert.Equals(s, "Check", out, kv("a", J{Left: 1, HasLeft: true}), kv("a", J{Left: 2, HasLeft: true}), leftOnly)
			passert.Empty(s, "Inner", transforms.InnerJoin(s, "InnerJoin", left(s.Scope("Again")), none))
			return Expect{}
		}},
		{"Join/FullOuter", func(s dataflow.Scope) Expect {
			passert.Equals(s, "Check", transforms.FullOuterJoin(s, "Join", left(s), right(s)), append(slices.Clone(inner), leftOnly, rightOnly)...)
			return Expect{}
		}},
	}
}

// cogroup co-groups emails and phones and materializes each result.
func cogroup(s dataflow.Scope, emails dataflow.PCollection[KV[string, string]], phones dataflow.PCollection[KV[string, int]]) dataflow.PCollection[cogroupRow] {
	cg := transforms.NewCoGroup[string](s, "CoGroupByKey")
	e := transforms.AddCoGroupInput(cg, emails)
	p := transforms.AddCoGroupInput(cg, phones)
	grouped := cg.Apply()
	return dataflow.ParDo(s, "Materialize", fn(func(_ *dataflow.Context, r KV[string, transforms.CoGroupResult], emit dataflow.Emitter[cogroupRow]) error {
		row := cogroupRow{Key: r.Key, Emails: slices.Sorted(e.Values(r.Value)), Phones: slices.Sorted(p.Values(r.Value))}
		emit.Emit(row)
		return nil
	}), grouped)
}

func flattenCases() []Case {
	return []Case{
		{"Flatten/Several", func(s dataflow.Scope) Expect {
			a := transforms.Create(s, "A", 1, 2)
			b := transforms.Create(s, "B", 3)
			c := transforms.Create(s, "C", 4, 5)
			passert.Equals(s, "Check", dataflow.Flatten(s, "Flatten", a, b, c), 1, 2, 3, 4, 5)
			return Expect{}
		}},
		{"Flatten/SameInputTwice", func(s dataflow.Scope) Expect {
			a := transforms.Create(s, "A", 1, 2)
			passert.Equals(s, "Check", dataflow.Flatten(s, "Flatten", a, a), 1, 1, 2, 2)
			return Expect{}
		}},
		{"Flatten/SameInputTwiceThenGroup", func(s dataflow.Scope) Expect {
			a := transforms.Create(s, "A", kv("k", 1), kv("k", 2))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", dataflow.Flatten(s, "Flatten", a, a)))
			passert.Equals(s, "Check", g, kv("k", []int{1, 1, 2, 2}))
			return Expect{}
		}},
		{"Flatten/NoInputs", func(s dataflow.Scope) Expect {
			passert.Empty(s, "Check", dataflow.Flatten[int](s, "Flatten"))
			return Expect{}
		}},
		{"Flatten/EmptyAndNonEmpty", func(s dataflow.Scope) Expect {
			a := transforms.Create[int](s, "A")
			b := transforms.Create(s, "B", 1)
			passert.Equals(s, "Check", dataflow.Flatten(s, "Flatten", a, b), 1)
			return Expect{}
		}},
		{"Flatten/Windowed", func(s dataflow.Scope) Expect {
			a := createFixed10(s, "A", tv(kv("k", 1), 1_000), tv(kv("k", 2), 11_000))
			b := createFixed10(s, "B", tv(kv("k", 3), 2_000))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", dataflow.Flatten(s, "Flatten", a, b)))
			passert.That(s, "Check", g).WindowsEqual(map[dataflow.Window][]KV[string, []int]{
				w10(0): {kv("k", []int{1, 3})},
				w10(1): {kv("k", []int{2})},
			})
			return Expect{}
		}},
	}
}

func reshuffleCases() []Case {
	return []Case{
		{"Reshuffle/KeepsTimestampsAndWindows", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv("a", 1_000), tv("b", 12_000), tv("c", 12_000), tv("c", 25_000))
			out := dataflow.Reshuffle(s, "Reshuffle", in)
			passert.That(s, "Check", out).WindowedEquals(
				passert.At("a", ms(1_000), w10(0)),
				passert.At("b", ms(12_000), w10(1)),
				passert.At("c", ms(12_000), w10(1)),
				passert.At("c", ms(25_000), w10(2)),
			)
			return Expect{}
		}},
		{"Reshuffle/Many", func(s dataflow.Scope) Expect {
			const n = 10_000
			out := dataflow.Reshuffle(s, "Reshuffle", transforms.Sequence(s, "Sequence", 0, n))
			want := make([]int64, n)
			for i := range want {
				want[i] = int64(i)
			}
			passert.Equals(s, "Check", out, want...)
			return Expect{}
		}},
		{"Reshuffle/KeepsPanes", func(s dataflow.Scope) Expect {
			// Sluice's Reshuffle keeps panes, as Beam's does since it
			// started to preserve PaneInfo.
			in := createFixed10(s, "Create", tv(kv("k", 1), 1_000), tv(kv("k", 2), 12_000))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			out := dataflow.Reshuffle(s, "Reshuffle", g)
			passert.Panes(s, "Check", out,
				passert.Pane[KV[string, []int]]{Window: w10(0), Pane: onTimeOnly, Values: []KV[string, []int]{kv("k", []int{1})}},
				passert.Pane[KV[string, []int]]{Window: w10(1), Pane: onTimeOnly, Values: []KV[string, []int]{kv("k", []int{2})}},
			)
			return Expect{}
		}},
	}
}
