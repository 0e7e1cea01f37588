package dataflow

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Pipeline is a graph of transforms under construction. Builder functions
// (ParDo, GroupByKey, ...) add to it; they never fail on the spot but record
// errors, each naming its transform, which Err and every runner's Run report.
type Pipeline struct {
	mu         sync.Mutex
	transforms []*Transform // in creation order, which is a topological order
	names      map[string]*Transform
	composites map[string]bool // names of composite scopes
	colls      []*Collection
	errs       []error
}

// NewPipeline returns an empty pipeline.
func NewPipeline() *Pipeline {
	return &Pipeline{names: map[string]*Transform{}, composites: map[string]bool{}}
}

// Root returns the root scope.
func (p *Pipeline) Root() Scope { return Scope{p: p} }

// Transforms returns the top-level transforms in topological order. Composite
// transforms (Combine) appear as one transform whose expansion is in its spec.
func (p *Pipeline) Transforms() []*Transform {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Transform(nil), p.transforms...)
}

// Collections returns every PCollection of the pipeline, including those inside expansions.
func (p *Pipeline) Collections() []*Collection {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Collection(nil), p.colls...)
}

// Err returns the errors recorded while the pipeline was built, joined, or nil.
// It also checks the graph as a whole (every ParDo output has a type, ...).
func (p *Pipeline) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.transforms) == 0 && len(p.errs) == 0 {
		return errors.New("dataflow: empty pipeline")
	}
	return errors.Join(p.errs...)
}

func (p *Pipeline) addErr(err error) {
	p.mu.Lock()
	p.errs = append(p.errs, err)
	p.mu.Unlock()
}

// Scope is a place in the hierarchy of transform names: the root, or a
// composite transform. Names are joined with '/': "Parent/Child".
type Scope struct {
	p    *Pipeline
	path string
	// exp collects the transforms of a composite's expansion, which are not
	// top-level transforms of the pipeline.
	exp *[]*Transform
}

// Pipeline returns the pipeline the scope belongs to.
func (s Scope) Pipeline() *Pipeline { return s.p }

// Path returns the scope's full name ("" at the root).
func (s Scope) Path() string { return s.path }

// Scope returns a child scope: a composite transform named name. Like every
// transform name, a composite's name must be unique; call Scope once per composite.
func (s Scope) Scope(name string) Scope {
	full := s.join(name)
	p := s.p
	p.mu.Lock()
	_, dup := p.names[full]
	if name == "" || strings.Contains(name, "/") {
		p.errs = append(p.errs, &TransformError{Transform: full, Err: errors.New("transform names must be non-empty and must not contain '/'")})
	} else if dup || p.composites[full] {
		p.errs = append(p.errs, &TransformError{Transform: full, Err: errors.New("duplicate transform name; names must be unique and stable")})
	}
	p.composites[full] = true
	p.mu.Unlock()
	return Scope{p: p, path: full, exp: s.exp}
}

func (s Scope) join(name string) string {
	if s.path == "" {
		return name
	}
	return s.path + "/" + name
}

// Errorf records a construction error for the transform name in scope s.
func (s Scope) Errorf(name, format string, args ...any) {
	s.p.addErr(&TransformError{Transform: s.join(name), Err: fmt.Errorf(format, args...)})
}

// TransformError is an error tied to one transform.
type TransformError struct {
	Transform string
	Err       error
}

func (e *TransformError) Error() string { return fmt.Sprintf("transform %q: %v", e.Transform, e.Err) }
func (e *TransformError) Unwrap() error { return e.Err }

// Transform is one node of the graph: a primitive, or a composite that runners
// may execute as a whole (Combine) or through its expansion.
type Transform struct {
	ID      int
	Name    string // full hierarchical name, unique in the pipeline
	Spec    Spec
	Inputs  []*Collection // main inputs (side inputs are in ParDoSpec.Sides)
	Outputs []*Collection
}

func (t *Transform) String() string { return fmt.Sprintf("%s (%s)", t.Name, t.Spec.Kind()) }

