package passert

import (
	"fmt"
	"slices"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Assertion is an assertion about a PCollection under construction. Narrow it
// to a window or to panes with the In... methods, then finish it with one
// terminal method (Equals, Count, Panes, ...), which adds the assertion's
// transforms to the pipeline under the composite name given to That.
//
// An Assertion is an immutable value: every In... method returns a new one,
// so one base can be narrowed in several ways, but each terminal method adds a
// composite under the same name, so each assertion needs a name of its own.
type Assertion[T any] struct {
	s    dataflow.Scope
	name string
	pc   dataflow.PCollection[T]
	sel  []selector
	opts []cmp.Option
}

// That starts an assertion named name about pc (Beam's PAssert.that). Without
// an In... method it is about every element of pc, in every window and pane.
func That[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T]) Assertion[T] {
	return Assertion[T]{s: s, name: name, pc: pc}
}

// selector narrows the elements an assertion looks at by window and pane.
type selector struct {
	desc string
	keep func(w dataflow.Window, p dataflow.PaneInfo) bool
	// strict makes an element that does not match fail the assertion
	// instead of being left out (Beam's inOnlyPane).
	strict bool
}

func (a Assertion[T]) with(sel selector) Assertion[T] {
	a.sel = append(slices.Clip(a.sel), sel)
	return a
}

// InWindow narrows the assertion to the elements in window w (Beam's
// PAssert.inWindow: every pane of w).
func (a Assertion[T]) InWindow(w dataflow.Window) Assertion[T] {
	return a.with(selector{desc: "in window " + w.String(), keep: func(ew dataflow.Window, _ dataflow.PaneInfo) bool { return ew == w }})
}

// InGlobalWindow narrows the assertion to the elements in the global window.
func (a Assertion[T]) InGlobalWindow() Assertion[T] { return a.InWindow(dataflow.GlobalWindow) }

// InOnTimePane narrows the assertion to the elements of on-time panes (Beam's
// inOnTimePane). Elements that were never grouped (timing unknown, Beam's
// NO_FIRING pane) are in the only pane of their window and count as on time.
func (a Assertion[T]) InOnTimePane() Assertion[T] {
	return a.with(selector{desc: "in the on-time pane", keep: func(_ dataflow.Window, p dataflow.PaneInfo) bool {
		return p.Timing == dataflow.PaneOnTime || p.Timing == dataflow.PaneUnknown
	}})
}

// InFinalPane narrows the assertion to the elements of final panes, those
// marked IsLast (Beam's inFinalPane).
func (a Assertion[T]) InFinalPane() Assertion[T] {
	return a.with(selector{desc: "in the final pane", keep: func(_ dataflow.Window, p dataflow.PaneInfo) bool { return p.IsLast }})
}

// InEarlyPanes narrows the assertion to the elements of early panes, all of
// them together (Beam's inEarlyPane).
func (a Assertion[T]) InEarlyPanes() Assertion[T] {
	return a.with(selector{desc: "in early panes", keep: func(_ dataflow.Window, p dataflow.PaneInfo) bool { return p.Timing == dataflow.PaneEarly }})
}

// InLatePanes narrows the assertion to the elements of late panes, all of
// them together (Beam's inLatePane).
func (a Assertion[T]) InLatePanes() Assertion[T] {
	return a.with(selector{desc: "in late panes", keep: func(_ dataflow.Window, p dataflow.PaneInfo) bool { return p.Timing == dataflow.PaneLate }})
}

// InNonLatePanes narrows the assertion to the elements of every pane that is
// not late (Beam's inCombinedNonLatePanes).
func (a Assertion[T]) InNonLatePanes() Assertion[T] {
	return a.with(selector{desc: "in non-late panes", keep: func(_ dataflow.Window, p dataflow.PaneInfo) bool { return p.Timing != dataflow.PaneLate }})
}

// InOnlyPane requires every element (of the windows selected so far) to be
// in a pane that is both first and last, as a trigger that fires once per
// window produces, and fails the assertion otherwise (Beam's inOnlyPane).
func (a Assertion[T]) InOnlyPane() Assertion[T] {
	return a.with(selector{desc: "in the only pane", strict: true, keep: func(_ dataflow.Window, p dataflow.PaneInfo) bool { return p.IsFirst && p.IsLast }})
}

