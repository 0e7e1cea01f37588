package conformance

import (
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
)

func windowCases() []Case {
	return []Case{
		{"Window/Global", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv(1, 1_000), tv(2, 15_000))
			out := dataflow.WindowInto(s, "Global", dataflow.Global(), in)
			passert.That(s, "Check", out).WindowedEquals(
				passert.At(1, ms(1_000), dataflow.GlobalWindow),
				passert.At(2, ms(15_000), dataflow.GlobalWindow),
			)
			return Expect{}
		}},
		{"Window/Fixed", func(s dataflow.Scope) Expect {
			in := createFixed10(s, "Create", tv("a", 0), tv("b", 9_999), tv("c", 10_000), tv("d", 25_000), tv("e", -1))
			passert.That(s, "Check", in).WindowedEquals(
				passert.At("a", ms(0), w10(0)),
				passert.At("b", ms(9_999), w10(0)),
				passert.At("c", ms(10_000), w10(1)),
				passert.At("d", ms(25_000), w10(2)),
				passert.At("e", ms(-1), w10(-1)),
			)
			return Expect{}
		}},
		{"Window/FixedOffset", func(s dataflow.Scope) Expect {
			raw := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[string]{tv("a", 3_000), tv("b", 7_000), tv("c", 15_000)})
			out := dataflow.WindowInto(s, "Offset", dataflow.FixedOffset(10*time.Second, 5*time.Second), raw)
			passert.That(s, "Check", out).WindowedEquals(
				passert.At("a", ms(3_000), win(-5_000, 5_000)),
				passert.At("b", ms(7_000), win(5_000, 15_000)),
				passert.At("c", ms(15_000), win(15_000, 25_000)),
			)
			return Expect{}
		}},
		{"Window/Sliding", func(s dataflow.Scope) Expect {
			// 10s windows every 5s: each element is in two windows.
			raw := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[KV[string, int]]{tv(kv("k", 7), 7_000), tv(kv("k", 12), 12_000)})
			out := dataflow.WindowInto(s, "Sliding", dataflow.Sliding(10*time.Second, 5*time.Second), raw)
			passert.That(s, "Elements", out).WindowedEquals(
				passert.At(kv("k", 7), ms(7_000), win(0, 10_000)),
				passert.At(kv("k", 7), ms(7_000), win(5_000, 15_000)),
				passert.At(kv("k", 12), ms(12_000), win(5_000, 15_000)),
				passert.At(kv("k", 12), ms(12_000), win(10_000, 20_000)),
			)
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", out))
			passert.That(s, "Groups", g).WindowsEqual(map[dataflow.Window][]KV[string, []int]{
				win(0, 10_000):      {kv("k", []int{7})},
				win(5_000, 15_000):  {kv("k", []int{7, 12})},
				win(10_000, 20_000): {kv("k", []int{12})},
			})
			passert.That(s, "Sums", transforms.SumPerKey(s, "Sum", out)).WindowedEquals(
				passert.At(kv("k", 7), ms(9_999), win(0, 10_000)),
				passert.At(kv("k", 19), ms(14_999), win(5_000, 15_000)),
				passert.At(kv("k", 12), ms(19_999), win(10_000, 20_000)),
			)
			return Expect{}
		}},
		{"Window/Sessions", func(s dataflow.Scope) Expect {
			// Gap 5s. a: 1s and 2s merge, 10s is alone; b overlaps a's
			// sessions but keys never merge; c chains 1s, 5s, 9s into one
			// session.
			raw := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[KV[string, int]]{
				tv(kv("a", 1), 1_000), tv(kv("a", 2), 2_000), tv(kv("a", 10), 10_000),
				tv(kv("b", 3), 3_000), tv(kv("b", 5), 5_000),
				tv(kv("c", 1), 1_000), tv(kv("c", 9), 9_000), tv(kv("c", 5), 5_000),
			})
			sessions := dataflow.WindowInto(s, "Sessions", dataflow.Sessions(5*time.Second), raw)
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", sessions))
			passert.That(s, "Check", g).WindowedEquals(
				passert.At(kv("a", []int{1, 2}), ms(6_999), win(1_000, 7_000)),
				passert.At(kv("a", []int{10}), ms(14_999), win(10_000, 15_000)),
				passert.At(kv("b", []int{3, 5}), ms(9_999), win(3_000, 10_000)),
				passert.At(kv("c", []int{1, 5, 9}), ms(13_999), win(1_000, 14_000)),
			)
			passert.That(s, "OnlyPane", g).InOnlyPane().Count(4)
			return Expect{}
		}},
		{"Window/Rewindow", func(s dataflow.Scope) Expect {
			// Windowed group results can be windowed again and regrouped.
			in := createFixed10(s, "Create", tv(kv("k", 1), 1_000), tv(kv("k", 2), 12_000), tv(kv("k", 3), 25_000))
			sums := transforms.SumPerKey(s, "SumPer10s", in)
			again := dataflow.WindowInto(s, "Fixed30", dataflow.Fixed(30*time.Second), sums)
			passert.That(s, "Check", transforms.SumPerKey(s, "SumPer30s", again)).WindowedEquals(
				passert.At(kv("k", 6), ms(29_999), win(0, 30_000)),
			)
			return Expect{}
		}},
		{"Window/WindowSums", func(s dataflow.Scope) Expect {
			// The windowsum workload at small N: event i has timestamp i ms,
			// key (i*7919)%1000 and value i%997+1; sums per key and 10s window.
			const n = 35_000
			withTime := dataflow.ParDo(s, "EventTime", fn(func(_ *dataflow.Context, i int64, emit dataflow.Emitter[KV[int64, int64]]) error {
				emit.EmitAt(kv((i*7919)%1000, i%997+1), ms(i))
				return nil
			}), transforms.Sequence(s, "Events", 0, n))
			sums := transforms.SumPerKey(s, "Sum", fixed10(s, "Fixed", withTime))

			type wk struct {
				w dataflow.Window
				k int64
			}
			want := map[wk]int64{}
			var total int64
			for i := range int64(n) {
				w := w10(i / 10_000)
				want[wk{w, (i * 7919) % 1000}] += i%997 + 1
				total += i%997 + 1
			}
			var wantElems []passert.Windowed[KV[int64, int64]]
			for k, v := range want {
				wantElems = append(wantElems, passert.At(kv(k.k, v), k.w.MaxTimestamp(), k.w))
			}
			passert.Count(s, "Groups", sums, len(want))
			passert.Satisfies(s, "Total", sums, func(got []KV[int64, int64]) error {
				var sum int64
				for _, g := range got {
					sum += g.Value
				}
				return checkf(sum == total, "total of the sums is %d, want %d", sum, total)
			})
			passert.That(s, "Sums", sums).WindowedEquals(wantElems...)
			return Expect{}
		}},
	}
}

