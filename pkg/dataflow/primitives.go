package dataflow

import (
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"runtime/debug"
)

// Impulse returns a collection of one empty []byte at MinTime in the global
// window: the root that Create and other sources are built on.
func Impulse(s Scope, name string) PCollection[[]byte] {
	t := s.addTransform(name, &ImpulseSpec{}, nil)
	if t == nil {
		return PCollection[[]byte]{}
	}
	out := newOutput[[]byte](s.p, t, "out", true, DefaultWindowing())
	s.publish(t)
	return out
}

// BoundedSource is a finite source of elements that can be split for parallel reading.
type BoundedSource[T any] interface {
	// Split divides the source into about desired parts (one part is fine).
	Split(ctx context.Context, desired int) ([]BoundedSource[T], error)
	// Read reads the whole source into out, in batches of elements with their
	// timestamps (MinTime if the source has none) and the global window.
	Read(ctx context.Context, out Consumer[T]) error
}

type anySource[T any] struct{ src BoundedSource[T] }

func (a anySource[T]) Split(ctx context.Context, desired int) ([]AnySource, error) {
	parts, err := a.src.Split(ctx, desired)
	if err != nil {
		return nil, err
	}
	out := make([]AnySource, len(parts))
	for i, p := range parts {
		out[i] = anySource[T]{p}
	}
	return out, nil
}

func (a anySource[T]) ReadAll(ctx context.Context, out any) error {
	return a.src.Read(ctx, out.(Consumer[T]))
}

func (a anySource[T]) String() string { return fmt.Sprintf("%v", a.src) }

func (a anySource[T]) EstimatedBytes() int64 {
	if s, ok := a.src.(SizedSource); ok {
		return s.EstimatedBytes()
	}
	return -1
}

// SizedSource is a source that knows its size, for progress reports. A
// BoundedSource (and each of its splits) may implement it.
type SizedSource interface {
	// EstimatedBytes returns the bytes the source will read, or -1 if unknown.
	EstimatedBytes() int64
}

// FileSource is a split of a file-based source; progress reports count the
// files read from the splits that implement it.
type FileSource interface {
	SourceFile() string
}

func (a anySource[T]) SourceFile() string {
	if f, ok := a.src.(FileSource); ok {
		return f.SourceFile()
	}
	return ""
}

// Read returns the elements of a bounded source.
func Read[T any](s Scope, name string, src BoundedSource[T]) PCollection[T] {
	if src == nil {
		s.Errorf(name, "nil source")
		return PCollection[T]{}
	}
	t := s.addTransform(name, &ReadSpec{Source: anySource[T]{src}}, nil)
	if t == nil {
		return PCollection[T]{}
	}
	out := newOutput[T](s.p, t, "out", true, DefaultWindowing())
	s.publish(t)
	return out
}

// GroupByKey groups the values of each key and window. Values arrive as a
// re-iterable iter.Seq. The key type must have a deterministic encoding.
func GroupByKey[K comparable, V any](s Scope, name string, in PCollection[KV[K, V]]) PCollection[KV[K, iter.Seq[V]]] {
	out, _ := groupByKey(s, name, in, false)
	return out
}

// GroupByKeyWithLateData is GroupByKey with a second output: the elements
// a streaming runner drops because they arrive behind the watermark by
// more than the allowed lateness (or into a window whose trigger has
// finished), instead of only counting them, as Flink's sideOutputLateData.
// Late elements keep their timestamp and window. On bounded input nothing
// is late and the second output is empty.
func GroupByKeyWithLateData[K comparable, V any](s Scope, name string, in PCollection[KV[K, V]]) (PCollection[KV[K, iter.Seq[V]]], PCollection[KV[K, V]]) {
	return groupByKey(s, name, in, true)
}

