package beam

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/reflectx"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

// The Beam side of the bridge sees only these DoFn types. Each carries the
// job token, the pipeline's fingerprint and the name of the Sluice transform
// it runs; on a worker, the transform's closures are found again by name in
// the pipeline that the worker's program rebuilt (see worker.go).

func init() {
	for _, t := range []any{(*constFn)(nil), (*elemFn)(nil), (*elemSideFn)(nil), (*groupFn)(nil), (*groupSideFn)(nil),
		(*kvFn)(nil), (*stateFn)(nil), (*stateTimerFn)(nil), (*stateEventFn)(nil), (*stateProcFn)(nil), (*stateSideFn)(nil), (*stateTimerSideFn)(nil), (*stateEventSideFn)(nil), (*stateProcSideFn)(nil), (*reifyFn)(nil), (*commitFn)(nil)} {
		beam.RegisterType(reflect.TypeOf(t).Elem())
	}
	runtime.RegisterFunction(makeSplitFn)

	// Generated callers for the hot DoFns, emitters and iterators, so that
	// Beam's harness does not call them through reflection.
	register.DoFn6x1[context.Context, typex.PaneInfo, typex.Window, typex.EventTime, []byte, emitFn, error](&elemFn{})
	register.DoFn7x1[context.Context, typex.PaneInfo, typex.Window, typex.EventTime, []byte, func(*[]byte) bool, emitFn, error](&elemSideFn{})
	register.DoFn7x1[context.Context, typex.PaneInfo, typex.Window, typex.EventTime, []byte, func(*[]byte) bool, emitFn, error](&groupFn{})
	register.DoFn6x1[context.Context, typex.PaneInfo, typex.Window, typex.EventTime, []byte, func(typex.EventTime, []byte, []byte), error](&kvFn{})
	register.Emitter2[typex.EventTime, []byte]()
	register.Emitter3[typex.EventTime, []byte, []byte]()
	register.Emitter1[[]byte]()
	register.Iter1[[]byte]()
}

// Kinds of root a Beam DoFn runs.
const (
	kindParDo   = "pardo"   // decode the input and run a ParDo chain
	kindGroup   = "group"   // decode GroupByKey output and run its consumers
	kindSplits  = "splits"  // split a bounded source; emit split indices
	kindRead    = "read"    // read one split of a bounded source
	kindWindow  = "window"  // assign windows with a Sluice window fn
	kindWrite   = "write"   // write a shard per bundle; emit the writer's result
	kindKV      = "kv"      // split encoded KV elements into key and value
	kindStateKV = "statekv" // key encoded elements by their encoded key, for state
	kindCommit  = "commit"  // commit a sink with its writers' results
	kindCombine = "combine" // a Combine's CombineFn, lifted by Beam
)

// fnBase is the serialized identity of a bridge DoFn and its runtime state.
type fnBase struct {
	Job    string `json:"job"`
	Print  string `json:"print"`
	Root   string `json:"root"`
	Kind   string `json:"kind"`
	Splits int    `json:"splits,omitempty"`

	inst *instance
}

func (f *fnBase) Setup(ctx context.Context) error {
	inst, err := newInstance(ctx, f)
	if err != nil {
		return err
	}
	f.inst = inst
	return nil
}

func (f *fnBase) start(ctx context.Context) error { return f.inst.startBundle(ctx) }

func (f *fnBase) Teardown(ctx context.Context) error {
	if f.inst == nil {
		return nil
	}
	return f.inst.teardown(ctx)
}

// elemFn runs a chain on encoded elements.
type elemFn struct{ fnBase }

func (f *elemFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, v []byte, emit emitFn) error {
	return f.inst.processElem(ctx, pn, w, t, v, nil, emit)
}

func (f *elemFn) StartBundle(ctx context.Context, _ emitFn) error {
	return f.start(ctx)
}

