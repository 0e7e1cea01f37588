package beam

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// A Sluice Combine becomes Beam's CombinePerKey, so that Beam's runners lift
// it as they lift their own (Prism: precombine in the SDK harness, shuffle
// the accumulators, merge, extract). The CombineFn Beam sees is combineFn:
// inputs and outputs are Sluice encodings, accumulators are Sluice values in
// a box that Beam's lifted combine keeps in memory and encodes with the
// combine's accumulator coder only when it moves them.
//
// Beam's lifting is used where Sluice's runners lift too (the default
// trigger, windows that do not merge), the output timestamp is the end of
// the window and no lateness is allowed, because of two gaps in Beam Go's
// lifted combine: its precombine stamps each partial accumulator with the
// timestamp of the last input it added
// (exec.LiftedCombine.processElementPerWindow) instead of combining them,
// which Earliest and Latest would expose; and its merge and extract steps
// drop the output's pane, which the bridge restores (combinedFn) as the
// only on-time pane, right only when no late pane can follow. Elsewhere
// the bridge runs the combine's expansion (GroupByKey + ParDo).

func init() {
	beam.RegisterType(reflect.TypeOf((*combineFn)(nil)).Elem())
	beam.RegisterCoder(reflect.TypeOf((*accBox)(nil)), encodeAccBox, decodeAccBox)
	register.Combiner3[*accBox, []byte, []byte](&combineFn{})
	register.DoFn5x0[typex.Window, typex.EventTime, []byte, []byte, emitFn](&combinedFn{})
}

// liftsOnBeam reports whether the Combine t becomes Beam's CombinePerKey,
// and returns the GroupByKey of its expansion (whose kernel splits the
// input into encoded keys and values).
func liftsOnBeam(t *df.Transform, spec *df.CombineSpec) (*df.Transform, bool) {
	ws := t.Inputs[0].Windowing
	if !spec.Liftable(ws) || ws.TimestampCombiner != df.EndOfWindow || ws.AllowedLateness != 0 {
		return nil, false
	}
	bc, ok := spec.Kernel.(df.ByteCombiner)
	if !ok {
		return nil, false
	}
	if _, err := bc.NewByteCombine(t.Name); err != nil {
		return nil, false // no coder for the input, accumulator or output
	}
	for _, c := range []*df.Collection{t.Inputs[0], t.Outputs[0]} {
		if _, err := c.Type.Coder(); err != nil {
			return nil, false
		}
		if _, ok := c.Type.(df.ByteCodec); !ok {
			return nil, false
		}
	}
	for _, e := range spec.Expansion {
		if _, ok := e.Spec.(*df.GroupByKeySpec); ok {
			return e, true
		}
	}
	return nil, false
}

// combineFn is the Beam CombineFn of a lifted Sluice Combine.
type combineFn struct{ fnBase }

// accBox holds an accumulator: the Sluice value once a combineFn has it in
// hand, or its encoding as Beam delivered it.
type accBox struct {
	bc  df.ByteCombine // set with v
	v   any
	raw []byte
}

func (f *combineFn) open(a *accBox) (*accBox, error) {
	if a.bc != nil {
		return a, nil
	}
	v, err := f.inst.combine.DecodeAccumulator(a.raw)
	if err != nil {
		return nil, err
	}
	a.bc, a.v, a.raw = f.inst.combine, v, nil
	return a, nil
}

func (f *combineFn) CreateAccumulator() *accBox {
	return &accBox{bc: f.inst.combine, v: f.inst.combine.CreateAccumulator()}
}

func (f *combineFn) AddInput(a *accBox, in []byte) (*accBox, error) {
	a, err := f.open(a)
	if err != nil {
		return nil, err
	}
	if a.v, err = a.bc.AddInput(a.v, in); err != nil {
		return nil, err
	}
	return a, nil
}

func (f *combineFn) MergeAccumulators(a, b *accBox) (*accBox, error) {
	a, err := f.open(a)
	if err != nil {
		return nil, err
	}
	if b, err = f.open(b); err != nil {
		return nil, err
	}
	if a.v, err = a.bc.MergeAccumulators(a.v, b.v); err != nil {
		return nil, err
	}
	return a, nil
}

func (f *combineFn) ExtractOutput(a *accBox) ([]byte, error) {
	a, err := f.open(a)
	if err != nil {
		return nil, err
	}
	return a.bc.ExtractOutput(nil, a.v)
}

func encodeAccBox(a *accBox) ([]byte, error) {
	if a.bc == nil {
		return a.raw, nil
	}
	return a.bc.EncodeAccumulator(nil, a.v)
}

func decodeAccBox(b []byte) (*accBox, error) {
	return &accBox{raw: bytes.Clone(b)}, nil
}

// combinedFn makes the Sluice encoding of a combined KV from its encoded
// key and output (a KV encodes as its key, then its value), in the only
// pane of its window, on time: Beam Go's lifted merge and extract steps
// (exec.MergeAccumulators, exec.ExtractOutput) drop the pane that the
// GroupByKey gave, and under the default trigger with no allowed lateness
// a window fires exactly once, on time.
type combinedFn struct{}

func (combinedFn) ProcessElement(w typex.Window, t typex.EventTime, k, v []byte, emit emitFn) {
	b := make([]byte, 0, len(k)+len(v))
	b = append(append(b, k...), v...)
	emit(windowedTime, appendWindowed(make([]byte, 0, len(b)+24), df.EventTime(t), fromBeamWindow(w), true, b))
}

// newByteCombine is the kindCombine instance's view of its Combine.
func newByteCombine(root *df.Transform) (df.ByteCombine, error) {
	spec, ok := root.Spec.(*df.CombineSpec)
	if !ok {
		return nil, fmt.Errorf("beam bridge: %s is not a Combine", root.Name)
	}
	bc, ok := spec.Kernel.(df.ByteCombiner)
	if !ok {
		return nil, fmt.Errorf("beam bridge: Combine %s has no byte view", root.Name)
	}
	return bc.NewByteCombine(root.Name)
}
