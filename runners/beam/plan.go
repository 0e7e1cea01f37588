package beam

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// plan is the bridge's view of a Sluice pipeline. It is computed the same
// way from the same pipeline in the launcher and in every worker, so both
// agree on every transform's chain of fused operators and emitted outputs.
type plan struct {
	p *df.Pipeline
	// order holds the primitives in topological order; a Combine is
	// replaced by its expansion (GroupByKey + ParDo).
	order  []*df.Transform
	byName map[string]*df.Transform
	// consumers are the transforms that read a collection as main input.
	consumers map[*df.Collection][]*df.Transform
	sideUsers map[*df.Collection]bool
	// encodable collections have a coder and cross Beam as bytes; the
	// others (grouped values, iter.Seq) are consumed inside the Beam DoFn
	// that produces them.
	encodable   map[*df.Collection]bool
	fingerprint string
}

func newPlan(p *df.Pipeline) (*plan, error) {
	pl := &plan{p: p, byName: map[string]*df.Transform{}, consumers: map[*df.Collection][]*df.Transform{},
		sideUsers: map[*df.Collection]bool{}, encodable: map[*df.Collection]bool{}}
	for _, t := range p.Transforms() {
		if c, ok := t.Spec.(*df.CombineSpec); ok {
			// Lifting a Sluice combine would need its accumulators encoded
			// one by one; the expansion is what every Beam runner runs.
			pl.order = append(pl.order, c.Expansion...)
			continue
		}
		pl.order = append(pl.order, t)
	}
	h := sha256.New()
	for _, t := range pl.order {
		pl.byName[t.Name] = t
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00", t.Name, t.Spec.Kind(), len(t.Outputs))
		for _, in := range t.Inputs {
			pl.consumers[in] = append(pl.consumers[in], t)
			fmt.Fprintf(h, "%s\x00", in.Name)
		}
		if pd, ok := t.Spec.(*df.ParDoSpec); ok {
			for _, s := range pd.Sides {
				pl.sideUsers[s.Coll] = true
			}
		}
		for _, out := range t.Outputs {
			_, err := out.Type.Coder()
			_, codec := out.Type.(df.ByteCodec)
			pl.encodable[out] = err == nil && codec
		}
	}
	pl.fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
	if err := pl.check(); err != nil {
		return nil, err
	}
	return pl, nil
}

// inProcess reports whether t runs inside the Beam DoFn of its input's
// producer: a ParDo whose input cannot cross Beam.
func (pl *plan) inProcess(t *df.Transform) bool {
	_, ok := t.Spec.(*df.ParDoSpec)
	return ok && len(t.Inputs) == 1 && !pl.encodable[t.Inputs[0]]
}

// check rejects what the bridge cannot translate, naming transform and feature.
func (pl *plan) check() error {
	for _, t := range pl.order {
		fail := func(format string, args ...any) error {
			return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("beam bridge: "+format, args...)}
		}
		switch spec := t.Spec.(type) {
		case *df.ImpulseSpec, *df.ReadSpec, *df.ReadUnboundedSpec, *df.FlattenSpec, *df.ReshuffleSpec, *df.WriteSpec:
		case *df.GroupByKeySpec:
			if spec.LateOutput {
				return fail("GroupByKeyWithLateData: Beam's GroupByKey has no output for dropped late data")
			}
		case *df.WindowIntoSpec:
			if err := checkWindowing(spec.Strategy); err != nil {
				return fail("%v", err)
			}
		case *df.ParDoSpec:
			if spec.Stateful != nil && pl.inProcess(t) {
				return fail("a StatefulParDo needs an input with a coder on Beam")
			}
			for _, s := range spec.Sides {
				if !pl.encodable[s.Coll] {
					return fail("side input %s has no coder (%v); side inputs cross Beam encoded", s.Coll.Name, s.Coll.Type.Type())
				}
			}
		default:
			return fail("%s transforms are not translated to Beam", t.Spec.Kind())
		}
		for _, in := range t.Inputs {
			if !pl.encodable[in] && !pl.inProcess(t) {
				_, err := in.Type.Coder()
				return fail("its input %s (%v) has no coder, and only a ParDo can consume such a collection on Beam: %v", in.Name, in.Type.Type(), err)
			}
		}
		for _, out := range t.Outputs {
			if !pl.encodable[out] {
				switch t.Spec.(type) {
				case *df.ParDoSpec, *df.GroupByKeySpec:
				default:
					return fail("its output %s (%v) has no coder", out.Name, out.Type.Type())
				}
			}
		}
	}
	return nil
}

// chain is what one Beam DoFn runs: a root transform and the ParDos fused
// behind it through collections that cannot cross Beam.
type chain struct {
	root *df.Transform
	// ops are the in-process ParDos, root first when it is a ParDo, in
	// depth-first order.
	ops []*df.Transform
	// emitted are the encodable collections of the chain that something
	// reads; output i of the Beam DoFn carries emitted[i].
	emitted []*df.Collection
	// sides are the side inputs of the chain's ParDos; tag i is sides[i].
	sides []*df.SideInputSpec
}

func (pl *plan) chainOf(root *df.Transform) *chain {
	ch := &chain{root: root}
	seen := map[*df.SideInputSpec]bool{}
	var visitColl func(c *df.Collection)
	var visitOp func(t *df.Transform)
	visitOp = func(t *df.Transform) {
		ch.ops = append(ch.ops, t)
		for _, s := range t.Spec.(*df.ParDoSpec).Sides {
			if !seen[s] {
				seen[s] = true
				ch.sides = append(ch.sides, s)
			}
		}
		for _, out := range t.Outputs {
			visitColl(out)
		}
	}
	visitColl = func(c *df.Collection) {
		if pl.encodable[c] {
			if len(pl.consumers[c]) > 0 || pl.sideUsers[c] {
				ch.emitted = append(ch.emitted, c)
			}
			return
		}
		for _, t := range pl.consumers[c] {
			visitOp(t)
		}
	}
	if _, ok := root.Spec.(*df.ParDoSpec); ok {
		visitOp(root)
	} else {
		for _, out := range root.Outputs {
			visitColl(out)
		}
	}
	return ch
}

// tagOf returns the index of c in ch.emitted, or -1.
func (ch *chain) tagOf(c *df.Collection) int {
	for i, e := range ch.emitted {
		if e == c {
			return i
		}
	}
	return -1
}
