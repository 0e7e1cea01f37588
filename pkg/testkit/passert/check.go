package passert

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// The metrics every assertion reports from its Check transform: one success
// or one failure per run. Verify reads them to make sure that every assertion
// ran, as Beam's TestPipeline counts PAssert successes.
const (
	MetricNamespace = "passert"
	SuccessCounter  = "success"
	FailureCounter  = "failure"
)

var (
	successes = dataflow.NewCounter(MetricNamespace, SuccessCounter)
	failures  = dataflow.NewCounter(MetricNamespace, FailureCounter)
)

// Error is the error of a failed assertion. A runner reports it wrapped in
// the error of the assertion's Check transform; in-process runners keep the
// chain, so errors.As finds it.
type Error struct {
	// Assertion is the full name of the assertion's composite transform.
	Assertion string
	// Selection describes the windows and panes the assertion was narrowed
	// to ("in window [...], in the on-time pane"), or is empty.
	Selection string
	// Message says what was expected and what was found, with a diff.
	Message string
}

func (e *Error) Error() string {
	sel := ""
	if e.Selection != "" {
		sel = " (" + e.Selection + ")"
	}
	return fmt.Sprintf("passert: assertion %q failed%s: %s", e.Assertion, sel, e.Message)
}

// checkFunc checks the selected elements of an assertion.
type checkFunc[T any] func(cx *checkCtx[T], got []dataflow.Elem[T]) error

// add builds the assertion in the composite a.name:
//
//	Reify        ParDo: each element becomes an Elem[T] value with its
//	             timestamp, window and pane
//	GlobalWindow WindowInto the global window with the default trigger, so
//	             the reified elements of every window form one side input that
//	             is complete once the input is
//	Impulse      one element, so that the check runs even when the input is empty
//	Check        ParDo over the impulse, reading the reified elements as a
//	             slice side input; it fails the run when the assertion fails
//
// Only primitives of the model are used, so every runner runs assertions.
func (a Assertion[T]) add(kind string, check checkFunc[T]) {
	if a.name == "" || strings.Contains(a.name, "/") {
		a.s.Errorf(a.name, "passert: assertion names must be non-empty and must not contain '/'")
		return
	}
	if !a.pc.Valid() {
		a.s.Errorf(a.name, "passert: %s on an invalid PCollection", kind)
		return
	}
	s := a.s.Scope(a.name)
	reified := dataflow.ParDo(s, "Reify", dataflow.DoFnFunc[T, dataflow.Elem[T]](reify[T]), a.pc)
	if !reified.Valid() {
		return
	}
	global := dataflow.WindowInto(s, "GlobalWindow", dataflow.Global(), reified, dataflow.Triggering(dataflow.Default()))
	if !global.Valid() {
		return
	}
	imp := dataflow.Impulse(s, "Impulse")
	if !imp.Valid() {
		return
	}
	descs := make([]string, len(a.sel))
	for i, sel := range a.sel {
		descs[i] = sel.desc
	}
	fn := &checkFn[T]{
		assertion: s.Path(),
		selection: strings.Join(descs, ", "),
		sel:       a.sel,
		side:      dataflow.AsSlice(global),
		cx:        &checkCtx[T]{opts: options(a.opts)},
		check:     check,
	}
	dataflow.ParDo[[]byte, struct{}](s, "Check", fn, imp, dataflow.WithSideInputs(fn.side))
}

func reify[T any](c *dataflow.Context, v T, emit dataflow.Emitter[dataflow.Elem[T]]) error {
	emit.Emit(dataflow.Elem[T]{Value: v, Time: c.Timestamp(), Window: c.Window(), Pane: c.Pane()})
	return nil
}

var _ dataflow.DoFn[[]byte, struct{}] = (*checkFn[int])(nil)

// checkFn is the DoFn of an assertion's Check transform.
type checkFn[T any] struct {
	assertion string
	selection string
	sel       []selector
	side      *dataflow.Slice[dataflow.Elem[T]]
	cx        *checkCtx[T]
	check     checkFunc[T]
}

// passertAssertion marks the DoFn of a Check transform, for Assertions and Verify.
func (f *checkFn[T]) passertAssertion() string { return f.assertion }

func (f *checkFn[T]) ProcessElement(c *dataflow.Context, _ []byte, _ dataflow.Emitter[struct{}]) error {
	if err := f.run(f.side.Get(c)); err != nil {
		failures.Inc(c, 1)
		return &Error{Assertion: f.assertion, Selection: f.selection, Message: err.Error()}
	}
	successes.Inc(c, 1)
	return nil
}

func (f *checkFn[T]) run(all []dataflow.Elem[T]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			// A panic of go-cmp (an option that does not fit the type, say)
			// or of a user predicate is the assertion's failure.
			err = fmt.Errorf("panic while checking: %v\n%s", r, debug.Stack())
		}
	}()
	got := make([]dataflow.Elem[T], 0, len(all))
	var strict []string
next:
	for _, e := range all {
		for _, sel := range f.sel {
			if !sel.keep(e.Window, e.Pane) {
				if sel.strict {
					strict = append(strict, fmt.Sprintf("%s@%v in %v %v (not %s)", format(e.Value), e.Time, e.Window, e.Pane, sel.desc))
				}
				continue next
			}
		}
		got = append(got, e)
	}
	if len(strict) > 0 {
		return fmt.Errorf("%d elements are in the wrong pane\n%s", len(strict), listStrings("wrong pane", strict))
	}
	return f.check(f.cx, got)
}

// checkCtx holds what the checks of one assertion share: its go-cmp options.
type checkCtx[T any] struct {
	opts cmp.Options
}

func (cx *checkCtx[T]) equal(a, b any) bool  { return cmp.Equal(a, b, cx.opts) }
func (cx *checkCtx[T]) diff(a, b any) string { return cmp.Diff(a, b, cx.opts) }
func (cx *checkCtx[T]) list(title string, vs []T) string {
	return listValues(title, vs)
}

func (cx *checkCtx[T]) matchMultiset(want, got []T) (missing, unexpected []T) {
	return matchMultiset(cx.opts, want, got)
}

func (cx *checkCtx[T]) equalMultiset(kind string, want, got []T) error {
	return equalMultisetOf(cx.opts, kind, want, got)
}
