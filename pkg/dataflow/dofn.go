package dataflow

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"
	"time"
)

// DoFn processes the elements of a ParDo's main input. Implement the optional
// lifecycle interfaces (Setupper, BundleStarter, BundleFinisher, Teardowner)
// on the same type for the rest of Beam's DoFn lifecycle.
//
// Each worker runs its own copy of a DoFn: a pointer to a struct is copied
// (shallowly) per worker, so fields set in Setup are per instance.
type DoFn[I, O any] interface {
	ProcessElement(c *Context, in I, emit Emitter[O]) error
}

// DoFnFunc adapts a function to DoFn.
type DoFnFunc[I, O any] func(c *Context, in I, emit Emitter[O]) error

// ProcessElement calls f.
func (f DoFnFunc[I, O]) ProcessElement(c *Context, in I, emit Emitter[O]) error {
	return f(c, in, emit)
}

// MapFn is a DoFn that maps each element to exactly one output with the
// input's timestamp and window. Runners process it batch at a time, with one
// function call per element.
type MapFn[I, O any] func(in I) O

// ProcessElement emits f(in).
func (f MapFn[I, O]) ProcessElement(_ *Context, in I, emit Emitter[O]) error {
	emit.Emit(f(in))
	return nil
}

// Setupper is a DoFn that prepares an instance before its first bundle.
type Setupper interface {
	Setup(ctx context.Context) error
}

// BundleStarter is a DoFn called at the start of each bundle.
type BundleStarter interface {
	StartBundle(ctx context.Context) error
}

// BundleFinisher is a DoFn called at the end of each bundle; it may emit
// elements, giving each its timestamp and window.
type BundleFinisher[O any] interface {
	FinishBundle(ctx context.Context, emit WindowedEmitter[O]) error
}

// Teardowner is a DoFn called once when its instance is discarded.
type Teardowner interface {
	Teardown(ctx context.Context) error
}

// Emitter sends elements to a ParDo's main output. Emitted elements keep the
// input element's window and pane.
type Emitter[O any] interface {
	// Emit outputs v with the input element's timestamp.
	Emit(v O)
	// EmitAt outputs v with timestamp t, which must not be earlier than the
	// input's timestamp minus the ParDo's allowed skew.
	EmitAt(v O, t EventTime)
}

// WindowedEmitter sends elements with an explicit timestamp and window (from FinishBundle).
type WindowedEmitter[O any] interface {
	Emit(v O, t EventTime, w Window)
}

// Context describes the element being processed: its timestamp, window and
// pane, and gives access to side inputs, extra outputs and metrics. It is only
// valid during the call it is passed to.
type Context struct {
	ctx   context.Context
	time  EventTime
	win   Window
	pane  PaneInfo
	op    *opState
	state StateBackend // the current key's state, in a StatefulParDo
}

// Context returns the context.Context of the run (cancelled when the run stops).
func (c *Context) Context() context.Context { return c.ctx }

// Timestamp returns the element's event timestamp.
func (c *Context) Timestamp() EventTime { return c.time }

// Window returns the element's window.
func (c *Context) Window() Window { return c.win }

// Pane returns the element's pane.
func (c *Context) Pane() PaneInfo { return c.pane }

// Transform returns the full name of the running transform.
func (c *Context) Transform() string {
	if c.op == nil {
		return ""
	}
	return c.op.transform
}

func (c *Context) metrics() *MetricsContainer {
	if c.op == nil {
		return nil
	}
	return c.op.metrics
}

// fail records an error that fails the element after the DoFn returns.
func (c *Context) fail(err error) {
	if err != nil && c.op != nil && c.op.err == nil {
		c.op.err = err
	}
}

// opState is shared by the Context and the emitters of one ParDo instance.
type opState struct {
	transform string
	spec      *ParDoSpec
	metrics   *MetricsContainer
	skew      EventTime
	outputs   []flusher // in output order
	sides     []SideInputData
	sideViews []sideCache
	err       error // first error raised through the Context during an element
	lateness  EventTime
}

// expiry is when the state of window w expires: its end plus allowed lateness.
func (s *opState) expiry(w Window) EventTime {
	if w.MaxTimestamp() >= EndOfGlobalWindow {
		return w.MaxTimestamp()
	}
	return w.MaxTimestamp() + s.lateness
}

func (c *Context) opSkew() EventTime {
	if c.op == nil {
		return 0
	}
	return c.op.skew
}

