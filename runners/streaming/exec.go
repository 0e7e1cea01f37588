package streaming

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/runbase"
	"github.com/sluicedata/sluice/runners/internal/trigger"
	"github.com/sluicedata/sluice/runners/streaming/internal/checkpoint"
	"github.com/sluicedata/sluice/runners/streaming/internal/state"
)

// job is one execution of a plan. A single coordinator goroutine runs the
// job in rounds; within a round it visits the stages in dependency order and
// runs each stage's work (source splits, or the partitions of a keyed
// stage) on parallel workers. Everything a round reads is processed by
// every downstream stage in the same round, so between rounds nothing is in
// flight: that is where watermarks are complete for the round and where
// checkpoints are taken (the barrier is the end of the round).
type job struct {
	pl      *plan
	opts    Options
	metrics *df.MetricsRegistry
	parts   int
	// stores are the partitions' state databases (none without keyed
	// stages), set by attachState once opening finishes.
	stores   []*state.Store
	opening  *openingStores
	attached bool
	runs     []*stageRun // in plan order
	runOf    map[*stage]*stageRun
	sides    map[*df.SideInputSpec]df.SideInputData
	sinks    map[*df.Transform]*sinkRun
	counts   map[*df.Collection]*atomic.Int64
	// sideLogs keeps the encoded elements of each side-input collection,
	// which checkpoints carry so that a restore rebuilds the side inputs.
	sideLogs map[*df.Collection]*sideLog

	ctx      context.Context // the job's context, for writers opened lazily
	now      time.Time       // processing time of the current round
	driven   bool            // a source drives processing time (TestStream)
	final    bool            // every source has ended: processing time is at its end too
	nextID   int             // instance ids
	epoch    int64           // sink epoch: shard numbers are epoch<<12 | instance
	stats    *jobStats
	rt       runtimeState
	restore  *restored // what the job resumed from, if anything
	inflight *inflight // the checkpoint being written, if any
	// ckDir is the job's checkpoint directory, opened at the first
	// checkpoint; nextCheckpoint the id the next one gets.
	ckDir          *checkpoint.Dir
	nextCheckpoint int64
	pipeline       *df.Pipeline
}

// stageRun is the runtime state of one stage.
type stageRun struct {
	st    *stage
	inWM  df.EventTime // input watermark last delivered to the root
	outWM df.EventTime
	insts []*instance // sources: one per worker; keyed stages: one per partition

	// keyed stages and side-input ParDos
	states  []*state.Stage // per partition
	exch    *exchange      // GroupByKey, lifted Combine
	store   df.Store       // stateful ParDo, side-input ParDo: this round's input
	pending df.Store       // side-input ParDo: main input waiting for its side inputs
	red     *trigger.Reducer
	comb    df.StreamingCombine
	keyed   []*keyedPart // per partition
	dropped atomic.Int64 // late elements dropped

	// sources
	src *sourceRun
}

// sinkRun is a Write: the writers of the current epoch, per instance.
type sinkRun struct {
	t       *df.Transform
	spec    *df.WriteSpec
	epoch   df.EpochSink // nil: committed once, when the job ends
	mu      sync.Mutex
	open    map[*instance]df.AnySinkWriter
	results []any // non-epoch sinks: every closed writer's result
}

// runtimeState is what a checkpoint records of the job beside its state
// stores, sources and sinks.
type runtimeState struct {
	Epoch          int64
	Parallelism    int
	MaxParallelism int
	Finished       bool
	Watermarks     map[string][2]int64 // stage root -> input, output watermark
	Impulses       map[string]bool     // impulse done
	Bounded        map[string][]bool   // bounded read: splits done
}

func newJob(ctx context.Context, pl *plan, opts Options, metrics *df.MetricsRegistry, stores *openingStores) (*job, error) {
	j := &job{
		pl: pl, opts: opts, metrics: metrics, parts: opts.Parallelism, opening: stores,
		runOf: map[*stage]*stageRun{}, sides: map[*df.SideInputSpec]df.SideInputData{},
		sinks: map[*df.Transform]*sinkRun{}, counts: map[*df.Collection]*atomic.Int64{},
		sideLogs: map[*df.Collection]*sideLog{},
		ctx:      ctx, stats: newJobStats(),
		rt: runtimeState{Watermarks: map[string][2]int64{}, Impulses: map[string]bool{}, Bounded: map[string][]bool{}},
	}
	for c := range pl.producers {
		j.counts[c] = &atomic.Int64{}
	}
	for c, specs := range pl.sideUses {
		for _, s := range specs {
			j.sides[s] = s.NewData()
		}
		j.sideLogs[c] = &sideLog{}
	}
	for _, ts := range pl.consumers {
		for _, t := range ts {
			if spec, ok := t.Spec.(*df.WriteSpec); ok && j.sinks[t] == nil {
				es, _ := df.AsEpochSink(spec.Sink)
				j.sinks[t] = &sinkRun{t: t, spec: spec, epoch: es, open: map[*instance]df.AnySinkWriter{}}
			}
		}
	}
	for _, st := range pl.stages {
		sr := &stageRun{st: st, inWM: df.MinTime, outWM: df.MinTime}
		j.runs = append(j.runs, sr)
		j.runOf[st] = sr
	}
	return j, nil
}

// setup creates the operators of every stage. It runs after a restore has
// set the runtime state, and before the first round.
func (j *job) setup(ctx context.Context) error {
	for _, sr := range j.runs {
		st := sr.st
		t := st.root
		if w, ok := j.rt.Watermarks[t.Name]; ok {
			sr.inWM, sr.outWM = df.EventTime(w[0]), df.EventTime(w[1])
		}
		switch st.kind {
		case kindGBK:
			red, err := trigger.NewReducer(t.Inputs[0].Windowing)
			if err != nil {
				return &df.TransformError{Transform: t.Name, Err: err}
			}
			sr.red = red
			sr.exch = newExchange(j.parts)
		case kindCombine:
			sr.comb = j.pl.lifted[t]
			sr.exch = newExchange(j.parts)
		case kindStateful, kindSides:
			sr.store = t.Inputs[0].Type.NewStore(j.parts)
			if st.kind == kindSides {
				sr.pending = t.Inputs[0].Type.NewStore(j.parts)
			}
		}
	}
	// Instances: after every exchange exists, since wiring reaches them.
	for _, sr := range j.runs {
		n := j.parts
		for range n {
			inst := j.newInstance(sr)
			sr.insts = append(sr.insts, inst)
		}
	}
	for _, sr := range j.runs {
		for _, inst := range sr.insts {
			if err := inst.build(ctx); err != nil {
				return err
			}
		}
		if sr.st.kind <= kindUnbounded {
			src, err := j.newSource(ctx, sr)
			if err != nil {
				return err
			}
			sr.src = src
		}
	}
	return nil
}

// attachState waits for the state stores to be open and gives every keyed
// stage its state and partitions; once. It runs before the first round of
// a keyed stage and before the first checkpoint.
func (j *job) attachState() error {
	if j.attached || j.opening == nil {
		return nil
	}
	stores, err := j.opening.wait()
	if err != nil {
		return err
	}
	j.stores, j.attached = stores, true
	for _, sr := range j.runs {
		st := sr.st
		if !st.keyed() {
			continue
		}
		t := st.root
		var lateness df.EventTime
		switch st.kind {
		case kindStateful:
			lateness = t.Spec.(*df.ParDoSpec).Stateful.AllowedLateness
		default:
			lateness = df.EventTime(t.Inputs[0].Windowing.AllowedLateness.Milliseconds())
		}
		for p := range j.parts {
			stg, err := j.stores[p].Stage(t.Name, state.StageOptions{AllowedLateness: lateness})
			if err != nil {
				return &df.TransformError{Transform: t.Name, Err: err}
			}
			sr.states = append(sr.states, stg)
		}
		for p, inst := range sr.insts {
			sr.keyed = append(sr.keyed, newKeyedPart(j, sr, p, inst))
		}
	}
	return nil
}

// route is the partition that owns an encoded key: its key group's range.
func (j *job) route(key []byte) int {
	kg := int(state.KeyGroup(key, j.opts.MaxParallelism))
	return kg * j.parts / j.opts.MaxParallelism
}

// collWM is a collection's watermark: the least output watermark of the
// stages that produce it.
func (j *job) collWM(c *df.Collection) df.EventTime {
	wm := df.MaxTime
	for _, st := range j.pl.producers[c] {
		wm = df.MinOf(wm, j.runOf[st].outWM)
	}
	return wm
}

func (j *job) inputWM(sr *stageRun) df.EventTime {
	wm := df.MaxTime
	for _, c := range sr.st.inputs {
		wm = df.MinOf(wm, j.collWM(c))
	}
	return wm
}

