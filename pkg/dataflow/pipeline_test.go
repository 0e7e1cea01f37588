package dataflow

import (
	"errors"
	"strings"
	"testing"
)

func impulseMap(s Scope, name string) PCollection[int] {
	return ParDo(s, name, DoFnFunc[[]byte, int](func(c *Context, _ []byte, emit Emitter[int]) error {
		emit.Emit(1)
		return nil
	}), Impulse(s, name+"Impulse"))
}

func TestNamesAreHierarchicalAndUnique(t *testing.T) {
	p := NewPipeline()
	s := p.Root()
	c := s.Scope("Parent")
	out := impulseMap(c, "Child")
	if got := out.Coll().Producer.Name; got != "Parent/Child" {
		t.Fatalf("name %q", got)
	}
	if got := out.String(); got != "Parent/Child.out" {
		t.Fatalf("collection name %q", got)
	}
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	impulseMap(c, "Child")
	s.Scope("Parent")
	Impulse(s, "a/b")
	err := p.Err()
	var te *TransformError
	if !errors.As(err, &te) {
		t.Fatalf("want TransformError, got %v", err)
	}
	for _, want := range []string{`"Parent/Child"`, `"Parent"`, `"a/b"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestEmptyPipelineIsAnError(t *testing.T) {
	if err := NewPipeline().Err(); err == nil {
		t.Fatal("empty pipeline accepted")
	}
}

func TestCollectionsFromAnotherPipeline(t *testing.T) {
	a, b := NewPipeline(), NewPipeline()
	in := impulseMap(a.Root(), "A")
	Reshuffle(b.Root(), "Steal", in)
	if err := b.Err(); err == nil || !strings.Contains(err.Error(), "Steal") || !strings.Contains(err.Error(), "another pipeline") {
		t.Fatalf("got %v", err)
	}
}

func TestGroupByKeyRejectsNonDeterministicKeys(t *testing.T) {
	p := NewPipeline()
	s := p.Root()
	kv := ParDo(s, "KV", DoFnFunc[[]byte, KV[*int, int]](func(*Context, []byte, Emitter[KV[*int, int]]) error { return nil }), Impulse(s, "Imp"))
	GroupByKey(s, "ByPointer", kv)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "ByPointer") {
		t.Fatalf("got %v", err)
	}
}

func TestFlattenNeedsCompatibleWindows(t *testing.T) {
	p := NewPipeline()
	s := p.Root()
	a := impulseMap(s, "A")
	b := WindowInto(s, "Fixed", Fixed(1000_000_000), impulseMap(s, "B"))
	Flatten(s, "Mixed", a, b)
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "Mixed") {
		t.Fatalf("got %v", err)
	}
}

func TestOutputTagsBindOnce(t *testing.T) {
	p := NewPipeline()
	s := p.Root()
	in := impulseMap(s, "In")
	odd := NewOutput[int]("odd")
	fn := DoFnFunc[int, int](func(c *Context, x int, emit Emitter[int]) error { odd.Emit(c, x); return nil })
	ParDo(s, "First", fn, in, WithOutputs(odd))
	if !odd.PCollection().Valid() || odd.PCollection().String() != "First.odd" {
		t.Fatalf("odd output %v", odd.PCollection())
	}
	ParDo(s, "Second", fn, in, WithOutputs(odd))
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "Second") {
		t.Fatalf("got %v", err)
	}
}

func TestMetricsRegistry(t *testing.T) {
	var reg MetricsRegistry
	c1, c2 := reg.NewContainer("A"), reg.NewContainer("A")
	ctx1, ctx2 := &Context{op: &opState{metrics: c1}}, &Context{op: &opState{metrics: c2}}
	n := NewCounter("ns", "n")
	d := NewDistribution("ns", "d")
	g := NewGauge("ns", "g")
	n.Inc(ctx1, 2)
	n.Inc(ctx2, 3)
	n.Dec(ctx2, 1)
	d.Update(ctx1, 5)
	d.Update(ctx2, -1)
	d.Update(ctx2, 9)
	g.Set(ctx1, 7)
	g.Set(ctx2, 8)
	m := reg.Snapshot()
	if got := m.Counters[MetricKey{"A", "ns", "n"}]; got != 4 {
		t.Errorf("counter %d", got)
	}
	if got := m.Distribution("ns", "d"); got != (DistributionValue{Count: 3, Sum: 13, Min: -1, Max: 9}) {
		t.Errorf("distribution %+v", got)
	}
	if got, ok := m.Gauge("ns", "g"); !ok || got.Value != 8 {
		t.Errorf("gauge %+v", got)
	}
}