type sideCache struct {
	win  Window
	view any
	ok   bool
}

type flusher interface{ flush() error }

// emitter buffers the outputs of one ParDo output into batches.
type emitter[O any] struct {
	c   *Context
	buf []Elem[O]
	out Consumer[O]
}

func (e *emitter[O]) Emit(v O) {
	e.buf = append(e.buf, Elem[O]{Value: v, Time: e.c.time, Window: e.c.win, Pane: e.c.pane})
	if len(e.buf) >= BatchSize {
		e.c.fail(e.flush())
	}
}

func (e *emitter[O]) EmitAt(v O, t EventTime) {
	if t < e.c.time-e.c.op.skew {
		e.c.fail(fmt.Errorf("output timestamp %v is before the input timestamp %v minus the allowed skew (use WithAllowedSkew)", t, e.c.time))
		return
	}
	e.buf = append(e.buf, Elem[O]{Value: v, Time: t, Window: e.c.win, Pane: e.c.pane})
	if len(e.buf) >= BatchSize {
		e.c.fail(e.flush())
	}
}

func (e *emitter[O]) emitWindowed(v O, t EventTime, w Window) {
	e.buf = append(e.buf, Elem[O]{Value: v, Time: t, Window: w, Pane: NoFiringPane})
	if len(e.buf) >= BatchSize {
		e.c.fail(e.flush())
	}
}

func (e *emitter[O]) flush() error {
	if len(e.buf) == 0 {
		return nil
	}
	err := e.out.Consume(e.buf)
	clear(e.buf) // drop references for the GC
	e.buf = e.buf[:0]
	return err
}

type windowedEmitter[O any] struct{ e *emitter[O] }

func (w windowedEmitter[O]) Emit(v O, t EventTime, win Window) { w.e.emitWindowed(v, t, win) }

// Output is an additional, typed output of a ParDo. Create it with NewOutput,
// declare it with WithOutputs, emit to it from the DoFn, and get its
// PCollection once the ParDo is applied.
type Output[T any] struct {
	name  string
	owner *ParDoSpec
	index int
	pc    PCollection[T]
}

// NewOutput returns an output named name (unique within its ParDo).
func NewOutput[T any](name string) *Output[T] { return &Output[T]{name: name} }

// PCollection returns the collection of the output; valid after the ParDo that declares it is applied.
func (o *Output[T]) PCollection() PCollection[T] { return o.pc }

// Emit outputs v with the current element's timestamp and window.
func (o *Output[T]) Emit(c *Context, v T) {
	if e := o.emitter(c); e != nil {
		e.Emit(v)
	}
}

// EmitAt outputs v with timestamp t.
func (o *Output[T]) EmitAt(c *Context, v T, t EventTime) {
	if e := o.emitter(c); e != nil {
		e.EmitAt(v, t)
	}
}

func (o *Output[T]) emitter(c *Context) *emitter[T] {
	if c.op == nil || o.owner != c.op.spec {
		c.fail(fmt.Errorf("output %q is not declared by this ParDo (add it with WithOutputs)", o.name))
		return nil
	}
	return c.op.outputs[o.index].(*emitter[T])
}

// AnyOutput is an Output of any type, for WithOutputs.
type AnyOutput interface {
	outputName() string
	bind(s Scope, t *Transform, spec *ParDoSpec, index int, bounded bool, ws WindowingStrategy) error
	newEmitter(c *Context, out any) flusher
}

func (o *Output[T]) outputName() string { return o.name }

func (o *Output[T]) bind(s Scope, t *Transform, spec *ParDoSpec, index int, bounded bool, ws WindowingStrategy) error {
	if o.owner != nil {
		return fmt.Errorf("output %q is already declared by another ParDo", o.name)
	}
	o.owner, o.index = spec, index
	o.pc = newOutput[T](s.p, t, o.name, bounded, ws)
	return nil
}

func (o *Output[T]) newEmitter(c *Context, out any) flusher {
	return &emitter[T]{c: c, out: out.(Consumer[T]), buf: make([]Elem[T], 0, 64)}
}

// ParDoOption configures a ParDo.
type ParDoOption func(*parDoConfig)

type parDoConfig struct {
	sides   []SideInput
	outputs []AnyOutput
	skew    time.Duration
}

// WithSideInputs declares the side inputs the DoFn reads.
func WithSideInputs(sides ...SideInput) ParDoOption {
	return func(c *parDoConfig) { c.sides = append(c.sides, sides...) }
}

