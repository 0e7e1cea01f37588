package beam

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/mtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// instance is one Beam DoFn instance's Sluice side: the operators of its
// chain, wired to the Beam emitter of the element being processed. Beam calls
// a DoFn instance from one goroutine at a time, so nothing here is locked.
type instance struct {
	fn    *fnBase
	job   *jobState
	root  *df.Transform
	chain *chain

	ops      []df.Op
	input    df.ByteEmitFunc // kindParDo, kindKV, kindWrite: the root's decoder
	group    df.GroupSink    // kindGroup
	stateful df.StatefulOp   // the root, when it is a StatefulParDo
	combine  df.ByteCombine  // kindCombine
	metrics  *df.MetricsRegistry
	sent     df.Metrics // what was reported to Beam so far

	// The Beam emitter and the element being processed.
	emit   emitFn
	emitKV func(typex.EventTime, []byte, []byte)
	win    df.Window // of the element being processed; global in FinishBundle

	sides       []df.SideInputData // by tag
	sidesLoaded bool

	splits  []df.AnySource // kindSplits, kindRead
	readOut any            // kindRead: Consumer[T] of the source's elements
	writer  df.AnySinkWriter
	ctx     context.Context

	// tornDown makes Teardown run once: by Beam, or by the launcher when
	// the job ends (Beam calls Teardown on a best-effort basis).
	tornDown    sync.Once
	teardownErr error
}

func newInstance(ctx context.Context, f *fnBase) (*instance, error) {
	job, err := lookupJob(f.Job, f.Print)
	if err != nil {
		return nil, err
	}
	root := job.plan.byName[f.Root]
	if root == nil {
		return nil, fmt.Errorf("beam bridge: the worker's pipeline has no transform %q", f.Root)
	}
	inst := &instance{fn: f, job: job, root: root, metrics: &df.MetricsRegistry{}, ctx: ctx}
	switch f.Kind {
	case kindParDo, kindGroup, kindRead, kindWindow:
		inst.chain = job.plan.chainOf(root)
		if err := inst.build(); err != nil {
			return nil, err
		}
	case kindKV:
		spec := root.Spec.(*df.GroupByKeySpec)
		enc := spec.Kernel.NewEncoder(kvSink{inst})
		dec, err := inst.decoder(root.Inputs[0], enc)
		if err != nil {
			return nil, err
		}
		inst.input = dec
	case kindStateKV:
		kc := root.Spec.(*df.ParDoSpec).Stateful.KeyCoder
		inst.input = func(b []byte, t df.EventTime, w df.Window, _ df.PaneInfo) error {
			// A KV encodes as its key, then its value: the key's bytes
			// are the prefix that the key coder reads.
			_, n, err := kc.DecodeAny(b)
			if err != nil {
				return &df.TransformError{Transform: root.Name, Err: fmt.Errorf("decode state key: %w", err)}
			}
			inst.emitKV(typex.EventTime(t), b[:n:n], b)
			return nil
		}
	case kindCombine:
		bc, err := newByteCombine(root)
		if err != nil {
			return nil, err
		}
		inst.combine = bc
	case kindSplits, kindWrite, kindCommit:
	default:
		return nil, fmt.Errorf("beam bridge: unknown DoFn kind %q", f.Kind)
	}
	for _, op := range inst.ops {
		if err := op.Setup(ctx); err != nil {
			return nil, err
		}
	}
	job.addInstance(inst)
	return inst, nil
}