func groupByKey[K comparable, V any](s Scope, name string, in PCollection[KV[K, V]], late bool) (PCollection[KV[K, iter.Seq[V]]], PCollection[KV[K, V]]) {
	kc, err := KeyCoderOf[K]()
	if err != nil {
		s.Errorf(name, "key type cannot be grouped: %v", err)
		return PCollection[KV[K, iter.Seq[V]]]{}, PCollection[KV[K, V]]{}
	}
	vc, err := CoderOf[V]()
	if err != nil {
		s.Errorf(name, "value type has no coder: %v", err)
		return PCollection[KV[K, iter.Seq[V]]]{}, PCollection[KV[K, V]]{}
	}
	if in.c != nil {
		if err := in.c.Windowing.Validate(); err != nil {
			s.Errorf(name, "invalid windowing of input: %v", err)
			return PCollection[KV[K, iter.Seq[V]]]{}, PCollection[KV[K, V]]{}
		}
	}
	spec := &GroupByKeySpec{KeyCoder: Erase(kc), ValueCoder: Erase(vc), Kernel: gbkKernel[K, V]{kc, vc}, LateOutput: late}
	t := s.addTransform(name, spec, []*Collection{in.c})
	if t == nil {
		return PCollection[KV[K, iter.Seq[V]]]{}, PCollection[KV[K, V]]{}
	}
	out := newOutput[KV[K, iter.Seq[V]]](s.p, t, "out", in.c.Bounded, groupedWindowing(in.c.Windowing))
	var lateOut PCollection[KV[K, V]]
	if late {
		lateOut = newOutput[KV[K, V]](s.p, t, "late", in.c.Bounded, in.c.Windowing)
	}
	s.publish(t)
	return out, lateOut
}

// groupedWindowing is the windowing of a GroupByKey's output: the input's,
// with the trigger's continuation, as Beam does.
func groupedWindowing(ws WindowingStrategy) WindowingStrategy {
	ws.Trigger = ContinuationTrigger(ws.Trigger)
	return ws
}

// ContinuationTrigger returns the trigger that a downstream GroupByKey uses
// after a GroupByKey with trigger t (Beam's getContinuationTrigger): counts
// become AfterCount(1), processing-time delays become immediate.
func ContinuationTrigger(t Trigger) Trigger {
	conts := func(ts []Trigger) []Trigger {
		out := make([]Trigger, len(ts))
		for i, c := range ts {
			out[i] = ContinuationTrigger(c)
		}
		return out
	}
	switch t := t.(type) {
	case AfterWatermarkTrigger:
		if t.Early != nil {
			t.Early = ContinuationTrigger(t.Early)
		}
		if t.Late != nil {
			t.Late = ContinuationTrigger(t.Late)
		}
		return t
	case AfterCountTrigger:
		return AfterCountTrigger{N: 1}
	case AfterProcessingTimeTrigger:
		return AfterProcessingTimeTrigger{}
	case RepeatTrigger:
		return RepeatTrigger{Sub: ContinuationTrigger(t.Sub)}
	case AfterEachTrigger:
		return RepeatTrigger{Sub: AfterAnyTrigger{Subs: conts(t.Subs)}}
	case AfterAnyTrigger:
		return AfterAnyTrigger{Subs: conts(t.Subs)}
	case AfterAllTrigger:
		return AfterAllTrigger{Subs: conts(t.Subs)}
	case OrFinallyTrigger:
		return OrFinallyTrigger{Main: ContinuationTrigger(t.Main), Finally: ContinuationTrigger(t.Finally)}
	}
	return t
}

type gbkKernel[K comparable, V any] struct {
	kc Coder[K]
	vc Coder[V]
}

func (g gbkKernel[K, V]) NewEncoder(sink KVSink) any {
	var kb, vb []byte
	return ConsumerFunc[KV[K, V]](func(b []Elem[KV[K, V]]) error {
		for i := range b {
			kb = g.kc.Encode(kb[:0], b[i].Value.Key)
			vb = g.vc.Encode(vb[:0], b[i].Value.Value)
			if err := sink.Add(kb, vb, b[i].Time, b[i].Window); err != nil {
				return err
			}
		}
		return nil
	})
}

// NewLateDecoder returns a LateSink that decodes dropped elements and
// sends them to out, a Consumer[KV[K,V]].
func (g gbkKernel[K, V]) NewLateDecoder(out any) LateSink {
	return &lateDecoder[K, V]{g: g, out: out.(Consumer[KV[K, V]])}
}

type lateDecoder[K comparable, V any] struct {
	g   gbkKernel[K, V]
	out Consumer[KV[K, V]]
	buf []Elem[KV[K, V]]
}

