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
	// order holds the primitives in topological order; a Combine that
	// Beam cannot lift as Sluice would is replaced by its expansion
	// (GroupByKey + ParDo).
	order  []*df.Transform
	byName map[string]*df.Transform
	// consumers are the transforms that read a collection as main input.
	consumers map[*df.Collection][]*df.Transform
	producer  map[*df.Collection]*df.Transform
	sideUsers map[*df.Collection]bool
	// encodable collections have a coder of their own and cross Beam as
	// bytes. The others (grouped values, iter.Seq, and what contains them)
	// are consumed inside the Beam DoFn that produces them when their
	// consumers are ParDos, and cross Beam with the bridge's fallback codec
	// (fallback.go) when something else reads them.
	encodable map[*df.Collection]bool
	// codecs encode the collections that cross Beam; noCodec says why a
	// collection without a coder that must cross Beam cannot.
	codecs  map[*df.Collection]df.ByteCodec
	noCodec map[*df.Collection]error
	// liftedGBK maps a Combine that runs as Beam's CombinePerKey to the
	// GroupByKey of its expansion, whose kernel keys the combine's input.
	liftedGBK   map[*df.Transform]*df.Transform
	fingerprint string
}

func newPlan(p *df.Pipeline) (*plan, error) {
	pl := &plan{p: p, byName: map[string]*df.Transform{}, consumers: map[*df.Collection][]*df.Transform{},
		producer: map[*df.Collection]*df.Transform{}, sideUsers: map[*df.Collection]bool{}, encodable: map[*df.Collection]bool{},
		codecs: map[*df.Collection]df.ByteCodec{}, noCodec: map[*df.Collection]error{}, liftedGBK: map[*df.Transform]*df.Transform{}}
	for _, t := range p.Transforms() {
		if c, ok := t.Spec.(*df.CombineSpec); ok {
			// Beam's CombinePerKey where Beam can lift it as Sluice would
			// (combine.go); the expansion elsewhere.
			if gbk, ok := liftsOnBeam(t, c); ok {
				pl.order = append(pl.order, t)
				pl.liftedGBK[t] = gbk
				continue
			}
			pl.order = append(pl.order, c.Expansion...)
			continue
		}
		pl.order = append(pl.order, t)
	}
	h := sha256.New()
	fb := newFallbacks()
	var outs []*df.Collection
	for _, t := range pl.order {
		pl.byName[t.Name] = t
		fmt.Fprintf(h, "%s\x00%s\x00%d\x00", t.Name, t.Spec.Kind(), len(t.Outputs))
		for _, in := range t.Inputs {
			pl.consumers[in] = append(pl.consumers[in], t)
			fmt.Fprintf(h, "%s\x00", in.Name)
		}
		switch spec := t.Spec.(type) {
		case *df.ParDoSpec:
			for _, s := range spec.Sides {
				pl.sideUsers[s.Coll] = true
			}
		case *df.GroupByKeySpec:
			fb.know(spec.KeyCoder)
			fb.know(spec.ValueCoder)
		}
		for _, out := range t.Outputs {
			pl.producer[out] = t
			c, err := out.Type.Coder()
			bc, codec := out.Type.(df.ByteCodec)
			pl.encodable[out] = err == nil && codec
			if pl.encodable[out] {
				pl.codecs[out] = bc
				fb.know(c)
			}
			outs = append(outs, out)
		}
	}
	for _, gbk := range pl.liftedGBK {
		pl.byName[gbk.Name] = gbk
	}
	pl.fingerprint = hex.EncodeToString(h.Sum(nil))[:16]
	for _, c := range outs {
		if pl.encodable[c] || !pl.crosses(c) {
			continue
		}
		if bc, err := fb.codec(c.Type); err != nil {
			pl.noCodec[c] = err
		} else {
			pl.codecs[c] = bc
		}
	}
	if err := pl.check(); err != nil {
		return nil, err
	}
	return pl, nil
}