func timestampCombinerCases() []Case {
	// k has elements at 1s and 3s in [0,10); j one at 12s in [10,20).
	build := func(s dataflow.Scope, tc dataflow.TimestampCombiner, kAt, jAt int64) {
		raw := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[KV[string, int]]{
			tv(kv("k", 3), 3_000), tv(kv("k", 1), 1_000), tv(kv("j", 12), 12_000),
		})
		in := fixed10(s, "Fixed", raw, dataflow.WithTimestampCombiner(tc))
		g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
		passert.That(s, "CheckGroupByKey", g).WindowedEquals(
			passert.At(kv("k", []int{1, 3}), ms(kAt), w10(0)),
			passert.At(kv("j", []int{12}), ms(jAt), w10(1)),
		)
		passert.That(s, "CheckCombine", transforms.SumPerKey(s, "Sum", in)).WindowedEquals(
			passert.At(kv("k", 4), ms(kAt), w10(0)),
			passert.At(kv("j", 12), ms(jAt), w10(1)),
		)
	}
	return []Case{
		{"TimestampCombiner/EndOfWindow", func(s dataflow.Scope) Expect {
			build(s, dataflow.EndOfWindow, 9_999, 19_999)
			return Expect{}
		}},
		{"TimestampCombiner/Earliest", func(s dataflow.Scope) Expect {
			build(s, dataflow.Earliest, 1_000, 12_000)
			return Expect{}
		}},
		{"TimestampCombiner/Latest", func(s dataflow.Scope) Expect {
			build(s, dataflow.Latest, 3_000, 12_000)
			return Expect{}
		}},
		{"TimestampCombiner/SessionsEarliest", func(s dataflow.Scope) Expect {
			raw := transforms.CreateTimestamped(s, "Create", []transforms.Timestamped[KV[string, int]]{
				tv(kv("a", 2), 2_000), tv(kv("a", 1), 1_000), tv(kv("a", 4), 4_000),
			})
			in := dataflow.WindowInto(s, "Sessions", dataflow.Sessions(5*time.Second), raw, dataflow.WithTimestampCombiner(dataflow.Earliest))
			g := passert.Grouped(s, "Materialize", dataflow.GroupByKey(s, "GroupByKey", in))
			passert.That(s, "Check", g).WindowedEquals(passert.At(kv("a", []int{1, 2, 4}), ms(1_000), win(1_000, 9_000)))
			return Expect{}
		}},
	}
}
