package dataflow

import (
	"fmt"
)

// ElementError is the error of user code (a DoFn, a CombineFn, a source or a
// sink) while it handled one element. It names the transform and the element.
type ElementError struct {
	Transform string
	Value     string // the element, formatted with %v and shortened
	Time      EventTime
	Window    Window
	Panic     bool   // the user code panicked
	Stack     string // the stack of the panic
	Err       error
}

func (e *ElementError) Error() string {
	what := "failed"
	if e.Panic {
		what = "panicked"
	}
	return fmt.Sprintf("transform %q %s on element %s (timestamp %v, window %v): %v", e.Transform, what, e.Value, e.Time, e.Window, e.Err)
}

func (e *ElementError) Unwrap() error { return e.Err }

// FormatValue renders an element for error messages, shortened to 200 bytes.
func FormatValue(v any) string {
	s := fmt.Sprintf("%+v", v)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// NewElementError makes an ElementError for element e of transform.
func NewElementError[T any](transform string, e *Elem[T], err error) *ElementError {
	return &ElementError{Transform: transform, Value: FormatValue(e.Value), Time: e.Time, Window: e.Window, Err: err}
}

// PanicError wraps a recovered panic value.
type PanicError struct {
	Value any
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }
