package beam

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// translator builds the Beam pipeline of a plan. Every Beam collection holds
// []byte (Sluice's encoding of the elements) or KV<[]byte, []byte> (the
// encoded keys and values of a GroupByKey); timestamps, windows and panes
// are Beam's own, which match Sluice's exactly (milliseconds, [start, end)).
type translator struct {
	pl    *plan
	token string
	root  beam.Scope
	pcs   map[*df.Collection]beam.PCollection
	// strategies are the Sluice windowing strategies of the Beam
	// collections, by proto id, written into the proto after marshaling.
	strategies map[string]df.WindowingStrategy
}

func translate(pl *plan, token string) (p *beam.Pipeline, strategies map[string]df.WindowingStrategy, err error) {
	defer func() {
		// Beam's builders panic on a malformed graph; that is a bridge bug,
		// reported as an error.
		if r := recover(); r != nil {
			err = fmt.Errorf("beam bridge: building the Beam pipeline: %v", r)
		}
	}()
	p, root := beam.NewPipelineWithRoot()
	tr := &translator{pl: pl, token: token, root: root, pcs: map[*df.Collection]beam.PCollection{}, strategies: map[string]df.WindowingStrategy{}}
	for _, t := range pl.order {
		if pl.inProcess(t) {
			continue // runs inside its input's producer
		}
		if err := tr.transform(t); err != nil {
			return nil, nil, &df.TransformError{Transform: t.Name, Err: err}
		}
	}
	return p, tr.strategies, nil
}

func (tr *translator) base(t *df.Transform, kind string) fnBase {
	b := fnBase{Job: tr.token, Print: tr.pl.fingerprint, Root: t.Name, Kind: kind}
	if _, ok := t.Spec.(*df.ReadSpec); ok {
		// Every worker splits the source again, into the same parts.
		b.Splits = 4 * runtime.GOMAXPROCS(0)
	}
	return b
}

func (tr *translator) input(t *df.Transform, i int) (beam.PCollection, error) {
	pc, ok := tr.pcs[t.Inputs[i]]
	if !ok {
		return beam.PCollection{}, fmt.Errorf("beam bridge: input %s was not translated", t.Inputs[i].Name)
	}
	return pc, nil
}

func (tr *translator) transform(t *df.Transform) error {
	s := tr.root.Scope(t.Name)
	switch spec := t.Spec.(type) {
	case *df.ImpulseSpec:
		c, err := t.Outputs[0].Type.Coder()
		if err != nil {
			return err
		}
		empty, err := c.EncodeAny(nil, []byte{})
		if err != nil {
			return err
		}
		tr.pcs[t.Outputs[0]] = tr.record(beam.ParDo(s, &constFn{Value: empty}, beam.Impulse(s)), t.Outputs[0].Windowing)
	case *df.ReadSpec:
		idx := beam.ParDo(s, &elemFn{tr.base(t, kindSplits)}, beam.Impulse(s))
		idx = beam.Reshuffle(s, idx)
		return tr.host(s, t, kindRead, idx)
	case *df.ParDoSpec:
		in, err := tr.input(t, 0)
		if err != nil {
			return err
		}
		if spec.Stateful != nil {
			in = tr.record(beam.ParDo(s, &kvFn{tr.base(t, kindStateKV)}, in), t.Inputs[0].Windowing)
		}
		return tr.host(s, t, kindParDo, in)
	case *df.GroupByKeySpec:
		in, err := tr.input(t, 0)
		if err != nil {
			return err
		}
		kv := tr.record(beam.ParDo(s, &kvFn{tr.base(t, kindKV)}, in), t.Inputs[0].Windowing)
		return tr.host(s, t, kindGroup, tr.record(beam.GroupByKey(s, kv), t.Outputs[0].Windowing))
	case *df.CombineSpec:
		in, err := tr.input(t, 0)
		if err != nil {
			return err
		}
		kv := tr.record(beam.ParDo(s, &kvFn{tr.base(tr.pl.liftedGBK[t], kindKV)}, in), t.Inputs[0].Windowing)
		combined := tr.record(beam.CombinePerKey(s, &combineFn{tr.base(t, kindCombine)}, kv), t.Outputs[0].Windowing)
		tr.pcs[t.Outputs[0]] = tr.record(beam.ParDo(s, &combinedFn{}, combined), t.Outputs[0].Windowing)
	case *df.FlattenSpec:
		if len(t.Inputs) == 0 {
			tr.pcs[t.Outputs[0]] = tr.record(beam.ParDo(s, &constFn{None: true}, beam.Impulse(s)), t.Outputs[0].Windowing)
			return nil
		}
		ins := make([]beam.PCollection, len(t.Inputs))
		for i := range t.Inputs {
			in, err := tr.input(t, i)
			if err != nil {
				return err
			}
			ins[i] = in
		}
		tr.pcs[t.Outputs[0]] = tr.record(beam.Flatten(s, ins...), t.Outputs[0].Windowing)
	case *df.WindowIntoSpec:
		in, err := tr.input(t, 0)
		if err != nil {
			return err
		}
		if bridgeAssigns(spec.Strategy.Fn) {
			// Beam's WindowInto with windows of the same size gives the
			// collection interval windows; the bridge's DoFn then moves
			// each element into the windows Sluice's window fn assigns.
			placeholder, err := windowInto(s, spec.Strategy, in)
			if err != nil {
				return err
			}
			return tr.host(s, t, kindWindow, placeholder)
		}
		out, err := windowInto(s, spec.Strategy, in)
		if err != nil {
			return err
		}
		tr.pcs[t.Outputs[0]] = tr.record(out, spec.Strategy)
	case *df.ReshuffleSpec:
		in, err := tr.input(t, 0)
		if err != nil {
			return err
		}
		tr.pcs[t.Outputs[0]] = tr.record(beam.Reshuffle(s, in), t.Outputs[0].Windowing)
	case *df.WriteSpec:
		in, err := tr.input(t, 0)
		if err != nil {
			return err
		}
		// Writers write a shard per bundle and emit their results; one
		// commit step reads them all as a side input. The Impulse makes the
		// commit run even when nothing was written.
		results := beam.ParDo(s, &elemFn{tr.base(t, kindWrite)}, in)
		results = beam.WindowInto(s, window.NewGlobalWindows(), results)
		beam.ParDo0(s, &commitFn{tr.base(t, kindCommit)}, beam.Impulse(s), beam.SideInput{Input: results})
	case *df.ReadUnboundedSpec:
		return tr.testStream(s, t, spec)
	default:
		return fmt.Errorf("beam bridge: %s transforms are not translated", t.Spec.Kind())
	}
	return nil
}

