package dataflow

import (
	"fmt"
	"hash/maphash"
	"iter"
	"reflect"
	"runtime/debug"
	"unsafe"
)

// User state and timers, as in Beam: a StatefulParDo over a keyed input keeps
// state per key and window (value, bag, combining, map and set state) and
// sets event-time and processing-time timers, whose firings call the DoFn's
// OnTimer. State and timers are declared as fields of the DoFn struct; the
// pipeline finds them when it is built.
//
// Runners reach state through the narrow StateBackend interface: bytes under
// (window, state id, sub-key) for the current key. The direct runner keeps it
// in memory; the streaming runner keeps it in Pebble.

// TimeDomain is the clock a timer follows.
type TimeDomain uint8

const (
	EventTimeDomain TimeDomain = iota
	ProcessingTimeDomain
)

func (d TimeDomain) String() string {
	if d == ProcessingTimeDomain {
		return "processing-time"
	}
	return "event-time"
}

// TimerData is a timer as runners store it.
type TimerData struct {
	Family string // the Timer's id
	Tag    string // distinguishes several timers of one family (dynamic timers)
	Window Window
	Domain TimeDomain
	FireAt EventTime // event or processing time, in milliseconds
	// Hold is the output timestamp of the firing; an event-time runner holds
	// its output watermark at it until the timer fires.
	Hold EventTime
}

// StateBackend is the state of the key being processed, provided by the runner.
type StateBackend interface {
	Get(w Window, id string, sub []byte) ([]byte, bool, error)
	Put(w Window, id string, sub, value []byte) error
	Delete(w Window, id string, sub []byte) error
	// Append adds a value to the bag id (bags keep insertion order).
	Append(w Window, id string, value []byte) error
	// Scan calls fn for every sub-key of id (a bag's values in order).
	Scan(w Window, id string, fn func(sub, value []byte) error) error
	// Clear removes every sub-key of id.
	Clear(w Window, id string) error
	SetTimer(t TimerData) error
	ClearTimer(w Window, family, tag string) error
}

// StateSpec is a state declaration (a field of a stateful DoFn).
type StateSpec interface {
	StateID() string
	stateSpec() error // the coder error, if any
}

// TimerSpec is a timer declaration (a field of a stateful DoFn).
type TimerSpec interface {
	TimerFamily() string
	Domain() TimeDomain
}

func (c *Context) backend() StateBackend {
	if c.state == nil {
		c.fail(fmt.Errorf("state and timers are only available in a StatefulParDo"))
	}
	return c.state
}

// ValueState holds one value per key and window.
type ValueState[T any] struct {
	id    string
	coder Coder[T]
	err   error
}

// NewValueState declares a value state.
func NewValueState[T any](id string) *ValueState[T] {
	c, err := CoderOf[T]()
	return &ValueState[T]{id: id, coder: c, err: err}
}

func (s *ValueState[T]) StateID() string  { return s.id }
func (s *ValueState[T]) stateSpec() error { return s.err }

// Read returns the value, and whether one was written.
func (s *ValueState[T]) Read(c *Context) (T, bool) {
	var zero T
	b := c.backend()
	if b == nil {
		return zero, false
	}
	raw, ok, err := b.Get(c.win, s.id, nil)
	if err != nil || !ok {
		c.fail(err)
		return zero, false
	}
	v, _, err := s.coder.Decode(raw)
	if err != nil {
		c.fail(fmt.Errorf("state %q: %w", s.id, err))
		return zero, false
	}
	return v, true
}

// Write sets the value.
func (s *ValueState[T]) Write(c *Context, v T) {
	if b := c.backend(); b != nil {
		c.fail(b.Put(c.win, s.id, nil, s.coder.Encode(nil, v)))
	}
}

// Clear removes the value.
func (s *ValueState[T]) Clear(c *Context) {
	if b := c.backend(); b != nil {
		c.fail(b.Delete(c.win, s.id, nil))
	}
}

// BagState holds values in the order they were added.
type BagState[T any] struct {
	id    string
	coder Coder[T]
	err   error
}

// NewBagState declares a bag state.
func NewBagState[T any](id string) *BagState[T] {
	c, err := CoderOf[T]()
	return &BagState[T]{id: id, coder: c, err: err}
}

func (s *BagState[T]) StateID() string  { return s.id }
func (s *BagState[T]) stateSpec() error { return s.err }

