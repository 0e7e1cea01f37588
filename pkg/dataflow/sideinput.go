package dataflow

import (
	"fmt"
	"sync"
)

// SideInputKind is how a side input is presented to a DoFn.
type SideInputKind uint8

const (
	SideSingleton SideInputKind = iota
	SideSlice
	SideMap
	SideMultiMap
)

func (k SideInputKind) String() string {
	return [...]string{"singleton", "slice", "map", "multimap"}[k]
}

// SideInput is a view of a PCollection that a ParDo reads in full, per window.
// The main input's window is mapped to the side input's window as Beam's
// default window mapping does: the side window that contains the end of the
// main window (the global window for a globally windowed side input).
type SideInput interface {
	sideSpec() *SideInputSpec
}

// SideInputSpec describes one side input in the graph.
type SideInputSpec struct {
	Coll *Collection
	Kind SideInputKind
	// newData returns an empty materialization of the side input.
	newData func() SideInputData
}

// NewData returns an empty materialization, which the runner fills through
// Input before any DoFn reads it.
func (s *SideInputSpec) NewData() SideInputData { return s.newData() }

// SideInputData is a materialized side input.
type SideInputData interface {
	// Input returns a Consumer[T] that collects the side input; it is safe for concurrent use.
	Input() any
	// View returns the typed view for the side window that main maps to.
	View(main Window) (any, error)
}

// sideData collects elements of T per window and builds views on demand.
type sideData[T any] struct {
	fn    WindowFn
	build func(elems []T, w Window) (any, error)
	mu    sync.Mutex
	wins  map[Window][]T
	views map[Window]any
}

func (d *sideData[T]) Input() any {
	return ConsumerFunc[T](func(b []Elem[T]) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		for i := range b {
			d.wins[b[i].Window] = append(d.wins[b[i].Window], b[i].Value)
		}
		return nil
	})
}

func (d *sideData[T]) View(main Window) (any, error) {
	w, err := d.fn.SideInputWindow(main)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.views[w]; ok {
		return v, nil
	}
	v, err := d.build(d.wins[w], w)
	if err != nil {
		return nil, err
	}
	d.views[w] = v
	return v, nil
}

func newSideSpec[T any](pc PCollection[T], kind SideInputKind, build func([]T, Window) (any, error)) *SideInputSpec {
	s := &SideInputSpec{Coll: pc.c, Kind: kind}
	s.newData = func() SideInputData {
		return &sideData[T]{fn: pc.c.Windowing.Fn, build: build, wins: map[Window][]T{}, views: map[Window]any{}}
	}
	return s
}

// view returns the typed view of side input s for the element in c.
func sideView[V any](c *Context, s *SideInputSpec) (V, bool) {
	var zero V
	if c.op == nil {
		c.fail(fmt.Errorf("side input read outside a ParDo"))
		return zero, false
	}
	for i, ss := range c.op.spec.Sides {
		if ss != s {
			continue
		}
		cache := &c.op.sideViews[i]
		if cache.ok && cache.win == c.win {
			return cache.view.(V), true
		}
		v, err := c.op.sides[i].View(c.win)
		if err != nil {
			c.fail(fmt.Errorf("side input %s: %w", s.Coll.Name, err))
			return zero, false
		}
		*cache = sideCache{win: c.win, view: v, ok: true}
		return v.(V), true
	}
	c.fail(fmt.Errorf("side input %s is not declared by this ParDo (add it with WithSideInputs)", s.Coll.Name))
	return zero, false
}

// Singleton is a side input holding exactly one element per window.
type Singleton[T any] struct{ spec *SideInputSpec }

// AsSingleton views pc as a single value per window. A window with no
// element fails the run unless def is given; more than one element always does.
func AsSingleton[T any](pc PCollection[T], def ...T) *Singleton[T] {
	hasDef := len(def) > 0
	var d T
	if hasDef {
		d = def[0]
	}
	return &Singleton[T]{spec: newSideSpec(pc, SideSingleton, func(elems []T, w Window) (any, error) {
		switch {
		case len(elems) == 1:
			return elems[0], nil
		case len(elems) == 0 && hasDef:
			return d, nil
		case len(elems) == 0:
			return nil, fmt.Errorf("singleton side input is empty in window %v (give AsSingleton a default)", w)
		}
		return nil, fmt.Errorf("singleton side input has %d elements in window %v, want 1", len(elems), w)
	})}
}

func (s *Singleton[T]) sideSpec() *SideInputSpec { return s.spec }

// Get returns the value for the current element's window.
func (s *Singleton[T]) Get(c *Context) T { v, _ := sideView[T](c, s.spec); return v }

// Slice is a side input holding all elements of a window, in no particular order.
type Slice[T any] struct{ spec *SideInputSpec }

// AsSlice views pc as all of its elements per window (Beam's AsIterable/AsList).
func AsSlice[T any](pc PCollection[T]) *Slice[T] {
	return &Slice[T]{spec: newSideSpec(pc, SideSlice, func(elems []T, _ Window) (any, error) {
		return elems, nil
	})}
}

func (s *Slice[T]) sideSpec() *SideInputSpec { return s.spec }

// Get returns the elements of the current window; the slice must not be modified.
func (s *Slice[T]) Get(c *Context) []T { v, _ := sideView[[]T](c, s.spec); return v }

// Map is a side input of a KV collection viewed as a map; keys must be unique per window.
type Map[K comparable, V any] struct{ spec *SideInputSpec }

// AsMap views pc as a map per window.
func AsMap[K comparable, V any](pc PCollection[KV[K, V]]) *Map[K, V] {
	return &Map[K, V]{spec: newSideSpec(pc, SideMap, func(elems []KV[K, V], w Window) (any, error) {
		m := make(map[K]V, len(elems))
		for _, kv := range elems {
			if _, dup := m[kv.Key]; dup {
				return nil, fmt.Errorf("map side input has key %v more than once in window %v (use AsMultiMap)", kv.Key, w)
			}
			m[kv.Key] = kv.Value
		}
		return m, nil
	})}
}

func (s *Map[K, V]) sideSpec() *SideInputSpec { return s.spec }

// Get returns the map of the current window; it must not be modified.
func (s *Map[K, V]) Get(c *Context) map[K]V { v, _ := sideView[map[K]V](c, s.spec); return v }

// Lookup returns the value of key k in the current window.
func (s *Map[K, V]) Lookup(c *Context, k K) (V, bool) { v, ok := s.Get(c)[k]; return v, ok }

// MultiMap is a side input of a KV collection viewed as a map of key to all its values.
type MultiMap[K comparable, V any] struct{ spec *SideInputSpec }

// AsMultiMap views pc as a multimap per window.
func AsMultiMap[K comparable, V any](pc PCollection[KV[K, V]]) *MultiMap[K, V] {
	return &MultiMap[K, V]{spec: newSideSpec(pc, SideMultiMap, func(elems []KV[K, V], _ Window) (any, error) {
		m := map[K][]V{}
		for _, kv := range elems {
			m[kv.Key] = append(m[kv.Key], kv.Value)
		}
		return m, nil
	})}
}

func (s *MultiMap[K, V]) sideSpec() *SideInputSpec { return s.spec }

// Get returns the multimap of the current window; it must not be modified.
func (s *MultiMap[K, V]) Get(c *Context) map[K][]V {
	v, _ := sideView[map[K][]V](c, s.spec)
	return v
}

// Lookup returns the values of key k in the current window.
func (s *MultiMap[K, V]) Lookup(c *Context, k K) []V { return s.Get(c)[k] }