// host adds the Beam DoFn that runs t's chain on in, and splits its output
// into the chain's emitted collections.
func (tr *translator) host(s beam.Scope, t *df.Transform, kind string, in beam.PCollection) error {
	ch := tr.pl.chainOf(t)
	var opts []beam.Option
	if len(ch.sides) > 0 {
		side, err := tr.sideInput(s, ch)
		if err != nil {
			return err
		}
		opts = append(opts, beam.SideInput{Input: side})
	}
	var fn any
	b := tr.base(t, kind)
	switch pd, _ := t.Spec.(*df.ParDoSpec); {
	case pd != nil && pd.Stateful != nil:
		fn = newStateFn(b, pd.Stateful, len(ch.sides) > 0)
	case kind == kindGroup && len(ch.sides) > 0:
		fn = &groupSideFn{b}
	case kind == kindGroup:
		fn = &groupFn{b}
	case len(ch.sides) > 0:
		fn = &elemSideFn{b}
	default:
		fn = &elemFn{b}
	}
	out := beam.ParDo(s, fn, in, opts...)
	switch n := len(ch.emitted); n {
	case 0:
	case 1:
		tr.pcs[ch.emitted[0]] = tr.record(out, ch.emitted[0].Windowing)
	default:
		tr.record(out, ch.emitted[0].Windowing)
		outs := beam.ParDoN(s, splitDynFn(n), out)
		for i, c := range ch.emitted {
			tr.pcs[c] = tr.record(outs[i], c.Windowing)
		}
	}
	return nil
}

// sideInput makes the one Beam side input of a chain: every side input's
// elements, tagged and reified with their windows, in the global window.
func (tr *translator) sideInput(s beam.Scope, ch *chain) (beam.PCollection, error) {
	var parts []beam.PCollection
	for i, spec := range ch.sides {
		pc, ok := tr.pcs[spec.Coll]
		if !ok {
			return beam.PCollection{}, fmt.Errorf("beam bridge: side input %s was not translated", spec.Coll.Name)
		}
		r := beam.ParDo(s, &reifyFn{Tag: i}, pc)
		parts = append(parts, beam.WindowInto(s, window.NewGlobalWindows(), r))
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return beam.Flatten(s, parts...), nil
}

var (
	bytesType = reflect.TypeOf([]byte(nil))
	emitType  = reflect.FuncOf([]reflect.Type{typex.EventTimeType, bytesType}, nil, false)
	errType   = reflect.TypeOf((*error)(nil)).Elem()
)

func splitDynFn(n int) *graph.DynFn {
	in := []reflect.Type{typex.EventTimeType, bytesType}
	for range n {
		in = append(in, emitType)
	}
	data, _ := json.Marshal(splitData{N: n})
	return &graph.DynFn{Name: "sluice.splitOutputs", Data: data, T: reflect.FuncOf(in, []reflect.Type{errType}, false), Gen: makeSplitFn}
}