// Add appends v.
func (s *BagState[T]) Add(c *Context, v T) {
	if b := c.backend(); b != nil {
		c.fail(b.Append(c.win, s.id, s.coder.Encode(nil, v)))
	}
}

// Read returns the values, in the order they were added.
func (s *BagState[T]) Read(c *Context) []T {
	var out []T
	b := c.backend()
	if b == nil {
		return nil
	}
	c.fail(b.Scan(c.win, s.id, func(_, raw []byte) error {
		v, _, err := s.coder.Decode(raw)
		if err != nil {
			return fmt.Errorf("state %q: %w", s.id, err)
		}
		out = append(out, v)
		return nil
	}))
	return out
}

// IsEmpty reports whether the bag holds nothing.
func (s *BagState[T]) IsEmpty(c *Context) bool { return len(s.Read(c)) == 0 }

// Clear empties the bag.
func (s *BagState[T]) Clear(c *Context) {
	if b := c.backend(); b != nil {
		c.fail(b.Clear(c.win, s.id))
	}
}

// CombiningState folds added values into an accumulator with a CombineFn.
type CombiningState[I, A, O any] struct {
	id  string
	fn  CombineFn[I, A, O]
	acc *ValueState[A]
}

// NewCombiningState declares a combining state.
func NewCombiningState[I, A, O any](id string, fn CombineFn[I, A, O]) *CombiningState[I, A, O] {
	return &CombiningState[I, A, O]{id: id, fn: fn, acc: NewValueState[A](id)}
}

func (s *CombiningState[I, A, O]) StateID() string  { return s.id }
func (s *CombiningState[I, A, O]) stateSpec() error { return s.acc.err }

// Add folds in into the accumulator.
func (s *CombiningState[I, A, O]) Add(c *Context, in I) {
	acc, ok := s.acc.Read(c)
	if !ok {
		acc = s.fn.CreateAccumulator()
	}
	s.acc.Write(c, s.fn.AddInput(acc, in))
}

// Read returns the combined output (of an empty accumulator if nothing was added).
func (s *CombiningState[I, A, O]) Read(c *Context) O {
	acc, ok := s.acc.Read(c)
	if !ok {
		acc = s.fn.CreateAccumulator()
	}
	return s.fn.ExtractOutput(acc)
}

// Clear resets the accumulator.
func (s *CombiningState[I, A, O]) Clear(c *Context) { s.acc.Clear(c) }

// MapState holds a map per key and window.
type MapState[K comparable, V any] struct {
	id string
	kc Coder[K]
	vc Coder[V]
	er error
}

// NewMapState declares a map state; its keys need a deterministic coder.
func NewMapState[K comparable, V any](id string) *MapState[K, V] {
	kc, err := KeyCoderOf[K]()
	vc, verr := CoderOf[V]()
	if err == nil {
		err = verr
	}
	return &MapState[K, V]{id: id, kc: kc, vc: vc, er: err}
}

func (s *MapState[K, V]) StateID() string  { return s.id }
func (s *MapState[K, V]) stateSpec() error { return s.er }

// Put sets the value of k.
func (s *MapState[K, V]) Put(c *Context, k K, v V) {
	if b := c.backend(); b != nil {
		c.fail(b.Put(c.win, s.id, s.kc.Encode(nil, k), s.vc.Encode(nil, v)))
	}
}

// Get returns the value of k.
func (s *MapState[K, V]) Get(c *Context, k K) (V, bool) {
	var zero V
	b := c.backend()
	if b == nil {
		return zero, false
	}
	raw, ok, err := b.Get(c.win, s.id, s.kc.Encode(nil, k))
	if err != nil || !ok {
		c.fail(err)
		return zero, false
	}
	v, _, err := s.vc.Decode(raw)
	if err != nil {
		c.fail(fmt.Errorf("state %q: %w", s.id, err))
		return zero, false
	}
	return v, true
}

// Remove deletes k.
func (s *MapState[K, V]) Remove(c *Context, k K) {
	if b := c.backend(); b != nil {
		c.fail(b.Delete(c.win, s.id, s.kc.Encode(nil, k)))
	}
}

// All returns the entries (in no particular order); single use.
func (s *MapState[K, V]) All(c *Context) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		b := c.backend()
		if b == nil {
			return
		}
		stop := fmt.Errorf("stop")
		err := b.Scan(c.win, s.id, func(sub, raw []byte) error {
			k, _, err := s.kc.Decode(sub)
			if err != nil {
				return fmt.Errorf("state %q: %w", s.id, err)
			}
			v, _, err := s.vc.Decode(raw)
			if err != nil {
				return fmt.Errorf("state %q: %w", s.id, err)
			}
			if !yield(k, v) {
				return stop
			}
			return nil
		})
		if err != stop {
			c.fail(err)
		}
	}
}