// hosts reports whether t's Beam DoFn runs Sluice operators, so that the
// ParDos reading its outputs can run inside it.
func (pl *plan) hosts(t *df.Transform) bool {
	switch spec := t.Spec.(type) {
	case *df.ParDoSpec, *df.GroupByKeySpec, *df.ReadSpec:
		return true
	case *df.WindowIntoSpec:
		return bridgeAssigns(spec.Strategy.Fn)
	}
	return false
}

// inProcess reports whether t runs inside the Beam DoFn of its input's
// producer: a stateless ParDo whose input has no coder of its own.
func (pl *plan) inProcess(t *df.Transform) bool {
	pd, ok := t.Spec.(*df.ParDoSpec)
	if !ok || pd.Stateful != nil || len(t.Inputs) != 1 || pl.encodable[t.Inputs[0]] {
		return false
	}
	prod := pl.producer[t.Inputs[0]]
	return prod != nil && pl.hosts(prod)
}

// crosses reports whether a collection without a coder of its own must
// cross Beam: something other than a ParDo run in its producer reads it.
func (pl *plan) crosses(c *df.Collection) bool {
	if pl.encodable[c] {
		return false
	}
	if pl.sideUsers[c] {
		return true
	}
	for _, t := range pl.consumers[c] {
		if !pl.inProcess(t) {
			return true
		}
	}
	return false
}

// codec returns the codec of a collection that crosses Beam.
func (pl *plan) codec(c *df.Collection) (df.ByteCodec, error) {
	if bc := pl.codecs[c]; bc != nil {
		return bc, nil
	}
	if err := pl.noCodec[c]; err != nil {
		return nil, err
	}
	_, err := c.Type.Coder()
	return nil, fmt.Errorf("beam bridge: collection %s (%v) has no coder: %v", c.Name, c.Type.Type(), err)
}

// check rejects what the bridge cannot translate, naming transform and feature.
func (pl *plan) check() error {
	for _, t := range pl.order {
		fail := func(format string, args ...any) error {
			return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("beam bridge: "+format, args...)}
		}
		switch spec := t.Spec.(type) {
		case *df.ImpulseSpec, *df.ReadSpec, *df.ReadUnboundedSpec, *df.FlattenSpec, *df.ReshuffleSpec, *df.WriteSpec, *df.CombineSpec:
		case *df.GroupByKeySpec:
			if spec.LateOutput {
				return fail("GroupByKeyWithLateData: Beam's GroupByKey has no output for dropped late data")
			}
		case *df.WindowIntoSpec:
			if err := checkWindowing(spec.Strategy); err != nil {
				return fail("%v", err)
			}
		case *df.ParDoSpec:
			if spec.Stateful != nil && !pl.encodable[t.Inputs[0]] {
				return fail("a StatefulParDo needs an input with a coder on Beam")
			}
			for _, s := range spec.Sides {
				if _, err := pl.codec(s.Coll); err != nil {
					return fail("side input %s cannot cross Beam: %v", s.Coll.Name, err)
				}
			}
		default:
			return fail("%s transforms are not translated to Beam", t.Spec.Kind())
		}
		if pl.inProcess(t) {
			continue
		}
		for _, in := range t.Inputs {
			if _, err := pl.codec(in); err != nil {
				return fail("its input %s (%v) cannot cross Beam: %v", in.Name, in.Type.Type(), err)
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
	// emitted are the collections of the chain that cross Beam because
	// something reads them there; output i of the Beam DoFn carries
	// emitted[i].
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
		if pl.encodable[c] || pl.crosses(c) {
			if len(pl.consumers[c]) > 0 || pl.sideUsers[c] {
				ch.emitted = append(ch.emitted, c)
			}
		}
		if pl.encodable[c] {
			return
		}
		for _, t := range pl.consumers[c] {
			if pl.inProcess(t) {
				visitOp(t)
			}
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