func (d *lateDecoder[K, V]) Add(key, value []byte, t EventTime, w Window) error {
	k, _, err := d.g.kc.Decode(key)
	if err != nil {
		return fmt.Errorf("decode grouping key: %w", err)
	}
	v, _, err := d.g.vc.Decode(value)
	if err != nil {
		return fmt.Errorf("decode value: %w", err)
	}
	d.buf = append(d.buf, Elem[KV[K, V]]{Value: KV[K, V]{k, v}, Time: t, Window: w, Pane: NoFiringPane})
	if len(d.buf) >= BatchSize {
		return d.Flush()
	}
	return nil
}

func (d *lateDecoder[K, V]) Flush() error {
	if len(d.buf) == 0 {
		return nil
	}
	err := d.out.Consume(d.buf)
	clear(d.buf)
	d.buf = d.buf[:0]
	return err
}

func (g gbkKernel[K, V]) NewDecoder(out any) GroupSink {
	return &groupDecoder[K, V]{g: g, out: out.(Consumer[KV[K, iter.Seq[V]]])}
}

type groupDecoder[K comparable, V any] struct {
	g   gbkKernel[K, V]
	out Consumer[KV[K, iter.Seq[V]]]
	buf []Elem[KV[K, iter.Seq[V]]]
}

func (d *groupDecoder[K, V]) Emit(key []byte, values EncodedValues, t EventTime, w Window, pane PaneInfo) error {
	k, _, err := d.g.kc.Decode(key)
	if err != nil {
		return fmt.Errorf("decode grouping key: %w", err)
	}
	vc := d.g.vc
	seq := func(yield func(V) bool) {
		for b := range values.All() {
			v, _, err := vc.Decode(b)
			if err != nil {
				panic(fmt.Errorf("decode grouped value of key %v: %w", k, err))
			}
			if !yield(v) {
				return
			}
		}
	}
	d.buf = append(d.buf, Elem[KV[K, iter.Seq[V]]]{Value: KV[K, iter.Seq[V]]{k, seq}, Time: t, Window: w, Pane: pane})
	if len(d.buf) >= BatchSize {
		return d.Flush()
	}
	return nil
}

func (d *groupDecoder[K, V]) Flush() error {
	if len(d.buf) == 0 {
		return nil
	}
	err := d.out.Consume(d.buf)
	clear(d.buf)
	d.buf = d.buf[:0]
	return err
}

// Flatten returns the union of its inputs, which must have the same WindowFn.
func Flatten[T any](s Scope, name string, ins ...PCollection[T]) PCollection[T] {
	cs := make([]*Collection, len(ins))
	for i, in := range ins {
		cs[i] = in.c
	}
	t := s.addTransform(name, &FlattenSpec{}, cs)
	if t == nil {
		return PCollection[T]{}
	}
	ws := DefaultWindowing()
	if len(cs) > 0 {
		ws = cs[0].Windowing
		for _, c := range cs[1:] {
			if !c.Windowing.Fn.Equal(ws.Fn) {
				s.Errorf(name, "inputs have different window fns (%v and %v); Flatten needs compatible windowing", ws.Fn, c.Windowing.Fn)
				return PCollection[T]{}
			}
		}
	}
	out := newOutput[T](s.p, t, "out", inputsBounded(cs), ws)
	s.publish(t)
	return out
}

// WindowInto assigns each element to the windows of fn and sets the
// collection's trigger, accumulation mode, allowed lateness and timestamp
// combiner. Options not given keep the input's values, as in Beam.
func WindowInto[T any](s Scope, name string, fn WindowFn, in PCollection[T], opts ...WindowOption) PCollection[T] {
	if in.c == nil {
		s.Errorf(name, "invalid input")
		return PCollection[T]{}
	}
	ws := in.c.Windowing
	if fn != nil {
		ws.Fn = fn
	}
	for _, o := range opts {
		o(&ws)
	}
	if err := ws.Validate(); err != nil {
		s.Errorf(name, "%v", err)
		return PCollection[T]{}
	}
	spec := &WindowIntoSpec{Strategy: ws}
	t := s.addTransform(name, spec, []*Collection{in.c})
	if t == nil {
		return PCollection[T]{}
	}
	wfn := ws.Fn
	spec.newOp = func(env OpEnv) (Op, error) {
		return &windowOp[T]{fn: wfn, out: env.Outputs[0].(Consumer[T])}, nil
	}
	out := newOutput[T](s.p, t, "out", in.c.Bounded, ws)
	s.publish(t)
	return out
}

type windowOp[T any] struct {
	fn   WindowFn
	out  Consumer[T]
	buf  []Elem[T]
	wins []Window
}

func (o *windowOp[T]) Input() any                         { return ConsumerFunc[T](o.consume) }
func (o *windowOp[T]) Setup(context.Context) error        { return nil }
func (o *windowOp[T]) StartBundle(context.Context) error  { return nil }
func (o *windowOp[T]) FinishBundle(context.Context) error { return nil }
func (o *windowOp[T]) Teardown(context.Context) error     { return nil }

func (o *windowOp[T]) consume(b []Elem[T]) error {
	if f, ok := o.fn.(FixedWindows); ok { // the common case, without the slice of windows
		for i := range b {
			o.wins = f.AssignWindows(o.wins[:0], b[i].Time)
			b[i].Window = o.wins[0]
		}
		return o.out.Consume(b)
	}
	for i := range b {
		o.wins = o.fn.AssignWindows(o.wins[:0], b[i].Time)
		for _, w := range o.wins {
			e := b[i]
			e.Window = w
			o.buf = append(o.buf, e)
		}
		if len(o.buf) >= BatchSize {
			if err := o.flush(); err != nil {
				return err
			}
		}
	}
	return o.flush()
}

func (o *windowOp[T]) flush() error {
	if len(o.buf) == 0 {
		return nil
	}
	err := o.out.Consume(o.buf)
	clear(o.buf)
	o.buf = o.buf[:0]
	return err
}

// Reshuffle redistributes elements across workers: a fusion break that
// spreads skewed or expanding work. Elements keep timestamp, window and pane.
func Reshuffle[T any](s Scope, name string, in PCollection[T]) PCollection[T] {
	t := s.addTransform(name, &ReshuffleSpec{}, []*Collection{in.c})
	if t == nil {
		return PCollection[T]{}
	}
	out := newOutput[T](s.p, t, "out", in.c.Bounded, in.c.Windowing)
	s.publish(t)
	return out
}

// Sink is where Write puts elements, with a two-phase commit: shard writers
// write, then Commit makes everything visible at once (or Abort removes it).
type Sink[T any] interface {
	NewWriter(ctx context.Context, shard int) (SinkWriter[T], error)
	Commit(ctx context.Context, results []any) error
	Abort(ctx context.Context, results []any) error
}

// SinkWriter writes one shard of a Sink.
type SinkWriter[T any] interface {
	Write(batch []Elem[T]) error
	Close(ctx context.Context) (any, error)
}

type anySink[T any] struct{ s Sink[T] }

func (a anySink[T]) NewWriter(ctx context.Context, shard int) (AnySinkWriter, error) {
	w, err := a.s.NewWriter(ctx, shard)
	if err != nil {
		return nil, err
	}
	return anySinkWriter[T]{w}, nil
}
func (a anySink[T]) Commit(ctx context.Context, r []any) error { return a.s.Commit(ctx, r) }
func (a anySink[T]) Abort(ctx context.Context, r []any) error  { return a.s.Abort(ctx, r) }
func (a anySink[T]) String() string                            { return fmt.Sprintf("%v", a.s) }

type anySinkWriter[T any] struct{ w SinkWriter[T] }

func (a anySinkWriter[T]) Input() any                             { return ConsumerFunc[T](a.w.Write) }
func (a anySinkWriter[T]) Close(ctx context.Context) (any, error) { return a.w.Close(ctx) }

// Write writes in to sink. It has no output.
func Write[T any](s Scope, name string, sink Sink[T], in PCollection[T]) {
	if sink == nil {
		s.Errorf(name, "nil sink")
		return
	}
	t := s.addTransform(name, &WriteSpec{Sink: anySink[T]{sink}}, []*Collection{in.c})
	if t == nil {
		return
	}
	s.publish(t)
}

// CombineFn combines values into an accumulator and extracts a result, as
// Beam's CombineFn: AddInput and MergeAccumulators may modify and return their
// first argument. ExtractOutput must not modify its accumulator, which may be
// used again afterwards (accumulating panes).
type CombineFn[I, A, O any] interface {
	CreateAccumulator() A
	AddInput(acc A, in I) A
	MergeAccumulators(a, b A) A
	ExtractOutput(acc A) O
}

// CombinePerKey combines the values of each key and window with fn. Runners
// lift it (combine before the shuffle) when the windowing allows.
func CombinePerKey[K comparable, I, A, O any](s Scope, name string, fn CombineFn[I, A, O], in PCollection[KV[K, I]]) PCollection[KV[K, O]] {
	if fn == nil {
		s.Errorf(name, "nil CombineFn")
		return PCollection[KV[K, O]]{}
	}
	spec := &CombineSpec{Fn: fn, Kernel: combineKernel[K, I, A, O]{fn: fn}}
	t := s.addTransform(name, spec, []*Collection{in.c})
	if t == nil {
		return PCollection[KV[K, O]]{}
	}
	// The expansion: GroupByKey, then combine each group.
	var exp []*Transform
	inner := Scope{p: s.p, path: s.join(name), exp: &exp}
	grouped := GroupByKey(inner, "GroupByKey", in)
	if !grouped.Valid() {
		return PCollection[KV[K, O]]{}
	}
	out := ParDo(inner, "CombineValues", DoFnFunc[KV[K, iter.Seq[I]], KV[K, O]](
		func(c *Context, g KV[K, iter.Seq[I]], emit Emitter[KV[K, O]]) error {
			acc := fn.CreateAccumulator()
			for v := range g.Value {
				acc = fn.AddInput(acc, v)
			}
			emit.Emit(KV[K, O]{g.Key, fn.ExtractOutput(acc)})
			return nil
		}), grouped)
	spec.Expansion = exp
	out.c.Producer = t
	t.Outputs = []*Collection{out.c}
	s.publish(t)
	return out
}

type combineKernel[K comparable, I, A, O any] struct {
	fn CombineFn[I, A, O]
}

type accEntry[A any] struct {
	acc A
	t   EventTime
}

func (ck combineKernel[K, I, A, O]) NewLifted(transform string, partitions int, tc TimestampCombiner) LiftedCombine {
	return &liftedCombine[K, I, A, O]{name: transform, fn: ck.fn, tc: tc, store: TypeOf[KV[K, A]]().NewStore(partitions), seed: maphash.MakeSeed()}
}

type liftedCombine[K comparable, I, A, O any] struct {
	name  string // the Combine transform, for errors
	fn    CombineFn[I, A, O]
	tc    TimestampCombiner
	store Store // of KV[K, A]
	seed  maphash.Seed
}

func combineTime(tc TimestampCombiner, a, b EventTime) EventTime {
	switch tc {
	case Earliest:
		return MinOf(a, b)
	case Latest:
		return MaxOf(a, b)
	}
	return a
}

func outputTime(tc TimestampCombiner, t EventTime, w Window) EventTime {
	if tc == EndOfWindow {
		return w.MaxTimestamp()
	}
	return MinOf(t, w.MaxTimestamp())
}

// partialTable holds a worker's accumulators by window, then key. Elements
// mostly arrive window by window, so the window's table is cached and the
// per-element lookup is a map on the key alone; accumulators live in slices,
// not one heap object each.
type partialTable[K comparable, A any] struct {
	byWindow map[Window]*winTable[K, A]
	wins     []Window // in first-seen order
	lastWin  Window
	last     *winTable[K, A]
	entries  int
}

type winTable[K comparable, A any] struct {
	idx  map[K]int32
	keys []K
	accs []accEntry[A]
}

func newPartialTable[K comparable, A any]() *partialTable[K, A] {
	return &partialTable[K, A]{byWindow: map[Window]*winTable[K, A]{}}
}

func (t *partialTable[K, A]) window(w Window) *winTable[K, A] {
	if t.last != nil && t.lastWin == w {
		return t.last
	}
	m := t.byWindow[w]
	if m == nil {
		// Windows tend to hold as many keys as the one before.
		n := 0
		if t.last != nil {
			n = len(t.last.keys)
		}
		m = &winTable[K, A]{idx: make(map[K]int32, n), keys: make([]K, 0, n), accs: make([]accEntry[A], 0, n)}
		t.byWindow[w] = m
		t.wins = append(t.wins, w)
	}
	t.lastWin, t.last = w, m
	return m
}

// entry returns the accumulator of key k, and whether it existed.
func (wt *winTable[K, A]) entry(k K) (*accEntry[A], bool) {
	if i, ok := wt.idx[k]; ok {
		return &wt.accs[i], true
	}
	wt.idx[k] = int32(len(wt.keys))
	wt.keys = append(wt.keys, k)
	wt.accs = append(wt.accs, accEntry[A]{})
	return &wt.accs[len(wt.accs)-1], false
}