// build instantiates the chain's operators.
func (inst *instance) build() error {
	ch := inst.chain
	inst.sides = make([]df.SideInputData, len(ch.sides))
	for i, s := range ch.sides {
		inst.sides[i] = s.NewData()
	}
	sideIndex := map[*df.SideInputSpec]int{}
	for i, s := range ch.sides {
		sideIndex[s] = i
	}
	pl := inst.job.plan
	var consumerOf func(c *df.Collection) (any, error)
	newOp := func(t *df.Transform) (df.Op, error) {
		spec := t.Spec.(*df.ParDoSpec)
		outs := make([]any, len(t.Outputs))
		for i, out := range t.Outputs {
			c, err := consumerOf(out)
			if err != nil {
				return nil, err
			}
			outs[i] = c
		}
		sides := make([]df.SideInputData, len(spec.Sides))
		for i, s := range spec.Sides {
			sides[i] = inst.sides[sideIndex[s]]
		}
		op, err := spec.NewOp(df.OpEnv{Transform: t.Name, Outputs: outs, Sides: sides, Metrics: inst.metrics.NewContainer(t.Name)})
		if err != nil {
			return nil, &df.TransformError{Transform: t.Name, Err: err}
		}
		inst.ops = append(inst.ops, op)
		return op, nil
	}
	consumerOf = func(c *df.Collection) (any, error) {
		var cs []any
		if tag := ch.tagOf(c); tag >= 0 {
			bc, err := pl.codec(c)
			if err != nil {
				return nil, err
			}
			enc, err := bc.NewByteEncoder(inst.emitter(c, tag))
			if err != nil {
				return nil, err
			}
			cs = append(cs, enc)
		}
		for _, t := range pl.consumers[c] {
			if pl.inProcess(t) {
				op, err := newOp(t)
				if err != nil {
					return nil, err
				}
				cs = append(cs, op.Input())
			}
		}
		if len(cs) == 0 {
			return c.Type.Discard(), nil
		}
		return c.Type.Fanout(cs), nil
	}
	switch spec := inst.root.Spec.(type) {
	case *df.ParDoSpec:
		op, err := newOp(inst.root)
		if err != nil {
			return err
		}
		dec, err := inst.decoder(inst.root.Inputs[0], op.Input())
		if err != nil {
			return err
		}
		inst.input = dec
		if spec.Stateful != nil {
			sop, ok := op.(df.StatefulOp)
			if !ok {
				return &df.TransformError{Transform: inst.root.Name, Err: fmt.Errorf("beam bridge: stateful ParDo operator %T has no state hooks", op)}
			}
			inst.stateful = sop
		}
	case *df.GroupByKeySpec:
		out, err := consumerOf(inst.root.Outputs[0])
		if err != nil {
			return err
		}
		inst.group = spec.Kernel.NewDecoder(out)
	case *df.ReadSpec:
		out, err := consumerOf(inst.root.Outputs[0])
		if err != nil {
			return err
		}
		inst.readOut = out
	case *df.WindowIntoSpec:
		out, err := consumerOf(inst.root.Outputs[0])
		if err != nil {
			return err
		}
		op, err := spec.NewOp(df.OpEnv{Transform: inst.root.Name, Outputs: []any{out}, Metrics: inst.metrics.NewContainer(inst.root.Name)})
		if err != nil {
			return &df.TransformError{Transform: inst.root.Name, Err: err}
		}
		inst.ops = append(inst.ops, op)
		dec, err := inst.decoder(inst.root.Inputs[0], op.Input())
		if err != nil {
			return err
		}
		inst.input = dec
	}
	return nil
}

// decoder returns the function that decodes the elements of c that cross
// Beam and hands them to out, a Consumer of c's elements.
func (inst *instance) decoder(c *df.Collection, out any) (df.ByteEmitFunc, error) {
	bc, err := inst.job.plan.codec(c)
	if err != nil {
		return nil, err
	}
	return bc.NewByteDecoder(out)
}

// emitter returns the function that hands the encoded elements of c to Beam.
// An element in the window of the element being processed (the global
// window in FinishBundle) is emitted as Beam's emitters do; one in another
// window carries its window to the bridge's emitter (see emitFn).
func (inst *instance) emitter(c *df.Collection, tag int) df.ByteEmitFunc {
	tagged := len(inst.chain.emitted) > 1
	_, global := c.Windowing.Fn.(df.GlobalWindows)
	return func(b []byte, t df.EventTime, w df.Window, _ df.PaneInfo) error {
		if tagged {
			tb := make([]byte, 0, len(b)+2)
			tb = binary.AppendUvarint(tb, uint64(tag))
			b = append(tb, b...)
		}
		if w == inst.win {
			return inst.callEmit(typex.EventTime(t), b)
		}
		// Beam encodes the windows of a collection with its window fn's
		// window coder: global or interval windows, not both.
		if global != (w == df.GlobalWindow) {
			return fmt.Errorf("beam bridge: %s: element emitted into window %v, but the collection's windows are those of %v", c.Name, w, c.Windowing.Fn)
		}
		return inst.callEmit(windowedTime, appendWindowed(make([]byte, 0, len(b)+24), t, w, false, b))
	}
}