// WithOutputs declares additional outputs.
func WithOutputs(outs ...AnyOutput) ParDoOption {
	return func(c *parDoConfig) { c.outputs = append(c.outputs, outs...) }
}

// WithAllowedSkew lets the DoFn emit elements up to d before the input's timestamp.
func WithAllowedSkew(d time.Duration) ParDoOption {
	return func(c *parDoConfig) { c.skew = d }
}

// ParDo applies fn to every element of in and returns its main output.
func ParDo[I, O any](s Scope, name string, fn DoFn[I, O], in PCollection[I], opts ...ParDoOption) PCollection[O] {
	return parDo(s, name, fn, in, opts, nil, nil)
}

// parDo builds a ParDo; decorate adjusts the spec, wrap the op of each instance.
func parDo[I, O any](s Scope, name string, fn DoFn[I, O], in PCollection[I], opts []ParDoOption,
	decorate func(*ParDoSpec), wrap func(OpEnv, *parDoOp[I, O]) (Op, error)) PCollection[O] {
	var cfg parDoConfig
	for _, o := range opts {
		o(&cfg)
	}
	if fn == nil {
		s.Errorf(name, "nil DoFn")
		return PCollection[O]{}
	}
	spec := &ParDoSpec{Fn: fn, AllowedSkew: cfg.skew}
	t := s.addTransform(name, spec, []*Collection{in.c})
	if t == nil {
		return PCollection[O]{}
	}
	ws := in.c.Windowing
	bounded := in.c.Bounded
	for _, si := range cfg.sides {
		ss := si.sideSpec()
		if ss.Coll == nil || ss.Coll.pipeline != s.p {
			s.Errorf(name, "side input from an invalid PCollection or another pipeline")
			return PCollection[O]{}
		}
		if ss.Coll.Windowing.Fn.IsMerging() {
			s.Errorf(name, "side input %s has merging windows (%v), which cannot be side inputs", ss.Coll.Name, ss.Coll.Windowing.Fn)
			return PCollection[O]{}
		}
		spec.Sides = append(spec.Sides, ss)
		bounded = bounded && ss.Coll.Bounded
	}
	spec.OutputNames = []string{"out"}
	main := newOutput[O](s.p, t, "out", bounded, ws)
	seen := map[string]bool{"out": true}
	for i, o := range cfg.outputs {
		if seen[o.outputName()] || o.outputName() == "" {
			s.Errorf(name, "output name %q is empty or used twice", o.outputName())
			return PCollection[O]{}
		}
		seen[o.outputName()] = true
		if err := o.bind(s, t, spec, i+1, bounded, ws); err != nil {
			s.Errorf(name, "%v", err)
			return PCollection[O]{}
		}
		spec.OutputNames = append(spec.OutputNames, o.outputName())
	}
	outputs := cfg.outputs
	if decorate != nil {
		decorate(spec)
	}
	spec.newOp = func(env OpEnv) (Op, error) {
		op, err := newParDoOp(spec, fn, outputs, env)
		if err != nil || wrap == nil {
			return op, err
		}
		return wrap(env, op)
	}
	s.publish(t)
	return main
}

type parDoOp[I, O any] struct {
	fn    DoFn[I, O]
	st    opState
	c     Context
	main  *emitter[O]
	input ConsumerFunc[I]
}

func newParDoOp[I, O any](spec *ParDoSpec, fn DoFn[I, O], extra []AnyOutput, env OpEnv) (*parDoOp[I, O], error) {
	if len(env.Outputs) != 1+len(extra) {
		return nil, fmt.Errorf("ParDo %s: runner passed %d outputs, want %d", env.Transform, len(env.Outputs), 1+len(extra))
	}
	op := &parDoOp[I, O]{fn: cloneFn(fn)}
	op.st = opState{transform: env.Transform, spec: spec, metrics: env.Metrics, skew: EventTime(spec.AllowedSkew / time.Millisecond), sides: env.Sides}
	op.st.sideViews = make([]sideCache, len(env.Sides))
	op.c.op = &op.st
	op.main = &emitter[O]{c: &op.c, out: env.Outputs[0].(Consumer[O]), buf: make([]Elem[O], 0, BatchSize)}
	op.st.outputs = append(op.st.outputs, op.main)
	for i, o := range extra {
		op.st.outputs = append(op.st.outputs, o.newEmitter(&op.c, env.Outputs[i+1]))
	}
	op.input = op.consume
	if m, ok := any(fn).(MapFn[I, O]); ok {
		op.input = op.mapBatch(m)
	}
	return op, nil
}