// WithCmpOptions adds go-cmp options to the comparisons of the assertion's
// elements (for example cmpopts.EquateApprox for floats). Every comparison
// already sees unexported fields and treats nil and empty slices and maps as
// equal.
func (a Assertion[T]) WithCmpOptions(opts ...cmp.Option) Assertion[T] {
	a.opts = append(slices.Clip(a.opts), opts...)
	return a
}

// Equals asserts that the elements are want, in any order, as a multiset:
// each value must appear as many times as in want (Beam's containsInAnyOrder).
func (a Assertion[T]) Equals(want ...T) {
	want = slices.Clone(want)
	a.add("Equals", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		return cx.equalMultiset("Equals", want, values(got))
	})
}

// EqualsList asserts that the elements are want in this order. A runner only
// defines the order of elements that one worker produced in sequence: a
// collection of at most one element per window (the result of a global
// combine, for example), or the output of a single DoFn call. For anything
// else use Equals.
func (a Assertion[T]) EqualsList(want ...T) {
	want = slices.Clone(want)
	a.add("EqualsList", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		vs := values(got)
		if cx.equal(want, vs) {
			return nil
		}
		return fmt.Errorf("EqualsList: got %d elements, want %d, in order\ndiff (-want +got):\n%s", len(vs), len(want), cx.diff(want, vs))
	})
}

// ContainsAll asserts that every value of want is among the elements (as a
// multiset: a value wanted twice must appear at least twice); other elements
// may be present too.
func (a Assertion[T]) ContainsAll(want ...T) {
	want = slices.Clone(want)
	a.add("ContainsAll", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		missing, _ := cx.matchMultiset(want, values(got))
		if len(missing) == 0 {
			return nil
		}
		return fmt.Errorf("ContainsAll: %d of %d wanted elements are missing from %d elements\n%s", len(missing), len(want), len(got), cx.list("missing (want, not got)", missing))
	})
}

// Count asserts that there are n elements.
func (a Assertion[T]) Count(n int) {
	a.add("Count", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		if len(got) == n {
			return nil
		}
		return fmt.Errorf("Count: got %d elements, want %d\n%s", len(got), n, cx.list("got", values(got)))
	})
}

// Empty asserts that there are no elements (Beam's PAssert.empty).
func (a Assertion[T]) Empty() {
	a.add("Empty", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		if len(got) == 0 {
			return nil
		}
		return fmt.Errorf("Empty: got %d elements, want none\n%s", len(got), cx.list("got", values(got)))
	})
}

// NonEmpty asserts that there is at least one element.
func (a Assertion[T]) NonEmpty() {
	a.add("NonEmpty", func(_ *checkCtx[T], got []dataflow.Elem[T]) error {
		if len(got) > 0 {
			return nil
		}
		return fmt.Errorf("NonEmpty: got no elements")
	})
}

// True asserts that every element satisfies pred (which holds trivially when
// there are no elements).
func (a Assertion[T]) True(pred func(T) bool) {
	if pred == nil {
		a.s.Errorf(a.name, "passert: nil predicate")
		return
	}
	a.add("True", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		var bad []T
		for _, e := range got {
			if !pred(e.Value) {
				bad = append(bad, e.Value)
			}
		}
		if len(bad) == 0 {
			return nil
		}
		return fmt.Errorf("True: %d of %d elements do not satisfy the predicate\n%s", len(bad), len(got), cx.list("failing", bad))
	})
}

// False asserts that no element satisfies pred.
func (a Assertion[T]) False(pred func(T) bool) {
	if pred == nil {
		a.s.Errorf(a.name, "passert: nil predicate")
		return
	}
	a.add("False", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		var bad []T
		for _, e := range got {
			if pred(e.Value) {
				bad = append(bad, e.Value)
			}
		}
		if len(bad) == 0 {
			return nil
		}
		return fmt.Errorf("False: %d of %d elements satisfy the predicate\n%s", len(bad), len(got), cx.list("satisfying", bad))
	})
}

// Satisfies asserts that check returns nil for the elements, given in no
// particular order (Beam's satisfies).
func (a Assertion[T]) Satisfies(check func(got []T) error) {
	if check == nil {
		a.s.Errorf(a.name, "passert: nil check")
		return
	}
	a.add("Satisfies", func(_ *checkCtx[T], got []dataflow.Elem[T]) error {
		if err := check(values(got)); err != nil {
			return fmt.Errorf("Satisfies: %w", err)
		}
		return nil
	})
}