// callEmit hands an element to Beam. Beam runs the fused downstream DoFns
// inside the call and reports their failures by panicking; that failure is
// returned as the downstream transform's error, not attributed to this one.
func (inst *instance) callEmit(t typex.EventTime, b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = &downstreamError{e}
				return
			}
			err = &downstreamError{fmt.Errorf("%v", r)}
		}
	}()
	inst.emit(t, b)
	return nil
}

// downstreamError is the failure of a Beam DoFn downstream of this one.
type downstreamError struct{ err error }

func (e *downstreamError) Error() string { return e.err.Error() }
func (e *downstreamError) Unwrap() error { return e.err }

func (inst *instance) startBundle(ctx context.Context) error {
	inst.ctx = ctx
	for _, op := range inst.ops {
		if err := op.StartBundle(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (inst *instance) processElem(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, v []byte, side func(*[]byte) bool, emit emitFn) error {
	inst.emit = emit
	if side != nil && !inst.sidesLoaded {
		if err := inst.loadSides(side); err != nil {
			return err
		}
	}
	switch inst.fn.Kind {
	case kindSplits:
		return inst.emitSplits(ctx)
	case kindRead:
		return inst.readSplit(ctx, v)
	case kindWrite:
		if inst.writer == nil {
			if err := inst.openWriter(ctx); err != nil {
				return err
			}
		}
	}
	inst.win = fromBeamWindow(w)
	return inst.input(v, df.EventTime(t), inst.win, fromBeamPane(pn))
}

func (inst *instance) processGroup(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, k []byte, vs func(*[]byte) bool, side func(*[]byte) bool, emit emitFn) error {
	inst.emit = emit
	if side != nil && !inst.sidesLoaded {
		if err := inst.loadSides(side); err != nil {
			return err
		}
	}
	var vals byteValues
	var b []byte
	for vs(&b) {
		vals = append(vals, b)
		b = nil
	}
	inst.win = fromBeamWindow(w)
	if err := inst.group.Emit(k, vals, df.EventTime(t), inst.win, fromBeamPane(pn)); err != nil {
		return err
	}
	return inst.group.Flush()
}

func (inst *instance) processKV(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, v []byte, emit func(typex.EventTime, []byte, []byte)) error {
	inst.emitKV = emit
	inst.win = fromBeamWindow(w)
	return inst.input(v, df.EventTime(t), inst.win, fromBeamPane(pn))
}

// kvSink hands the encoded key and value of a GroupByKey input to Beam.
type kvSink struct{ inst *instance }

func (s kvSink) Add(key, value []byte, t df.EventTime, w df.Window) error {
	if w != s.inst.win {
		return fmt.Errorf("beam bridge: GroupByKey input element moved from window %v to %v", s.inst.win, w)
	}
	s.inst.emitKV(typex.EventTime(t), bytes.Clone(key), bytes.Clone(value))
	return nil
}

func (inst *instance) finishBundle(ctx context.Context, emit emitFn) error {
	inst.emit = emit
	inst.win = df.GlobalWindow // Beam runs FinishBundle in the global window
	var errs []error
	for _, op := range inst.ops {
		if err := op.FinishBundle(ctx); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if inst.writer != nil && len(errs) == 0 {
		if err := inst.closeWriter(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, inst.reportMetrics(ctx))
	return errors.Join(errs...)
}

func (inst *instance) teardown(ctx context.Context) error {
	inst.tornDown.Do(func() {
		var errs []error
		for _, op := range inst.ops {
			errs = append(errs, op.Teardown(ctx))
		}
		inst.teardownErr = errors.Join(errs...)
	})
	return inst.teardownErr
}

// ensureSides loads the side inputs once per instance (a timer firing may
// come before any element).
func (inst *instance) ensureSides(side func(*[]byte) bool) error {
	if side == nil || inst.sidesLoaded {
		return nil
	}
	return inst.loadSides(side)
}

// loadSides fills the chain's side inputs from the one Beam side input,
// whose elements carry their tag and original window (see reifyFn). Sluice's
// side input data maps main windows to side windows itself.
func (inst *instance) loadSides(side func(*[]byte) bool) error {
	inputs := make([]df.ByteEmitFunc, len(inst.chain.sides))
	for i, s := range inst.chain.sides {
		dec, err := inst.decoder(s.Coll, inst.sides[i].Input())
		if err != nil {
			return err
		}
		inputs[i] = dec
	}
	var b []byte
	for side(&b) {
		tag, n := binary.Uvarint(b)
		if n <= 0 || int(tag) >= len(inputs) {
			return fmt.Errorf("beam bridge: malformed side input element")
		}
		b = b[n:]
		start, n1 := binary.Varint(b)
		if n1 <= 0 {
			return fmt.Errorf("beam bridge: malformed side input element")
		}
		b = b[n1:]
		end, n2 := binary.Varint(b)
		if n2 <= 0 {
			return fmt.Errorf("beam bridge: malformed side input element")
		}
		b = b[n2:]
		w := df.Window{Start: df.EventTime(start), End: df.EventTime(end)}
		if err := inputs[tag](b, w.MaxTimestamp(), w, df.NoFiringPane); err != nil {
			return fmt.Errorf("side input %s: %w", inst.chain.sides[tag].Coll.Name, err)
		}
		b = nil
	}
	inst.sidesLoaded = true
	return nil
}

// byteValues are the values of one Beam group, as Sluice's EncodedValues.
type byteValues [][]byte

func (v byteValues) Len() int { return len(v) }
func (v byteValues) All() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, b := range v {
			if !yield(b) {
				return
			}
		}
	}
}

// --- bounded sources ---

func (inst *instance) sourceSplits(ctx context.Context) ([]df.AnySource, error) {
	if inst.splits != nil {
		return inst.splits, nil
	}
	src := inst.root.Spec.(*df.ReadSpec).Source
	splits, err := src.Split(ctx, max(inst.fn.Splits, 1))
	if err != nil {
		return nil, &df.TransformError{Transform: inst.root.Name, Err: fmt.Errorf("split source: %w", err)}
	}
	inst.splits = splits
	return splits, nil
}

func (inst *instance) emitSplits(ctx context.Context) error {
	splits, err := inst.sourceSplits(ctx)
	if err != nil {
		return err
	}
	for i := range splits {
		inst.emit(mtime.MinTimestamp, binary.AppendUvarint(nil, uint64(i)))
	}
	return nil
}

func (inst *instance) readSplit(ctx context.Context, v []byte) error {
	splits, err := inst.sourceSplits(ctx)
	if err != nil {
		return err
	}
	i, n := binary.Uvarint(v)
	if n <= 0 || int(i) >= len(splits) {
		return &df.TransformError{Transform: inst.root.Name, Err: fmt.Errorf("split %d of %d: the source splits differently on this worker; Split must be deterministic", i, len(splits))}
	}
	inst.win = df.GlobalWindow
	if err := splits[i].ReadAll(ctx, inst.readOut); err != nil {
		var ee *df.ElementError
		if errors.As(err, &ee) {
			return err
		}
		return &df.TransformError{Transform: inst.root.Name, Err: fmt.Errorf("read %v: %w", splits[i], err)}
	}
	return nil
}

// --- sinks ---

func (inst *instance) openWriter(ctx context.Context) error {
	sink := inst.root.Spec.(*df.WriteSpec).Sink
	shard := int(inst.job.shards.Add(1) - 1)
	w, err := sink.NewWriter(ctx, shard)
	if err != nil {
		return &df.TransformError{Transform: inst.root.Name, Err: fmt.Errorf("open shard %d: %w", shard, err)}
	}
	dec, err := inst.decoder(inst.root.Inputs[0], w.Input())
	if err != nil {
		return err
	}
	inst.writer, inst.input = w, dec
	return nil
}

// closeWriter closes the bundle's shard and emits its result, gob-encoded,
// for the commit step.
func (inst *instance) closeWriter(ctx context.Context) error {
	w := inst.writer
	inst.writer = nil
	res, err := w.Close(ctx)
	if err != nil {
		return &df.TransformError{Transform: inst.root.Name, Err: fmt.Errorf("close shard: %w", err)}
	}
	b, err := inst.job.encodeResult(res)
	if err != nil {
		return &df.TransformError{Transform: inst.root.Name, Err: err}
	}
	inst.emit(mtime.MinTimestamp, b)
	return nil
}

// Writer results travel to the commit step as a reference into the job's
// memory when the job was launched by this process (its workers run here,
// so the commit step does too), and gob-encoded otherwise.
const (
	resultLocal byte = iota
	resultGob
)

func (j *jobState) encodeResult(res any) ([]byte, error) {
	if j.local {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.results = append(j.results, res)
		return binary.AppendUvarint([]byte{resultLocal}, uint64(len(j.results)-1)), nil
	}
	if res != nil {
		gob.Register(res)
	}
	var buf bytes.Buffer
	buf.WriteByte(resultGob)
	if err := gob.NewEncoder(&buf).Encode(&res); err != nil {
		return nil, fmt.Errorf("encode writer result %T with encoding/gob (sink results cross Beam worker processes): %w", res, err)
	}
	return buf.Bytes(), nil
}

func (j *jobState) decodeResult(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("empty writer result")
	}
	switch b[0] {
	case resultLocal:
		i, n := binary.Uvarint(b[1:])
		j.mu.Lock()
		defer j.mu.Unlock()
		if !j.local || n <= 0 || int(i) >= len(j.results) {
			return nil, fmt.Errorf("writer result %d is not in this process", i)
		}
		return j.results[i], nil
	case resultGob:
		var r any
		if err := gob.NewDecoder(bytes.NewReader(b[1:])).Decode(&r); err != nil {
			return nil, fmt.Errorf("decode writer result (with separate worker processes, register its type with gob.Register): %w", err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("malformed writer result")
}

func (inst *instance) commit(ctx context.Context, results func(*[]byte) bool) error {
	var rs []any
	var b []byte
	for results(&b) {
		r, err := inst.job.decodeResult(b)
		if err != nil {
			return &df.TransformError{Transform: inst.root.Name, Err: err}
		}
		rs = append(rs, r)
		b = nil
	}
	if err := inst.root.Spec.(*df.WriteSpec).Sink.Commit(ctx, rs); err != nil {
		return &df.TransformError{Transform: inst.root.Name, Err: fmt.Errorf("commit: %w", err)}
	}
	inst.job.committed.Add(1)
	return nil
}

// --- windows and panes ---

func fromBeamWindow(w typex.Window) df.Window {
	switch w := w.(type) {
	case window.IntervalWindow:
		return df.Window{Start: df.EventTime(w.Start), End: df.EventTime(w.End)}
	case window.GlobalWindow:
		return df.GlobalWindow
	}
	// Beam's global window is the only other kind the bridge creates.
	return df.GlobalWindow
}

func fromBeamPane(p typex.PaneInfo) df.PaneInfo {
	out := df.PaneInfo{Index: p.Index, NonSpeculativeIndex: p.NonSpeculativeIndex, IsFirst: p.IsFirst, IsLast: p.IsLast}
	switch p.Timing {
	case typex.PaneEarly:
		out.Timing = df.PaneEarly
	case typex.PaneOnTime:
		out.Timing = df.PaneOnTime
	case typex.PaneLate:
		out.Timing = df.PaneLate
	default:
		out.Timing = df.PaneUnknown
	}
	return out
}