// Clear empties the map.
func (s *MapState[K, V]) Clear(c *Context) {
	if b := c.backend(); b != nil {
		c.fail(b.Clear(c.win, s.id))
	}
}

// SetState holds a set per key and window.
type SetState[T comparable] struct{ m *MapState[T, struct{}] }

// NewSetState declares a set state; its elements need a deterministic coder.
func NewSetState[T comparable](id string) *SetState[T] {
	return &SetState[T]{m: NewMapState[T, struct{}](id)}
}

func (s *SetState[T]) StateID() string  { return s.m.id }
func (s *SetState[T]) stateSpec() error { return s.m.er }

// Add inserts v.
func (s *SetState[T]) Add(c *Context, v T) { s.m.Put(c, v, struct{}{}) }

// Contains reports whether v is in the set.
func (s *SetState[T]) Contains(c *Context, v T) bool { _, ok := s.m.Get(c, v); return ok }

// Remove deletes v.
func (s *SetState[T]) Remove(c *Context, v T) { s.m.Remove(c, v) }

// All returns the elements (in no particular order); single use.
func (s *SetState[T]) All(c *Context) iter.Seq[T] {
	return func(yield func(T) bool) {
		for k := range s.m.All(c) {
			if !yield(k) {
				return
			}
		}
	}
}

// Clear empties the set.
func (s *SetState[T]) Clear(c *Context) { s.m.Clear(c) }

// Timer is a timer family of a stateful DoFn.
type Timer struct {
	family string
	domain TimeDomain
}

// NewEventTimer declares an event-time timer: it fires when the watermark passes its time.
func NewEventTimer(family string) *Timer { return &Timer{family: family, domain: EventTimeDomain} }

// NewProcessingTimer declares a processing-time timer.
func NewProcessingTimer(family string) *Timer {
	return &Timer{family: family, domain: ProcessingTimeDomain}
}

func (t *Timer) TimerFamily() string { return t.family }
func (t *Timer) Domain() TimeDomain  { return t.domain }

// TimerOption configures Timer.Set.
type TimerOption func(*TimerData)

// WithTag sets the timer's tag: timers of one family with different tags are independent.
func WithTag(tag string) TimerOption { return func(t *TimerData) { t.Tag = tag } }

// WithOutputTimestamp sets the timestamp of what the firing emits (and the
// watermark hold); by default the firing time for event-time timers and the
// timestamp of the element that set it for processing-time timers.
func WithOutputTimestamp(ts EventTime) TimerOption { return func(t *TimerData) { t.Hold = ts } }

// Set (re)sets the timer for the current key and window to fire at at.
// Setting it again replaces the previous time.
func (t *Timer) Set(c *Context, at EventTime, opts ...TimerOption) {
	b := c.backend()
	if b == nil {
		return
	}
	td := TimerData{Family: t.family, Window: c.win, Domain: t.domain, FireAt: at, Hold: at}
	if t.domain == ProcessingTimeDomain {
		td.Hold = c.time
	}
	for _, o := range opts {
		o(&td)
	}
	if t.domain == EventTimeDomain && c.op != nil && at > c.op.expiry(c.win) {
		c.fail(fmt.Errorf("event-time timer %q set for %v, after window %v expires at %v", t.family, at, c.win, c.op.expiry(c.win)))
		return
	}
	if td.Hold < c.time-c.opSkew() {
		c.fail(fmt.Errorf("timer %q output timestamp %v is before the current element's timestamp %v", t.family, td.Hold, c.time))
		return
	}
	c.fail(b.SetTimer(td))
}

// Clear cancels the timer for the current key and window.
func (t *Timer) Clear(c *Context, opts ...TimerOption) {
	b := c.backend()
	if b == nil {
		return
	}
	var td TimerData
	for _, o := range opts {
		o(&td)
	}
	c.fail(b.ClearTimer(c.win, t.family, td.Tag))
}

// TimerFiring describes a timer that fired.
type TimerFiring struct {
	Family string
	Tag    string
	Domain TimeDomain
	Time   EventTime // when it was set to fire
}

// TimerHandler is a stateful DoFn that handles timer firings. The Context's
// window is the timer's window and its timestamp the firing's output timestamp.
type TimerHandler[K comparable, O any] interface {
	OnTimer(c *Context, key K, t TimerFiring, emit Emitter[O]) error
}