// SatisfiesElems is Satisfies with each element's timestamp, window and pane.
func (a Assertion[T]) SatisfiesElems(check func(got []dataflow.Elem[T]) error) {
	if check == nil {
		a.s.Errorf(a.name, "passert: nil check")
		return
	}
	a.add("SatisfiesElems", func(_ *checkCtx[T], got []dataflow.Elem[T]) error {
		if err := check(got); err != nil {
			return fmt.Errorf("SatisfiesElems: %w", err)
		}
		return nil
	})
}

// Windowed is a value with its event timestamp and window: what
// WindowedEquals compares (Beam's TimestampedValue, with its window).
type Windowed[T any] struct {
	Value  T
	Time   dataflow.EventTime
	Window dataflow.Window
}

// At returns the Windowed of v at time t in window w.
func At[T any](v T, t dataflow.EventTime, w dataflow.Window) Windowed[T] {
	return Windowed[T]{Value: v, Time: t, Window: w}
}

func (w Windowed[T]) String() string {
	return fmt.Sprintf("%s@%v in %v", format(w.Value), w.Time, w.Window)
}

// WindowedEquals asserts that the elements, with their timestamps and
// windows, are want, in any order (as a multiset). Panes are not compared.
func (a Assertion[T]) WindowedEquals(want ...Windowed[T]) {
	want = slices.Clone(want)
	a.add("WindowedEquals", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		gw := make([]Windowed[T], len(got))
		for i, e := range got {
			gw[i] = Windowed[T]{Value: e.Value, Time: e.Time, Window: e.Window}
		}
		return equalMultisetOf(cx.opts, "WindowedEquals", want, gw)
	})
}

// WindowsEqual asserts that the elements are in exactly the windows of want
// and that each window holds its values of want, in any order.
func (a Assertion[T]) WindowsEqual(want map[dataflow.Window][]T) {
	w := make(map[dataflow.Window][]T, len(want))
	for k, v := range want {
		w[k] = slices.Clone(v)
	}
	a.add("WindowsEqual", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		return cx.windowsEqual(w, got)
	})
}

// Pane is what one pane of one window holds: the expectation of Panes.
type Pane[T any] struct {
	Window dataflow.Window
	Pane   dataflow.PaneInfo
	// Values are the elements of the pane, in any order.
	Values []T
}

// Panes asserts the panes of every window: the elements are grouped by
// window and PaneInfo, and the groups, ordered by window and pane index, must
// be want's (each pane's values compared in any order). Elements of different
// keys that fired with equal PaneInfo share one group, so pane-by-pane
// assertions are clearest on collections with one key.
func (a Assertion[T]) Panes(want ...Pane[T]) {
	want = slices.Clone(want)
	a.add("Panes", func(cx *checkCtx[T], got []dataflow.Elem[T]) error {
		return cx.panesEqual(want, got)
	})
}

// Equals asserts that pc holds exactly want, in any order; see Assertion.Equals.
func Equals[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T], want ...T) {
	That(s, name, pc).Equals(want...)
}

// EqualsList asserts that pc holds want in order; see Assertion.EqualsList.
func EqualsList[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T], want ...T) {
	That(s, name, pc).EqualsList(want...)
}

// ContainsAll asserts that pc holds at least want; see Assertion.ContainsAll.
func ContainsAll[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T], want ...T) {
	That(s, name, pc).ContainsAll(want...)
}

// Count asserts that pc holds n elements.
func Count[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T], n int) {
	That(s, name, pc).Count(n)
}

// Empty asserts that pc is empty.
func Empty[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T]) {
	That(s, name, pc).Empty()
}

// NonEmpty asserts that pc is not empty.
func NonEmpty[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T]) {
	That(s, name, pc).NonEmpty()
}

// True asserts that every element of pc satisfies pred.
func True[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T], pred func(T) bool) {
	That(s, name, pc).True(pred)
}

// False asserts that no element of pc satisfies pred.
func False[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T], pred func(T) bool) {
	That(s, name, pc).False(pred)
}

// Satisfies asserts that check accepts the elements of pc.
func Satisfies[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T], check func(got []T) error) {
	That(s, name, pc).Satisfies(check)
}

// Panes asserts the panes of every window of pc; see Assertion.Panes.
func Panes[T any](s dataflow.Scope, name string, pc dataflow.PCollection[T], want ...Pane[T]) {
	That(s, name, pc).Panes(want...)
}

func values[T any](es []dataflow.Elem[T]) []T {
	vs := make([]T, len(es))
	for i := range es {
		vs[i] = es[i].Value
	}
	return vs
}