// Collection is the untyped PCollection that runners see.
type Collection struct {
	ID        int
	Name      string // producer name + "." + output name
	Producer  *Transform
	Bounded   bool
	Windowing WindowingStrategy
	Type      ElemType
	pipeline  *Pipeline
}

func (c *Collection) String() string { return c.Name }

// Pipeline returns the collection's pipeline.
func (c *Collection) Pipeline() *Pipeline { return c.pipeline }

// PCollection is a typed handle to a collection of elements of type T.
type PCollection[T any] struct{ c *Collection }

// Coll returns the untyped collection (for runners and composite builders).
func (pc PCollection[T]) Coll() *Collection { return pc.c }

// Valid reports whether pc was produced by a transform.
func (pc PCollection[T]) Valid() bool { return pc.c != nil }

// IsBounded reports whether the collection is bounded.
func (pc PCollection[T]) IsBounded() bool { return pc.c != nil && pc.c.Bounded }

// Windowing returns the collection's windowing strategy.
func (pc PCollection[T]) Windowing() WindowingStrategy {
	if pc.c == nil {
		return DefaultWindowing()
	}
	return pc.c.Windowing
}

func (pc PCollection[T]) String() string {
	if pc.c == nil {
		return "<invalid PCollection>"
	}
	return pc.c.Name
}

// Typed returns the typed handle of an untyped collection; it panics if the
// element type is not T (a programming error in a composite builder).
func Typed[T any](c *Collection) PCollection[T] {
	if want := reflect.TypeFor[T](); c.Type.Type() != want {
		panic(fmt.Sprintf("dataflow: collection %s has element type %v, not %v", c.Name, c.Type.Type(), want))
	}
	return PCollection[T]{c: c}
}

// addTransform registers a transform under scope s and creates its outputs.
// It returns nil (after recording an error) if the name is invalid or taken,
// or an input belongs to another pipeline.
func (s Scope) addTransform(name string, spec Spec, inputs []*Collection) *Transform {
	if s.p == nil {
		panic("dataflow: zero Scope; use Pipeline.Root()")
	}
	full := s.join(name)
	if name == "" || strings.Contains(name, "/") {
		s.p.addErr(&TransformError{Transform: full, Err: errors.New("transform names must be non-empty and must not contain '/'")})
		return nil
	}
	for i, in := range inputs {
		if in == nil {
			s.p.addErr(&TransformError{Transform: full, Err: fmt.Errorf("input %d is an invalid (zero) PCollection", i)})
			return nil
		}
		if in.pipeline != s.p {
			s.p.addErr(&TransformError{Transform: full, Err: fmt.Errorf("input %s belongs to another pipeline", in.Name)})
			return nil
		}
	}
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dup := p.names[full]; dup || p.composites[full] {
		p.errs = append(p.errs, &TransformError{Transform: full, Err: errors.New("duplicate transform name; names must be unique and stable")})
		return nil
	}
	t := &Transform{ID: len(p.names), Name: full, Spec: spec, Inputs: inputs}
	p.names[full] = t
	return t
}

// publish adds t to the top-level list (expansion parts are not published).
func (s Scope) publish(t *Transform) {
	if s.exp != nil {
		*s.exp = append(*s.exp, t)
		return
	}
	s.p.mu.Lock()
	s.p.transforms = append(s.p.transforms, t)
	s.p.mu.Unlock()
}

func newOutput[T any](p *Pipeline, t *Transform, tag string, bounded bool, ws WindowingStrategy) PCollection[T] {
	p.mu.Lock()
	c := &Collection{ID: len(p.colls), Name: t.Name + "." + tag, Producer: t, Bounded: bounded, Windowing: ws, Type: TypeOf[T](), pipeline: p}
	p.colls = append(p.colls, c)
	p.mu.Unlock()
	t.Outputs = append(t.Outputs, c)
	return PCollection[T]{c: c}
}

// inputsBounded is the boundedness of a transform's output from its inputs.
func inputsBounded(ins []*Collection) bool {
	for _, in := range ins {
		if !in.Bounded {
			return false
		}
	}
	return true
}