// findStateAndTimers returns the state and timer fields of a DoFn struct.
func findStateAndTimers(fn any) (states []StateSpec, timers []TimerSpec) {
	v := reflect.ValueOf(fn)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil, nil
	}
	if !v.CanAddr() { // unexported fields are read through their address
		cp := reflect.New(v.Type()).Elem()
		cp.Set(v)
		v = cp
	}
	for i := range v.NumField() {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		switch x := reflectValueInterface(f).(type) {
		case StateSpec:
			states = append(states, x)
		case TimerSpec:
			timers = append(timers, x)
		}
	}
	return states, timers
}

func reflectValueInterface(f reflect.Value) any {
	if f.CanInterface() {
		return f.Interface()
	}
	if f.CanAddr() {
		return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface()
	}
	return nil
}

// StatefulSpec describes the state and timers of a StatefulParDo. Runners
// partition its input by key and give each key its own StateBackend.
type StatefulSpec struct {
	KeyCoder AnyCoder
	States   []StateSpec
	Timers   []TimerSpec
	// AllowedLateness is the input's: window state expires at window end plus it.
	AllowedLateness EventTime
	Kernel          StatefulKernel
}

// StatefulKernel is the typed half of a StatefulParDo.
type StatefulKernel interface {
	// NewRouter returns a Consumer[KV[K,V]] that appends each element to
	// the partition of store its key hashes to.
	NewRouter(store Store) any
	// Groups splits one partition's chunks ([][]Elem[KV[K,V]]) into keys, in
	// order of first arrival; each group's elements keep their arrival order.
	Groups(chunks any) []KeyGroup
}

// KeyGroup is the elements of one key of a stateful ParDo's input.
type KeyGroup struct {
	Key []byte // the encoded key
	Len int    // number of elements
	// Replay sends the key's elements, in batches, to out (a Consumer[KV[K,V]]).
	Replay func(out any) error
}

// StatefulOp is the Op of a StatefulParDo: the runner points it at the
// current key's state before passing it that key's elements or timers.
type StatefulOp interface {
	Op
	SetBackend(b StateBackend)
	// FireTimer calls the DoFn's OnTimer for key and timer t, and flushes its output.
	FireTimer(key []byte, t TimerData) error
}

// StatefulParDo applies a stateful DoFn to a keyed collection: state and
// timers (fields of the DoFn created with NewValueState, NewBagState,
// NewCombiningState, NewMapState, NewSetState, NewEventTimer and
// NewProcessingTimer) are kept per key and window. If fn implements
// TimerHandler[K, O], its OnTimer is called when timers fire.
func StatefulParDo[K comparable, V, O any](s Scope, name string, fn DoFn[KV[K, V], O], in PCollection[KV[K, V]], opts ...ParDoOption) PCollection[O] {
	kc, err := KeyCoderOf[K]()
	if err != nil {
		s.Errorf(name, "key type cannot key state: %v", err)
		return PCollection[O]{}
	}
	states, timers := findStateAndTimers(fn)
	seen := map[string]bool{}
	for _, st := range states {
		if err := st.stateSpec(); err != nil {
			s.Errorf(name, "state %q: %v", st.StateID(), err)
			return PCollection[O]{}
		}
		if seen["s:"+st.StateID()] {
			s.Errorf(name, "state id %q declared twice", st.StateID())
			return PCollection[O]{}
		}
		seen["s:"+st.StateID()] = true
	}
	for _, tm := range timers {
		if seen["t:"+tm.TimerFamily()] {
			s.Errorf(name, "timer %q declared twice", tm.TimerFamily())
			return PCollection[O]{}
		}
		seen["t:"+tm.TimerFamily()] = true
	}
	if _, ok := fn.(TimerHandler[K, O]); len(timers) > 0 && !ok {
		s.Errorf(name, "the DoFn declares timers but has no OnTimer(c *Context, key %v, t TimerFiring, emit Emitter[...]) method", reflect.TypeFor[K]())
		return PCollection[O]{}
	}
	var lateness EventTime
	if in.c != nil {
		if in.c.Windowing.Fn.IsMerging() {
			s.Errorf(name, "state and timers on merging windows (%v) are not supported", in.c.Windowing.Fn)
			return PCollection[O]{}
		}
		lateness = EventTime(in.c.Windowing.AllowedLateness.Milliseconds())
	}
	return parDo(s, name, fn, in, opts, func(ps *ParDoSpec) {
		ps.Stateful = &StatefulSpec{KeyCoder: Erase(kc), States: states, Timers: timers, AllowedLateness: lateness, Kernel: statefulKernel[K, V]{kc: kc}}
	}, func(env OpEnv, op *parDoOp[KV[K, V], O]) (Op, error) {
		op.st.lateness = lateness
		sop := &statefulOp[K, V, O]{parDoOp: op, kc: kc}
		if h, ok := any(op.fn).(TimerHandler[K, O]); ok {
			sop.handler = h
		}
		return sop, nil
	})
}

