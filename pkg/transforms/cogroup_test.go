package transforms_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

type order struct {
	ID     int
	Amount float64
}

// coGrouped is a flattened CoGroupResult, for comparisons.
type coGrouped struct {
	Key      string
	Orders   []int
	Payments []string
	Flags    []bool
}

func TestCoGroupThreeInputs(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		orders := transforms.Create(s, "Orders", kv("ann", order{1, 10}), kv("ann", order{2, 20}), kv("bob", order{3, 5}))
		payments := transforms.Create(s, "Payments", kv("ann", "card"), kv("cat", "cash"))
		flags := transforms.Create(s, "Flags", kv("bob", true), kv("dan", false), kv("dan", true))

		cg := transforms.NewCoGroup[string](s, "CoGroup")
		oin := transforms.AddCoGroupInput(cg, orders)
		pin := transforms.AddCoGroupInput(cg, payments)
		fin := transforms.AddCoGroupInput(cg, flags)
		// The Reshuffle makes the runner encode the results with their derived coder.
		grouped := transforms.Reshuffle(s, "Reshuffle", cg.Apply())
		flat := transforms.Map(s, "Flatten", func(g transforms.KV[string, transforms.CoGroupResult]) coGrouped {
			r := coGrouped{Key: g.Key}
			for o := range oin.Values(g.Value) {
				r.Orders = append(r.Orders, o.ID)
			}
			slices.Sort(r.Orders)
			r.Payments = slices.Sorted(pin.Values(g.Value))
			for f := range fin.Values(g.Value) {
				r.Flags = append(r.Flags, f)
			}
			slices.SortFunc(r.Flags, func(a, b bool) int { return cmpBool(a, b) })
			if oin.Len(g.Value) != len(r.Orders) || g.Value.IsEmpty() {
				panic("Len or IsEmpty disagree with Values")
			}
			return r
		}, grouped)
		out := collect(s, "Out", flat)
		return func(t *testing.T) {
			want := []coGrouped{
				{Key: "ann", Orders: []int{1, 2}, Payments: []string{"card"}},
				{Key: "bob", Orders: []int{3}, Flags: []bool{true}},
				{Key: "cat", Payments: []string{"cash"}},
				{Key: "dan", Flags: []bool{false, true}},
			}
			if d := cmp.Diff(want, out.Values(), sorted(func(a, b coGrouped) bool { return a.Key < b.Key })); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func TestCoGroupWindowed(t *testing.T) {
	// Values meet only within their window.
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		fixed := dataflow.Fixed(10 * time.Millisecond)
		left := transforms.WindowInto(s, "WL", fixed, transforms.CreateTimestamped(s, "L", []transforms.Timestamped[transforms.KV[string, int]]{
			ts(kv("k", 1), 1), ts(kv("k", 2), 11),
		}))
		right := transforms.WindowInto(s, "WR", fixed, transforms.CreateTimestamped(s, "R", []transforms.Timestamped[transforms.KV[string, string]]{
			ts(kv("k", "a"), 5), ts(kv("k", "b"), 25),
		}))
		out := collect(s, "Out", transforms.FullOuterJoin(s, "Join", left, right))
		return func(t *testing.T) {
			want := []windowed[transforms.KV[string, transforms.Join[int, string]]]{
				{kv("k", transforms.Join[int, string]{Left: 1, Right: "a", HasLeft: true, HasRight: true}), win(0, 10)},
				{kv("k", transforms.Join[int, string]{Left: 2, HasLeft: true}), win(10, 20)},
				{kv("k", transforms.Join[int, string]{Right: "b", HasRight: true}), win(20, 30)},
			}
			got := windowedValues(out)
			if d := cmp.Diff(want, got, sorted(func(a, b windowed[transforms.KV[string, transforms.Join[int, string]]]) bool {
				return a.Window.Start < b.Window.Start
			})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		}
	})
}

func TestCoGroupErrors(t *testing.T) {
	err := buildErr(t, func(s dataflow.Scope) {
		cg := transforms.NewCoGroup[string](s, "Empty")
		if cg.Apply().Valid() {
			t.Error("Apply with no input gave a valid collection")
		}
	})
	if !strings.Contains(err.Error(), "at least one input") {
		t.Errorf("error %v", err)
	}

	err = buildErr(t, func(s dataflow.Scope) {
		cg := transforms.NewCoGroup[string](s, "NoCoder")
		transforms.AddCoGroupInput(cg, transforms.Create(s, "Funcs", kv("a", func() {})))
		cg.Apply()
	})
	if !strings.Contains(err.Error(), "no coder") {
		t.Errorf("error %v does not say the value has no coder", err)
	}

	err = buildErr(t, func(s dataflow.Scope) {
		cg := transforms.NewCoGroup[float64](s, "FloatKeys")
		transforms.AddCoGroupInput(cg, transforms.Create(s, "Nums", kv(1.5, 1)))
		cg.Apply()
	})
	if !strings.Contains(err.Error(), "FloatKeys/GroupByKey") {
		t.Errorf("error %v does not name the GroupByKey", err)
	}

	buildErr(t, func(s dataflow.Scope) {
		cg := transforms.NewCoGroup[string](s, "Twice")
		transforms.AddCoGroupInput(cg, transforms.Create(s, "Nums", kv("a", 1)))
		cg.Apply()
		cg.Apply()
	})

	err = buildErr(t, func(s dataflow.Scope) {
		cg := transforms.NewCoGroup[string](s, "Windows")
		transforms.AddCoGroupInput(cg, transforms.Create(s, "A", kv("a", 1)))
		transforms.AddCoGroupInput(cg, transforms.WindowInto(s, "Fixed", dataflow.Fixed(time.Second), transforms.Create(s, "B", kv("a", 1))))
		cg.Apply()
	})
	if !strings.Contains(err.Error(), "window") {
		t.Errorf("error %v does not mention windows", err)
	}
}

// joinRow is a Join as a comparable, printable row.
type joinRow struct {
	Key   string
	Left  string // "-" when missing
	Right string // "-" when missing
}

func joinRows(c *collected[transforms.KV[string, transforms.Join[int, string]]]) []joinRow {
	var rows []joinRow
	for _, e := range c.Values() {
		r := joinRow{Key: e.Key, Left: "-", Right: "-"}
		if e.Value.HasLeft {
			r.Left = fmt.Sprint(e.Value.Left)
		}
		if e.Value.HasRight {
			r.Right = e.Value.Right
		}
		rows = append(rows, r)
	}
	return rows
}

func TestJoins(t *testing.T) {
	type joinFn func(dataflow.Scope, string, dataflow.PCollection[transforms.KV[string, int]], dataflow.PCollection[transforms.KV[string, string]]) dataflow.PCollection[transforms.KV[string, transforms.Join[int, string]]]
	inner := []joinRow{{"both", "1", "x"}, {"both", "1", "y"}, {"both", "2", "x"}, {"both", "2", "y"}}
	leftOnly := []joinRow{{"left", "3", "-"}}
	rightOnly := []joinRow{{"right", "-", "z"}}
	for _, tc := range []struct {
		name string
		join joinFn
		want []joinRow
	}{
		{"inner", transforms.InnerJoin[string, int, string], inner},
		{"left-outer", transforms.LeftOuterJoin[string, int, string], slices.Concat(inner, leftOnly)},
		{"right-outer", transforms.RightOuterJoin[string, int, string], slices.Concat(inner, rightOnly)},
		{"full-outer", transforms.FullOuterJoin[string, int, string], slices.Concat(inner, leftOnly, rightOnly)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runModes(t, func(s dataflow.Scope) func(*testing.T) {
				left := transforms.Create(s, "Left", kv("both", 1), kv("both", 2), kv("left", 3))
				right := transforms.Create(s, "Right", kv("both", "x"), kv("both", "y"), kv("right", "z"))
				out := collect(s, "Out", tc.join(s, "Join", left, right))
				return func(t *testing.T) {
					less := func(a, b joinRow) bool { return fmt.Sprint(a) < fmt.Sprint(b) }
					if d := cmp.Diff(tc.want, joinRows(out), sorted(less)); d != "" {
						t.Errorf("(-want +got):\n%s", d)
					}
				}
			})
		})
	}
}

func TestJoinEmptySide(t *testing.T) {
	runModes(t, func(s dataflow.Scope) func(*testing.T) {
		left := transforms.Create(s, "Left", kv("a", 1))
		right := transforms.Create[transforms.KV[string, string]](s, "Right")
		inner := collect(s, "Inner", transforms.InnerJoin(s, "InnerJoin", left, right))
		outer := collect(s, "Outer", transforms.LeftOuterJoin(s, "LeftJoin", left, right))
		return func(t *testing.T) {
			if got := inner.Values(); len(got) != 0 {
				t.Errorf("inner join with an empty side gave %v", got)
			}
			if d := cmp.Diff([]joinRow{{"a", "1", "-"}}, joinRows(outer)); d != "" {
				t.Errorf("left join (-want +got):\n%s", d)
			}
		}
	})
}
