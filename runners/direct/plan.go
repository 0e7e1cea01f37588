package direct

import (
	"fmt"
	"slices"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/runbase"
)

// A plan is the pipeline cut into stages. A stage starts at a root (a source,
// or the output side of an exchange) and holds every element-wise transform
// fused behind it, up to the terminals where its data leaves: exchange inputs,
// side-input collectors and sinks. Stages run one after another in dependency
// order; each stage runs its work items (source splits or exchange
// partitions) on every worker.
type plan struct {
	stages []*stage // in dependency order
	// consumers lists, for each collection, the transforms that read it as main input.
	consumers map[*df.Collection][]*df.Transform
	// sideUses lists, for each collection, the side inputs that read it.
	sideUses map[*df.Collection][]*df.SideInputSpec
	// lifted marks the Combine transforms that run lifted.
	lifted map[*df.Transform]bool
	// rootOf maps a transform whose input is an exchange to its stage.
	rootOf map[*df.Transform]*stage
}

type stage struct {
	id   int
	root *df.Transform // Impulse, Read, GroupByKey, lifted Combine, Reshuffle, or ParDo with side inputs
	deps []*stage
	// transforms fused in this stage, by ID (a topological order).
	fused []*df.Transform
}

func (s *stage) String() string { return fmt.Sprintf("stage %d (%s)", s.id, s.root.Name) }

// isExchange reports whether t starts a new stage fed through an exchange.
func (pl *plan) isExchange(t *df.Transform) bool {
	switch spec := t.Spec.(type) {
	case *df.GroupByKeySpec, *df.ReshuffleSpec:
		return true
	case *df.CombineSpec:
		return pl.lifted[t]
	case *df.ParDoSpec:
		return len(spec.Sides) > 0 || spec.Stateful != nil
	}
	return false
}

func buildPlan(p *df.Pipeline, opts Options) (*plan, error) {
	pl := &plan{
		lifted: map[*df.Transform]bool{},
		rootOf: map[*df.Transform]*stage{},
	}
	// Effective transforms: Combines either lifted or replaced by their expansion.
	var all []*df.Transform
	for _, t := range p.Transforms() {
		if c, ok := t.Spec.(*df.CombineSpec); ok {
			if !opts.DisableCombinerLifting && c.Liftable(t.Inputs[0].Windowing) {
				pl.lifted[t] = true
			} else {
				all = append(all, c.Expansion...)
				continue
			}
		}
		all = append(all, t)
	}
	pl.consumers, pl.sideUses = runbase.Index(all)
	// Roots: sources and exchanges.
	var roots []*stage
	for _, t := range all {
		switch t.Spec.(type) {
		case *df.ImpulseSpec, *df.ReadSpec:
		default:
			if !pl.isExchange(t) {
				continue
			}
		}
		st := &stage{id: len(roots), root: t}
		roots = append(roots, st)
		pl.rootOf[t] = st
	}
	// Fuse: walk from each root's outputs through element-wise consumers.
	feeds := map[*stage][]*stage{} // stage -> stages it feeds
	sideProducers := map[*df.Collection][]*stage{}
	for _, st := range roots {
		seen := map[*df.Transform]bool{}
		var walk func(c *df.Collection)
		walk = func(c *df.Collection) {
			if len(pl.sideUses[c]) > 0 {
				sideProducers[c] = append(sideProducers[c], st)
			}
			for _, t := range pl.consumers[c] {
				if pl.isExchange(t) {
					feeds[st] = append(feeds[st], pl.rootOf[t])
					continue
				}
				if seen[t] {
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
	for from, tos := range feeds {
		for _, to := range tos {
			to.deps = append(to.deps, from)
		}
	}
	for _, st := range roots {
		if pd, ok := st.root.Spec.(*df.ParDoSpec); ok {
			for _, s := range pd.Sides {
				st.deps = append(st.deps, sideProducers[s.Coll]...)
			}
		}
	}
	// Order stages so that each runs after its dependencies.
	stages, err := runbase.Order(roots, func(s *stage) []*stage { return s.deps })
	if err != nil {
		return nil, fmt.Errorf("direct: %w", err)
	}
	pl.stages = stages
	return pl, nil
}
