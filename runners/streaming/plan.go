package streaming

import (
	"fmt"
	"slices"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/runbase"
)

// stageKind says what starts a stage and how its work is divided.
type stageKind uint8

const (
	kindImpulse   stageKind = iota // emits one element, once
	kindRead                       // bounded source: splits read whole, a few per round
	kindUnbounded                  // unbounded source: every split read a little each round
	kindGBK                        // GroupByKey on the state store
	kindCombine                    // lifted Combine.PerKey on the state store
	kindStateful                   // stateful ParDo on the state store
	kindSides                      // ParDo with side inputs: main input waits for them
)

// A plan is the pipeline cut into stages, as in the direct runner: a stage
// starts at a root (a source, or a keyed operator fed through an exchange)
// and holds the element-wise transforms fused behind it. Stages are in
// dependency order, which is also the order a round visits them.
type plan struct {
	stages    []*stage
	consumers map[*df.Collection][]*df.Transform
	sideUses  map[*df.Collection][]*df.SideInputSpec
	lifted    map[*df.Transform]df.StreamingCombine
	rootOf    map[*df.Transform]*stage
	// producers lists the stages whose fused chains produce each collection.
	producers map[*df.Collection][]*stage
}

type stage struct {
	id    int
	kind  stageKind
	root  *df.Transform
	fused []*df.Transform // by ID: a topological order
	// inputs are the collections whose watermarks bound the root's input
	// watermark: its main inputs and side inputs (none for sources).
	inputs []*df.Collection
	deps   []*stage
}

func (s *stage) String() string { return fmt.Sprintf("stage %d (%s)", s.id, s.root.Name) }

func (s *stage) keyed() bool {
	return s.kind == kindGBK || s.kind == kindCombine || s.kind == kindStateful
}

// hasState reports whether a stage keeps keyed state (in the partitions'
// state databases).
func (pl *plan) hasState() bool {
	for _, st := range pl.stages {
		if st.keyed() {
			return true
		}
	}
	return false
}

func (pl *plan) isExchange(t *df.Transform) bool {
	switch spec := t.Spec.(type) {
	case *df.GroupByKeySpec:
		return true
	case *df.CombineSpec:
		return pl.lifted[t] != nil
	case *df.ParDoSpec:
		return len(spec.Sides) > 0 || spec.Stateful != nil
	}
	return false
}

// liftable reports whether a Combine runs lifted in streaming: Beam's
// conditions, and no allowed lateness, so that a window fires exactly once
// (late panes need the elements, which the expansion keeps).
func liftable(t *df.Transform, c *df.CombineSpec) bool {
	ws := t.Inputs[0].Windowing
	return c.Liftable(ws) && ws.AllowedLateness == 0
}

func buildPlan(p *df.Pipeline, opts Options) (*plan, error) {
	pl := &plan{
		lifted:    map[*df.Transform]df.StreamingCombine{},
		rootOf:    map[*df.Transform]*stage{},
		producers: map[*df.Collection][]*stage{},
	}
	var all []*df.Transform
	for _, t := range p.Transforms() {
		if c, ok := t.Spec.(*df.CombineSpec); ok {
			if !opts.DisableCombinerLifting && liftable(t, c) {
				if sc, ok := c.Kernel.(df.StreamingCombiner); ok {
					if comb, err := sc.NewStreaming(t.Name, t.Inputs[0].Windowing.TimestampCombiner); err == nil {
						pl.lifted[t] = comb
						all = append(all, t)
						continue
					}
				}
			}
			all = append(all, c.Expansion...)
			continue
		}
		all = append(all, t)
	}
	pl.consumers, pl.sideUses = runbase.Index(all)
	var roots []*stage
	for _, t := range all {
		st := &stage{root: t}
		switch spec := t.Spec.(type) {
		case *df.ImpulseSpec:
			st.kind = kindImpulse
		case *df.ReadSpec:
			st.kind = kindRead
		case *df.ReadUnboundedSpec:
			st.kind = kindUnbounded
		case *df.GroupByKeySpec:
			st.kind = kindGBK
		case *df.CombineSpec:
			if pl.lifted[t] == nil {
				continue
			}
			st.kind = kindCombine
		case *df.ParDoSpec:
			switch {
			case spec.Stateful != nil && len(spec.Sides) > 0:
				return nil, &df.TransformError{Transform: t.Name, Err: fmt.Errorf("streaming: a stateful ParDo with side inputs is not supported yet")}
			case spec.Stateful != nil:
				st.kind = kindStateful
			case len(spec.Sides) > 0:
				st.kind = kindSides
			default:
				continue
			}
		default:
			continue
		}
		if st.kind >= kindGBK {
			st.inputs = append(st.inputs, t.Inputs...)
			if pd, ok := t.Spec.(*df.ParDoSpec); ok {
				for _, s := range pd.Sides {
					st.inputs = append(st.inputs, s.Coll)
				}
			}
		}
		st.id = len(roots)
		roots = append(roots, st)
		pl.rootOf[t] = st
	}
	for _, st := range roots {
		seen := map[*df.Transform]bool{}
		var walk func(c *df.Collection)
		walk = func(c *df.Collection) {
			if !slices.Contains(pl.producers[c], st) {
				pl.producers[c] = append(pl.producers[c], st)
			}
			for _, t := range pl.consumers[c] {
				if pl.isExchange(t) || seen[t] {
					continue
				}
				seen[t] = true
				st.fused = append(st.fused, t)
				for _, out := range t.Outputs {
					walk(out)
				}
			}
		}
		for _, out := range st.root.Outputs {
			walk(out)
		}
		slices.SortFunc(st.fused, func(a, b *df.Transform) int { return a.ID - b.ID })
	}
	for _, st := range roots {
		for _, in := range st.inputs {
			st.deps = append(st.deps, pl.producers[in]...)
		}
	}
	stages, err := runbase.Order(roots, func(s *stage) []*stage { return s.deps })
	if err != nil {
		return nil, fmt.Errorf("streaming: %w", err)
	}
	pl.stages = stages
	return pl, nil
}