func (t *partialTable[K, A]) reset() {
	clear(t.byWindow)
	t.wins = t.wins[:0]
	t.last, t.entries = nil, 0
}

func (l *liftedCombine[K, I, A, O]) NewPartial(maxEntries int) (any, func() error) {
	table := newPartialTable[K, A]()
	parts := l.store.Partitions()
	bufs := make([][]Elem[KV[K, A]], parts)
	send := func(p int) error {
		err := l.store.Appender(p).(Consumer[KV[K, A]]).Consume(bufs[p])
		clear(bufs[p])
		bufs[p] = bufs[p][:0]
		return err
	}
	flush := func() error {
		for _, w := range table.wins {
			wt := table.byWindow[w]
			for i, k := range wt.keys {
				p := int(maphash.Comparable(l.seed, k) % uint64(parts))
				bufs[p] = append(bufs[p], Elem[KV[K, A]]{Value: KV[K, A]{k, wt.accs[i].acc}, Time: wt.accs[i].t, Window: w})
				if len(bufs[p]) >= BatchSize {
					if err := send(p); err != nil {
						return err
					}
				}
			}
		}
		for p, b := range bufs {
			if len(b) > 0 {
				if err := send(p); err != nil {
					return err
				}
			}
		}
		table.reset()
		return nil
	}
	consume := ConsumerFunc[KV[K, I]](func(b []Elem[KV[K, I]]) error {
		if err := addInputs(table, l.name, l.fn, l.tc, b); err != nil {
			return err
		}
		if table.entries > maxEntries {
			return flush()
		}
		return nil
	})
	return Consumer[KV[K, I]](consume), flush
}

// addInputs adds a batch of inputs to a partial table; a panic in the
// CombineFn is returned as an ElementError naming transform and element.
func addInputs[K comparable, I, A, O any](table *partialTable[K, A], transform string, fn CombineFn[I, A, O], tc TimestampCombiner, b []Elem[KV[K, I]]) (err error) {
	var e *Elem[KV[K, I]]
	defer func() {
		if r := recover(); r != nil {
			err = &ElementError{Transform: transform, Value: FormatValue(e.Value), Time: e.Time, Window: e.Window, Panic: true, Stack: string(debug.Stack()), Err: &PanicError{Value: r}}
		}
	}()
	for i := range b {
		e = &b[i]
		ae, ok := table.window(e.Window).entry(e.Value.Key)
		if ok {
			ae.acc = fn.AddInput(ae.acc, e.Value.Value)
			ae.t = combineTime(tc, ae.t, e.Time)
			continue
		}
		ae.acc, ae.t = fn.AddInput(fn.CreateAccumulator(), e.Value.Value), e.Time
		table.entries++
	}
	return nil
}

func (l *liftedCombine[K, I, A, O]) Entries(part int) int { return l.store.Len(part) }

func (l *liftedCombine[K, I, A, O]) Merge(ctx context.Context, part int, out any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &TransformError{Transform: l.name, Err: fmt.Errorf("CombineFn panicked while merging or extracting: %v\n%s", r, debug.Stack())}
		}
	}()
	c := out.(Consumer[KV[K, O]])
	table := newPartialTable[K, A]()
	for _, elems := range l.store.Chunks(part).([][]Elem[KV[K, A]]) {
		for i := range elems {
			e := &elems[i]
			ae, ok := table.window(e.Window).entry(e.Value.Key)
			if ok {
				ae.acc = l.fn.MergeAccumulators(ae.acc, e.Value.Value)
				ae.t = combineTime(l.tc, ae.t, e.Time)
				continue
			}
			ae.acc, ae.t = e.Value.Value, e.Time
		}
	}
	buf := make([]Elem[KV[K, O]], 0, BatchSize)
	pane := PaneInfo{Timing: PaneOnTime, IsFirst: true, IsLast: true}
	for _, w := range table.wins {
		wt := table.byWindow[w]
		for i, k := range wt.keys {
			ae := &wt.accs[i]
			buf = append(buf, Elem[KV[K, O]]{Value: KV[K, O]{k, l.fn.ExtractOutput(ae.acc)}, Time: outputTime(l.tc, ae.t, w), Window: w, Pane: pane})
			if len(buf) == BatchSize {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := c.Consume(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	if len(buf) > 0 {
		return c.Consume(buf)
	}
	return nil
}