func (f *elemFn) FinishBundle(ctx context.Context, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

// elemSideFn is elemFn with the chain's side inputs, as one Beam side input.
type elemSideFn struct{ fnBase }

func (f *elemSideFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, v []byte, side func(*[]byte) bool, emit emitFn) error {
	return f.inst.processElem(ctx, pn, w, t, v, side, emit)
}

func (f *elemSideFn) StartBundle(ctx context.Context, _ func(*[]byte) bool, _ emitFn) error {
	return f.start(ctx)
}

func (f *elemSideFn) FinishBundle(ctx context.Context, _ func(*[]byte) bool, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

// groupFn runs the consumers of a GroupByKey on its Beam output.
type groupFn struct{ fnBase }

func (f *groupFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, k []byte, vs func(*[]byte) bool, emit emitFn) error {
	return f.inst.processGroup(ctx, pn, w, t, k, vs, nil, emit)
}

func (f *groupFn) StartBundle(ctx context.Context, _ emitFn) error {
	return f.start(ctx)
}

func (f *groupFn) FinishBundle(ctx context.Context, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

// groupSideFn is groupFn with side inputs.
type groupSideFn struct{ fnBase }

func (f *groupSideFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, k []byte, vs func(*[]byte) bool, side func(*[]byte) bool, emit emitFn) error {
	return f.inst.processGroup(ctx, pn, w, t, k, vs, side, emit)
}

func (f *groupSideFn) StartBundle(ctx context.Context, _ func(*[]byte) bool, _ emitFn) error {
	return f.start(ctx)
}

func (f *groupSideFn) FinishBundle(ctx context.Context, _ func(*[]byte) bool, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

// kvFn turns the encoded elements of a GroupByKey's input into Beam KVs of
// encoded key and value, through the GroupByKey's kernel.
type kvFn struct{ fnBase }

func (f *kvFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, v []byte, emit func(typex.EventTime, []byte, []byte)) error {
	return f.inst.processKV(ctx, pn, w, t, v, emit)
}

func (f *kvFn) StartBundle(ctx context.Context, _ func(typex.EventTime, []byte, []byte)) error {
	return f.start(ctx)
}

func (f *kvFn) FinishBundle(ctx context.Context, _ func(typex.EventTime, []byte, []byte)) error {
	return f.inst.finishBundle(ctx, nil)
}

// constFn emits one constant for each input: the Sluice encoding of
// Impulse's empty []byte.
type constFn struct {
	Value []byte `json:"value"`
	None  bool   `json:"none,omitempty"` // emit nothing: the Flatten of no collections
}

func (f *constFn) ProcessElement(_ []byte, emit func([]byte)) {
	if !f.None {
		emit(f.Value)
	}
}

// reifyFn prepares a side input: it puts the element's window and the side
// input's tag in front of its encoding, so that all side inputs of a chain
// travel as one globally windowed Beam side input, and the bridge maps
// windows itself (as Sluice's side input views do).
type reifyFn struct {
	Tag int `json:"tag"`
}

func (f *reifyFn) ProcessElement(w typex.Window, t typex.EventTime, v []byte, emit func(typex.EventTime, []byte)) {
	sw := fromBeamWindow(w)
	b := make([]byte, 0, len(v)+16)
	b = binary.AppendUvarint(b, uint64(f.Tag))
	b = binary.AppendVarint(b, int64(sw.Start))
	b = binary.AppendVarint(b, int64(sw.End))
	b = append(b, v...)
	emit(t, b)
}

// commitFn commits a sink with the results of all its writers, read as a
// side input, once (its main input is an Impulse).
type commitFn struct{ fnBase }

func (f *commitFn) ProcessElement(ctx context.Context, _ []byte, results func(*[]byte) bool) error {
	return f.inst.commit(ctx, results)
}

// splitData configures the DoFn that splits a tagged output into Beam
// collections.
type splitData struct {
	N int `json:"n"`
}

// splitFn is a dynamic function (EventTime, []byte, emit_1, ..., emit_N) error
// that strips the tag of each element and emits it to output tag.
type splitFn struct {
	name string
	t    reflect.Type
	n    int
}

func (f *splitFn) Name() string       { return f.name }
func (f *splitFn) Type() reflect.Type { return f.t }

func (f *splitFn) Call(args []any) []any {
	ts := args[0]
	b := args[1].([]byte)
	tag, n := binary.Uvarint(b)
	if n <= 0 || int(tag) >= f.n {
		return []any{fmt.Errorf("beam bridge: bad output tag in %d bytes", len(b))}
	}
	reflectx.MakeFunc2x0(args[2+int(tag)]).Call2x0(ts, b[n:])
	return []any{error(nil)}
}

func makeSplitFn(name string, t reflect.Type, enc []byte) reflectx.Func {
	var d splitData
	if err := json.Unmarshal(enc, &d); err != nil {
		panic(fmt.Errorf("beam bridge: decode split data: %w", err))
	}
	return &splitFn{name: name, t: t, n: d.N}
}
