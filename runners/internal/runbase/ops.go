package runbase

import (
	"context"
	"errors"
	"fmt"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Ops is one worker's (or partition's) set of element-wise operators, kept
// in topological order (transform ID), with their lifecycle: Setup once,
// StartBundle and FinishBundle per bundle, upstream first, and Teardown of
// those set up. One goroutine uses it at a time.
type Ops struct {
	ops   map[*df.Transform]df.Op
	order []*df.Transform
	setup int // ops set up so far, in order
}

// Get returns the operator of t, if it was built.
func (o *Ops) Get(t *df.Transform) (df.Op, bool) {
	op, ok := o.ops[t]
	return op, ok
}

// New instantiates the operator of an element-wise transform (or of a
// stage's root ParDo) with env, adds it and returns it.
func (o *Ops) New(t *df.Transform, env df.OpEnv) (df.Op, error) {
	var (
		op  df.Op
		err error
	)
	switch spec := t.Spec.(type) {
	case *df.ParDoSpec:
		op, err = spec.NewOp(env)
	case *df.WindowIntoSpec:
		op, err = spec.NewOp(env)
	default:
		err = fmt.Errorf("not an element-wise transform")
	}
	if err != nil {
		return nil, err
	}
	if o.ops == nil {
		o.ops = map[*df.Transform]df.Op{}
	}
	o.ops[t] = op
	i := len(o.order)
	o.order = append(o.order, t)
	for i > 0 && o.order[i-1].ID > t.ID {
		o.order[i-1], o.order[i] = o.order[i], o.order[i-1]
		i--
	}
	return op, nil
}

// Setup sets up the operators not set up yet.
func (o *Ops) Setup(ctx context.Context) error {
	for o.setup < len(o.order) {
		if err := o.ops[o.order[o.setup]].Setup(ctx); err != nil {
			return err
		}
		o.setup++
	}
	return nil
}

// StartBundle starts a bundle on every operator.
func (o *Ops) StartBundle(ctx context.Context) error {
	for _, t := range o.order {
		if err := o.ops[t].StartBundle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// FinishBundle finishes the bundle, upstream first: an operator's
// FinishBundle may emit downstream.
func (o *Ops) FinishBundle(ctx context.Context) error {
	for _, t := range o.order {
		if err := o.ops[t].FinishBundle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Teardown tears down the operators set up.
func (o *Ops) Teardown(ctx context.Context) error {
	var errs []error
	for _, t := range o.order[:o.setup] {
		if err := o.ops[t].Teardown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	o.setup = 0
	return errors.Join(errs...)
}

// Build instantiates the operator of t as New does, with an OpEnv whose
// outputs are consumer(out) for each of t's outputs and whose side inputs
// are side(s) for each side input of a ParDo. consumer may build t's
// downstream operators first.
func (o *Ops) Build(t *df.Transform, metrics *df.MetricsRegistry, consumer func(*df.Collection) any, side func(*df.SideInputSpec) df.SideInputData) (df.Op, error) {
	env := df.OpEnv{Transform: t.Name, Metrics: metrics.NewContainer(t.Name)}
	for _, out := range t.Outputs {
		env.Outputs = append(env.Outputs, consumer(out))
	}
	if pd, ok := t.Spec.(*df.ParDoSpec); ok {
		for _, s := range pd.Sides {
			env.Sides = append(env.Sides, side(s))
		}
	}
	return o.New(t, env)
}

// Index lists, for each collection, the transforms of ts that read it as
// main input and the side inputs that read it.
func Index(ts []*df.Transform) (consumers map[*df.Collection][]*df.Transform, sideUses map[*df.Collection][]*df.SideInputSpec) {
	consumers = map[*df.Collection][]*df.Transform{}
	sideUses = map[*df.Collection][]*df.SideInputSpec{}
	for _, t := range ts {
		for _, in := range t.Inputs {
			consumers[in] = append(consumers[in], t)
		}
		if pd, ok := t.Spec.(*df.ParDoSpec); ok {
			for _, s := range pd.Sides {
				sideUses[s.Coll] = append(sideUses[s.Coll], s)
			}
		}
	}
	return consumers, sideUses
}