// mapBatch is the batch path of a MapFn: no Context, no Emitter call per element.
func (op *parDoOp[I, O]) mapBatch(f MapFn[I, O]) ConsumerFunc[I] {
	return func(batch []Elem[I]) (err error) {
		var cur *Elem[I]
		defer func() {
			if r := recover(); r != nil {
				ee := &ElementError{Transform: op.st.transform, Panic: true, Stack: string(debug.Stack()), Err: &PanicError{Value: r}}
				if cur != nil {
					ee.Value, ee.Time, ee.Window = FormatValue(cur.Value), cur.Time, cur.Window
				}
				err = ee
			}
		}()
		e := op.main
		for i := range batch {
			cur = &batch[i]
			e.buf = append(e.buf, Elem[O]{Value: f(cur.Value), Time: cur.Time, Window: cur.Window, Pane: cur.Pane})
		}
		cur = nil
		// Flush here, outside the loop: a downstream failure is not this element's.
		return e.flush()
	}
}

// cloneFn gives each worker its own shallow copy of a struct DoFn.
func cloneFn[F any](fn F) F {
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fn
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	return cp.Interface().(F)
}

func (op *parDoOp[I, O]) Input() any { return Consumer[I](op.input) }

func (op *parDoOp[I, O]) Setup(ctx context.Context) error {
	if s, ok := any(op.fn).(Setupper); ok {
		return op.guard(nil, func() error { return s.Setup(ctx) }, "Setup")
	}
	return nil
}

func (op *parDoOp[I, O]) StartBundle(ctx context.Context) error {
	op.c.ctx = ctx
	if s, ok := any(op.fn).(BundleStarter); ok {
		return op.guard(nil, func() error { return s.StartBundle(ctx) }, "StartBundle")
	}
	return nil
}

func (op *parDoOp[I, O]) FinishBundle(ctx context.Context) error {
	if s, ok := any(op.fn).(BundleFinisher[O]); ok {
		if err := op.guard(nil, func() error { return s.FinishBundle(ctx, windowedEmitter[O]{op.main}) }, "FinishBundle"); err != nil {
			return err
		}
		if op.st.err != nil {
			return fmt.Errorf("transform %q: FinishBundle: %w", op.st.transform, op.st.err)
		}
	}
	return op.flush()
}

func (op *parDoOp[I, O]) Teardown(ctx context.Context) error {
	if s, ok := any(op.fn).(Teardowner); ok {
		return op.guard(nil, func() error { return s.Teardown(ctx) }, "Teardown")
	}
	return nil
}

func (op *parDoOp[I, O]) flush() error {
	for _, o := range op.st.outputs {
		if err := o.flush(); err != nil {
			return err
		}
	}
	return nil
}

// guard runs a lifecycle method, turning a panic into an error.
func (op *parDoOp[I, O]) guard(_ *Elem[I], f func() error, what string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("transform %q panicked in %s: %v\n%s", op.st.transform, what, r, debug.Stack())
		}
	}()
	if err := f(); err != nil {
		return fmt.Errorf("transform %q: %s: %w", op.st.transform, what, err)
	}
	return nil
}

func (op *parDoOp[I, O]) consume(batch []Elem[I]) (err error) {
	var cur *Elem[I]
	defer func() {
		if r := recover(); r != nil {
			if ee, ok := r.(*ElementError); ok { // a downstream operator's own report
				err = ee
				return
			}
			ee := &ElementError{Transform: op.st.transform, Panic: true, Stack: string(debug.Stack()), Err: &PanicError{Value: r}}
			if cur != nil {
				ee.Value, ee.Time, ee.Window = FormatValue(cur.Value), cur.Time, cur.Window
			}
			err = ee
		}
	}()
	c := &op.c
	for i := range batch {
		cur = &batch[i]
		c.time, c.win, c.pane = cur.Time, cur.Window, cur.Pane
		if err := op.fn.ProcessElement(c, cur.Value, op.main); err != nil {
			return NewElementError(op.st.transform, cur, err)
		}
		if op.st.err != nil {
			err := op.st.err
			op.st.err = nil
			if _, ok := err.(*ElementError); ok {
				return err // failure downstream, already attributed
			}
			return NewElementError(op.st.transform, cur, err)
		}
	}
	cur = nil
	return op.flush()
}