// round runs every stage once. It reports whether anything happened
// (elements read, watermarks moved, processing time driven forward).
func (j *job) round(ctx context.Context) (busy bool, err error) {
	j.now = j.opts.Clock()
	if j.driven || j.final {
		j.now = j.drivenNow()
	}
	for _, sr := range j.runs {
		before := sr.outWM
		var n int
		switch sr.st.kind {
		case kindImpulse, kindRead, kindUnbounded:
			n, err = j.runSource(ctx, sr)
			if j.driven && !j.final {
				j.now = j.drivenNow() // a TestStream may have advanced it
			}
		default:
			err = j.runKeyed(ctx, sr)
		}
		if err != nil {
			return false, err
		}
		if n > 0 || sr.outWM != before {
			busy = true
		}
	}
	j.stats.rounds.Add(1)
	return busy, nil
}

// parallel runs fn(i) for i in [0, n) on up to Parallelism goroutines.
func (j *job) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	switch n {
	case 0:
		return nil
	case 1:
		return fn(ctx, 0)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(j.parts)
	for i := range n {
		g.Go(func() error { return fn(gctx, i) })
	}
	return g.Wait()
}

// runKeyed runs one round of a keyed stage or side-input ParDo: each
// partition processes the elements that reached it at the old input
// watermark, then the input watermark advances and due timers fire.
func (j *job) runKeyed(ctx context.Context, sr *stageRun) error {
	if err := j.attachState(); err != nil {
		return err
	}
	newIn := df.MaxOf(sr.inWM, j.inputWM(sr))
	holds := make([]df.EventTime, j.parts)
	err := j.parallel(ctx, j.parts, func(ctx context.Context, p int) error {
		inst := sr.insts[p]
		return inst.bundle(ctx, func() error {
			var err error
			switch sr.st.kind {
			case kindSides:
				holds[p], err = j.sidesPartition(ctx, sr, p, inst, newIn)
			default:
				holds[p], err = sr.keyed[p].round(ctx, newIn)
			}
			return err
		})
	})
	if err != nil {
		return err
	}
	if sr.exch != nil {
		sr.exch.reset()
	}
	sr.inWM = newIn
	out := newIn
	for _, h := range holds {
		out = df.MinOf(out, h)
	}
	sr.outWM = df.MaxOf(sr.outWM, out)
	return nil
}

// sidesPartition runs a ParDo with side inputs: main-input elements wait
// until, for each side input, the side input's window they map to is
// complete (its watermark has passed the window's end).
func (j *job) sidesPartition(ctx context.Context, sr *stageRun, p int, inst *instance, newIn df.EventTime) (df.EventTime, error) {
	t := sr.st.root
	spec := t.Spec.(*df.ParDoSpec)
	sideWMs := make([]df.EventTime, len(spec.Sides))
	for i, s := range spec.Sides {
		sideWMs[i] = j.collWM(s.Coll)
	}
	ready := func(_ df.EventTime, w df.Window) bool {
		for i, s := range spec.Sides {
			if sideWMs[i] == df.MaxTime {
				continue
			}
			sw, err := s.Coll.Windowing.Fn.SideInputWindow(w)
			if err != nil || sideWMs[i] <= sw.MaxTimestamp() {
				return false
			}
		}
		return true
	}
	hold := df.MaxTime
	waiting := func(ts df.EventTime, w df.Window) bool {
		if ready(ts, w) {
			return false
		}
		hold = df.MinOf(hold, ts)
		return true
	}
	typ := t.Inputs[0].Type
	f := typ.(df.Filterer)
	next := t.Inputs[0].Type.NewStore(j.parts)
	out := typ.Fanout([]any{f.Filter(inst.op(t).Input(), ready), f.Filter(next.Appender(p), waiting)})
	if err := sr.pending.Replay(ctx, p, out); err != nil {
		return 0, err
	}
	if err := sr.store.Replay(ctx, p, out); err != nil {
		return 0, err
	}
	sr.store.(df.Resetter).Reset(p)
	// Swap the waiting elements in: partition p of pending is only ever
	// touched by this partition's worker.
	pend := sr.pending.(df.Resetter)
	pend.Reset(p)
	if err := next.Replay(ctx, p, sr.pending.Appender(p)); err != nil {
		return 0, err
	}
	return hold, nil
}

// instance is one worker's (or one partition's) copy of a stage's operators.
type instance struct {
	j    *job
	sr   *stageRun
	id   int
	memo map[*df.Collection]any
	ops  runbase.Ops
	// flushes run at the end of every bundle: lifted combiners' partials.
	flushes []func() error
	// exWriters are the instance's exchange writers; unmeasured is set when
	// its output also goes to a store whose size it cannot tell (the input
	// of a stateful or side-input ParDo). roomForMore reads both.
	exWriters  []*exWriter
	unmeasured bool
}