type statefulKernel[K comparable, V any] struct{ kc Coder[K] }

func (k statefulKernel[K, V]) NewRouter(store Store) any {
	parts := store.Partitions()
	apps := make([]Consumer[KV[K, V]], parts)
	for i := range apps {
		apps[i] = store.Appender(i).(Consumer[KV[K, V]])
	}
	bufs := make([][]Elem[KV[K, V]], parts)
	seed := routeSeed
	return ConsumerFunc[KV[K, V]](func(b []Elem[KV[K, V]]) error {
		for i := range b {
			p := int(maphash.Comparable(seed, b[i].Value.Key) % uint64(parts))
			bufs[p] = append(bufs[p], b[i])
		}
		for p, pb := range bufs {
			if len(pb) > 0 {
				if err := apps[p].Consume(pb); err != nil {
					return err
				}
				clear(pb)
				bufs[p] = pb[:0]
			}
		}
		return nil
	})
}

// routeSeed is fixed per process so that every router of a run agrees.
var routeSeed = maphash.MakeSeed()

func (k statefulKernel[K, V]) Groups(chunks any) []KeyGroup {
	idx := map[K]int{}
	var groups [][]Elem[KV[K, V]]
	var keys []K
	for _, chunk := range chunks.([][]Elem[KV[K, V]]) {
		for _, e := range chunk {
			i, ok := idx[e.Value.Key]
			if !ok {
				i = len(groups)
				idx[e.Value.Key] = i
				groups = append(groups, nil)
				keys = append(keys, e.Value.Key)
			}
			groups[i] = append(groups[i], e)
		}
	}
	out := make([]KeyGroup, len(groups))
	for i := range groups {
		elems := groups[i]
		out[i] = KeyGroup{Key: k.kc.Encode(nil, keys[i]), Len: len(elems), Replay: func(o any) error {
			c := o.(Consumer[KV[K, V]])
			for j := 0; j < len(elems); j += BatchSize {
				if err := c.Consume(elems[j:min(j+BatchSize, len(elems))]); err != nil {
					return err
				}
			}
			return nil
		}}
	}
	return out
}

type statefulOp[K comparable, V, O any] struct {
	*parDoOp[KV[K, V], O]
	kc      Coder[K]
	handler TimerHandler[K, O]
}

func (op *statefulOp[K, V, O]) SetBackend(b StateBackend) { op.c.state = b }

func (op *statefulOp[K, V, O]) FireTimer(key []byte, t TimerData) (err error) {
	if op.handler == nil {
		return nil
	}
	k, _, err := op.kc.Decode(key)
	if err != nil {
		return &TransformError{Transform: op.st.transform, Err: fmt.Errorf("decode state key: %w", err)}
	}
	c := &op.c
	c.time, c.win, c.pane = t.Hold, t.Window, NoFiringPane
	defer func() {
		if r := recover(); r != nil {
			err = &ElementError{Transform: op.st.transform, Value: fmt.Sprintf("timer %s/%s of key %v", t.Family, t.Tag, k), Time: t.Hold, Window: t.Window, Panic: true, Stack: string(debug.Stack()), Err: &PanicError{Value: r}}
		}
	}()
	if err := op.handler.OnTimer(c, k, TimerFiring{Family: t.Family, Tag: t.Tag, Domain: t.Domain, Time: t.FireAt}, op.main); err != nil {
		return &ElementError{Transform: op.st.transform, Value: fmt.Sprintf("timer %s/%s of key %v", t.Family, t.Tag, k), Time: t.Hold, Window: t.Window, Err: err}
	}
	if op.st.err != nil {
		err := op.st.err
		op.st.err = nil
		return &ElementError{Transform: op.st.transform, Value: fmt.Sprintf("timer %s/%s of key %v", t.Family, t.Tag, k), Time: t.Hold, Window: t.Window, Err: err}
	}
	return op.flush()
}