func (j *job) newInstance(sr *stageRun) *instance {
	inst := &instance{j: j, sr: sr, id: j.nextID, memo: map[*df.Collection]any{}}
	j.nextID++
	return inst
}

func (inst *instance) build(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if te, ok := p.(*df.TransformError); ok {
				err = te
				return
			}
			panic(p)
		}
	}()
	root := inst.sr.st.root
	if _, ok := root.Spec.(*df.ParDoSpec); ok {
		inst.op(root)
	} else {
		for _, out := range root.Outputs {
			inst.consumerFor(out)
		}
	}
	return inst.ops.Setup(ctx)
}

// bundle runs work as one bundle of the instance's operators.
func (inst *instance) bundle(ctx context.Context, work func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if te, ok := p.(*df.TransformError); ok {
				err = te
				return
			}
			err = fmt.Errorf("%v: worker panicked: %v\n%s", inst.sr.st, p, debug.Stack())
		}
	}()
	if err := inst.ops.StartBundle(ctx); err != nil {
		return err
	}
	if err := work(); err != nil {
		return err
	}
	if err := inst.ops.FinishBundle(ctx); err != nil {
		return err
	}
	return inst.flush()
}

// flush sends the partials of the instance's lifted combiners to their
// exchanges.
func (inst *instance) flush() error {
	for _, f := range inst.flushes {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func (inst *instance) teardown(ctx context.Context) error { return inst.ops.Teardown(ctx) }

// op returns the instance's operator of an element-wise transform or of the
// stage's root ParDo, building it and its consumers on first use.
func (inst *instance) op(t *df.Transform) df.Op {
	if op, ok := inst.ops.Get(t); ok {
		return op
	}
	j := inst.j
	op, err := inst.ops.Build(t, j.metrics, inst.consumerFor, func(s *df.SideInputSpec) df.SideInputData { return j.sides[s] })
	if err != nil {
		panic(&df.TransformError{Transform: t.Name, Err: err})
	}
	return op
}

// consumerFor returns the Consumer[T] that feeds collection c to all of its
// consumers: fused operators, exchanges, side-input collectors and sinks.
func (inst *instance) consumerFor(c *df.Collection) any {
	if v, ok := inst.memo[c]; ok {
		return v
	}
	j := inst.j
	var outs []any
	for _, t := range j.pl.consumers[c] {
		switch spec := t.Spec.(type) {
		case *df.GroupByKeySpec:
			sr := j.runOf[j.pl.rootOf[t]]
			w := sr.exch.writer(j.route)
			inst.exWriters = append(inst.exWriters, w)
			outs = append(outs, spec.Kernel.NewEncoder(w))
		case *df.CombineSpec: // lifted
			sr := j.runOf[j.pl.rootOf[t]]
			w := sr.exch.writer(j.route)
			inst.exWriters = append(inst.exWriters, w)
			cons, flush := sr.comb.NewPartial(w)
			inst.flushes = append(inst.flushes, flush)
			outs = append(outs, cons)
		case *df.ParDoSpec:
			switch {
			case spec.Stateful != nil:
				sr := j.runOf[j.pl.rootOf[t]]
				inst.unmeasured = true
				outs = append(outs, spec.Stateful.Kernel.(df.KeyRouter).NewKeyRouter(sr.store, j.route))
			case len(spec.Sides) > 0:
				sr := j.runOf[j.pl.rootOf[t]]
				inst.unmeasured = true
				outs = append(outs, sr.store.Spreader(inst.id))
			default:
				outs = append(outs, inst.op(t).Input())
			}
		case *df.WindowIntoSpec:
			outs = append(outs, inst.op(t).Input())
		case *df.FlattenSpec, *df.ReshuffleSpec:
			outs = append(outs, inst.consumerFor(t.Outputs[0]))
		case *df.WriteSpec:
			s := j.sinks[t]
			outs = append(outs, c.Type.(df.Deferrer).Deferred(func() (any, error) { return s.writer(inst) }))
		default:
			panic(fmt.Sprintf("streaming: unexpected consumer %v", t))
		}
	}
	for _, s := range j.pl.sideUses[c] {
		outs = append(outs, j.sides[s].Input())
	}
	if log := j.sideLogs[c]; log != nil {
		if enc, err := c.Type.(df.ElemCodec).NewElemEncoder(log.add); err == nil {
			outs = append(outs, enc)
		} else {
			log.setErr(fmt.Errorf("side input %s cannot be checkpointed: %w", c.Name, err))
		}
	}
	var v any
	if len(outs) == 0 {
		v = c.Type.Discard()
	} else {
		v = c.Type.Fanout(outs)
	}
	if n := j.counts[c]; n != nil {
		v = c.Type.Counted(v, n)
	}
	inst.memo[c] = v
	return v
}

// writer returns the instance's writer of the current epoch, opening it.
func (s *sinkRun) writer(inst *instance) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w, ok := s.open[inst]; ok {
		return w.Input(), nil
	}
	shard := int(inst.j.epoch<<12 | int64(inst.id))
	w, err := s.spec.Sink.NewWriter(inst.j.ctx, shard)
	if err != nil {
		return nil, &df.TransformError{Transform: s.t.Name, Err: fmt.Errorf("open writer: %w", err)}
	}
	s.open[inst] = w
	return w.Input(), nil
}

// closeWriters closes the writers of the epoch (the sink's pre-commit) and
// returns their results.
func (s *sinkRun) closeWriters(ctx context.Context) ([]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res []any
	for inst, w := range s.open {
		r, err := w.Close(ctx)
		if err != nil {
			return nil, &df.TransformError{Transform: s.t.Name, Err: fmt.Errorf("close writer: %w", err)}
		}
		res = append(res, r)
		delete(s.open, inst)
	}
	return res, nil
}

// sideLog is the encoded elements of a side-input collection so far.
type sideLog struct {
	mu      sync.Mutex
	entries [][]byte
	err     error // why the collection cannot be logged
}

func (l *sideLog) setErr(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

func (l *sideLog) add(b []byte) {
	l.mu.Lock()
	l.entries = append(l.entries, b)
	l.mu.Unlock()
}

// restoreBuffers puts back what a checkpoint recorded of side inputs and of
// main input waiting for them.
func (j *job) restoreBuffers() error {
	if j.restore == nil {
		return nil
	}
	for c, log := range j.sideLogs {
		var entries [][]byte
		if b, ok := j.restore.operators[sideKey(c)]; ok {
			if err := json.Unmarshal(b, &entries); err != nil {
				return fmt.Errorf("streaming: checkpoint: side input %s: %w", c.Name, err)
			}
		}
		log.entries = entries
		for _, s := range j.pl.sideUses[c] {
			if err := c.Type.(df.ElemCodec).DecodeElems(entries, j.sides[s].Input()); err != nil {
				return fmt.Errorf("streaming: checkpoint: side input %s: %w", c.Name, err)
			}
		}
	}
	for _, sr := range j.runs {
		if sr.st.kind != kindSides {
			continue
		}
		b, ok := j.restore.operators[pendingKey(sr.st.root)]
		if !ok {
			continue
		}
		var parts [][][]byte
		if err := json.Unmarshal(b, &parts); err != nil {
			return fmt.Errorf("streaming: checkpoint: %s: %w", sr.st.root.Name, err)
		}
		if len(parts) != j.parts {
			return fmt.Errorf("streaming: checkpoint: %s: %d partitions, the job has %d", sr.st.root.Name, len(parts), j.parts)
		}
		typ := sr.st.root.Inputs[0].Type.(df.ElemCodec)
		for p, entries := range parts {
			if err := typ.DecodeElems(entries, sr.pending.Appender(p)); err != nil {
				return fmt.Errorf("streaming: checkpoint: %s: %w", sr.st.root.Name, err)
			}
		}
	}
	return nil
}

// saveBuffers records side inputs and waiting main input in a manifest's
// operator state. The final checkpoint of a finished job needs neither.
func (j *job) saveBuffers(ops map[string][]byte, final bool) error {
	if final {
		return nil
	}
	for c, log := range j.sideLogs {
		if log.err != nil {
			return log.err
		}
		b, err := json.Marshal(log.entries)
		if err != nil {
			return err
		}
		ops[sideKey(c)] = b
	}
	for _, sr := range j.runs {
		if sr.st.kind != kindSides {
			continue
		}
		parts := make([][][]byte, j.parts)
		for p := range parts {
			enc, err := sr.st.root.Inputs[0].Type.(df.ElemCodec).NewElemEncoder(func(b []byte) { parts[p] = append(parts[p], b) })
			if err != nil {
				return &df.TransformError{Transform: sr.st.root.Name, Err: fmt.Errorf("main input waiting for side inputs cannot be checkpointed: %w", err)}
			}
			if err := sr.pending.Replay(context.Background(), p, enc); err != nil {
				return err
			}
		}
		b, err := json.Marshal(parts)
		if err != nil {
			return err
		}
		ops[pendingKey(sr.st.root)] = b
	}
	return nil
}

func sideKey(c *df.Collection) string   { return "\x00side:" + c.Name }
func pendingKey(t *df.Transform) string { return "\x00pending:" + t.Name }
