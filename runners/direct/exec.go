package direct

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/runbase"
	"github.com/sluicedata/sluice/runners/internal/shuffle"
	"github.com/sluicedata/sluice/runners/internal/trigger"
)

// run is the state of one execution of a plan.
type run struct {
	pl      *plan
	opts    Options
	metrics *df.MetricsRegistry
	budget  shuffle.Budget
	now     time.Time // processing time, frozen for the run (bounded input)

	shuffles map[*df.Transform]*shuffle.Shuffle // GroupByKey
	reducers map[*df.Transform]*trigger.Reducer
	lifted   map[*df.Transform]df.LiftedCombine // lifted Combine
	stores   map[*df.Transform]df.Store         // Reshuffle, and main inputs of ParDos with side inputs
	sides    map[*df.SideInputSpec]df.SideInputData
	sinks    map[*df.Transform]*sinkState
	track    *tracker
	summary  Summary
}

type sinkState struct {
	shards  atomic.Int64 // shard numbers handed out to writers
	mu      sync.Mutex
	results []any
}

func newRun(pl *plan, opts Options, metrics *df.MetricsRegistry) *run {
	return &run{
		pl: pl, opts: opts, metrics: metrics, now: time.Now(),
		budget:   shuffle.Budget{Limit: opts.MemoryBudget},
		shuffles: map[*df.Transform]*shuffle.Shuffle{},
		reducers: map[*df.Transform]*trigger.Reducer{},
		lifted:   map[*df.Transform]df.LiftedCombine{},
		stores:   map[*df.Transform]df.Store{},
		sides:    map[*df.SideInputSpec]df.SideInputData{},
		sinks:    map[*df.Transform]*sinkState{},
		track:    newTracker(pl),
	}
}

func (r *run) execute(ctx context.Context) (err error) {
	// Exchange state for every stage root, and side-input collectors.
	for _, st := range r.pl.stages {
		t := st.root
		switch spec := t.Spec.(type) {
		case *df.GroupByKeySpec:
			ws := t.Inputs[0].Windowing
			red, err := trigger.NewReducer(ws)
			if err != nil {
				return &df.TransformError{Transform: t.Name, Err: err}
			}
			r.reducers[t] = red
			r.shuffles[t] = shuffle.New(t.Name, r.opts.Partitions, r.opts.SpillDir, &r.budget, ws.Fn.IsMerging())
		case *df.CombineSpec:
			r.lifted[t] = spec.Kernel.NewLifted(t.Name, r.opts.Partitions, t.Inputs[0].Windowing.TimestampCombiner)
		case *df.ReshuffleSpec, *df.ParDoSpec:
			r.stores[t] = t.Inputs[0].Type.NewStore(r.opts.Partitions)
		}
	}
	for _, ts := range r.pl.consumers {
		for _, t := range ts {
			if _, ok := t.Spec.(*df.WriteSpec); ok {
				r.sinks[t] = &sinkState{}
			}
		}
	}
	for _, specs := range r.pl.sideUses {
		for _, s := range specs {
			r.sides[s] = s.NewData()
		}
	}
	rep := startReporter(r.track, r.opts)
	defer func() {
		for _, sh := range r.shuffles {
			sh.Close()
		}
		printed := rep.finish()
		var spilled int64
		for _, sh := range r.shuffles {
			spilled += sh.SpilledBytes()
		}
		r.summary = r.track.summary(r.pl, spilled)
		if r.opts.Progress != ProgressOff && (printed || !r.opts.autoProgress) {
			fmt.Fprint(r.opts.ProgressOut, r.summary.String())
		}
	}()
	for i, st := range r.pl.stages {
		r.track.stage.Store(int64(i))
		if err := r.runStage(ctx, st); err != nil {
			return errors.Join(err, r.abortSinks(context.WithoutCancel(ctx)))
		}
		if sh := r.shuffles[st.root]; sh != nil {
			sh.Close() // its output has been read: free the memory now
		}
	}
	return r.commitSinks(ctx)
}

func (r *run) commitSinks(ctx context.Context) error {
	for t, s := range r.sinks {
		if err := t.Spec.(*df.WriteSpec).Sink.Commit(ctx, s.results); err != nil {
			return errors.Join(&df.TransformError{Transform: t.Name, Err: fmt.Errorf("commit: %w", err)}, r.abortSinks(context.WithoutCancel(ctx)))
		}
	}
	return nil
}

func (r *run) abortSinks(ctx context.Context) error {
	var errs []error
	for t, s := range r.sinks {
		if err := t.Spec.(*df.WriteSpec).Sink.Abort(ctx, s.results); err != nil {
			errs = append(errs, &df.TransformError{Transform: t.Name, Err: fmt.Errorf("abort: %w", err)})
		}
	}
	return errors.Join(errs...)
}

// workItem processes one split or partition through a worker's instance.
type workItem func(ctx context.Context, inst *instance) error

func (r *run) workItems(ctx context.Context, st *stage) ([]workItem, error) {
	t := st.root
	parts := make([]workItem, r.opts.Partitions)
	switch spec := t.Spec.(type) {
	case *df.ImpulseSpec:
		return []workItem{func(ctx context.Context, inst *instance) error {
			out := inst.consumerFor(t.Outputs[0]).(df.Consumer[[]byte])
			return out.Consume([]df.Elem[[]byte]{{Value: []byte{}, Time: df.MinTime, Window: df.GlobalWindow, Pane: df.NoFiringPane}})
		}}, nil
	case *df.ReadSpec:
		splits, err := spec.Source.Split(ctx, 4*r.opts.Parallelism)
		if err != nil {
			return nil, &df.TransformError{Transform: t.Name, Err: fmt.Errorf("split source: %w", err)}
		}
		items := make([]workItem, len(splits))
		var total int64
		files := map[string]int{} // splits left per file
		for _, src := range splits {
			if f := src.SourceFile(); f != "" {
				files[f]++
			}
		}
		r.track.setFiles(len(files))
		for i, src := range splits {
			size := src.EstimatedBytes()
			total += max(size, 0)
			file := src.SourceFile()
			items[i] = func(ctx context.Context, inst *instance) error {
				if err := src.ReadAll(ctx, inst.consumerFor(t.Outputs[0])); err != nil {
					var ee *df.ElementError
					if errors.As(err, &ee) {
						return err
					}
					return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("read %v: %w", src, err)}
				}
				r.track.sourceSplits.Add(1)
				if file != "" {
					r.track.splitDone(file, files)
				}
				if size > 0 {
					r.track.bytesDone.Add(size)
					r.track.sourceBytes.Add(size)
				}
				return nil
			}
		}
		r.track.bytesTotal.Store(total)
		return items, nil
	case *df.GroupByKeySpec:
		for p := range parts {
			parts[p] = func(ctx context.Context, inst *instance) error {
				sink := spec.Kernel.NewDecoder(inst.consumerFor(t.Outputs[0]))
				if err := r.groupPartition(ctx, t, p, sink); err != nil {
					return err
				}
				return sink.Flush()
			}
		}
	case *df.CombineSpec:
		for p := range parts {
			parts[p] = func(ctx context.Context, inst *instance) error {
				return r.lifted[t].Merge(ctx, p, inst.consumerFor(t.Outputs[0]))
			}
		}
	case *df.ReshuffleSpec:
		for p := range parts {
			parts[p] = func(ctx context.Context, inst *instance) error {
				return r.stores[t].Replay(ctx, p, inst.consumerFor(t.Outputs[0]))
			}
		}
	case *df.ParDoSpec:
		for p := range parts {
			parts[p] = func(ctx context.Context, inst *instance) error {
				if spec.Stateful != nil {
					return r.statefulPartition(ctx, t, spec.Stateful, p, inst.op(t).(df.StatefulOp))
				}
				return r.stores[t].Replay(ctx, p, inst.op(t).Input())
			}
		}
	default:
		return nil, fmt.Errorf("direct: %v cannot start a stage", t)
	}
	return parts, nil
}

func (r *run) runStage(ctx context.Context, st *stage) error {
	r.track.startStage(int(r.track.stage.Load()), st, 0, 0)
	items, err := r.workItems(ctx, st)
	if err != nil {
		return err
	}
	r.track.splitsTotal.Store(int64(len(items)))
	workers := min(r.opts.Parallelism, len(items))
	g, gctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for w := range workers {
		g.Go(func() (err error) {
			inst := &instance{ctx: gctx, r: r, st: st, worker: w, memo: map[*df.Collection]any{}}
			defer func() {
				if p := recover(); p != nil {
					if te, ok := p.(*df.TransformError); ok {
						err = te
					} else {
						err = fmt.Errorf("%v: worker panicked: %v\n%s", st, p, debug.Stack())
					}
				}
				if terr := inst.teardown(context.WithoutCancel(gctx)); err == nil {
					err = terr
				}
			}()
			if err := inst.build(gctx); err != nil {
				return err
			}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) {
					break
				}
				if err := gctx.Err(); err != nil {
					return context.Cause(gctx)
				}
				if err := inst.bundle(gctx, items[i]); err != nil {
					return err
				}
				r.track.splitsDone.Add(1)
			}
			return inst.finish(gctx)
		})
	}
	if err := g.Wait(); err != nil {
		if errors.Is(err, context.Canceled) && context.Cause(ctx) != nil {
			return context.Cause(ctx)
		}
		return err
	}
	return nil
}

// instance is one worker's copy of a stage's operators.
type instance struct {
	// ctx is the stage's context, kept for operators opened lazily while
	// consumers are wired (sink writers); it is never replaced.
	ctx    context.Context
	r      *run
	st     *stage
	worker int
	memo   map[*df.Collection]any // Consumer[T] of each collection reached
	ops    runbase.Ops
	// flushes run when the worker finishes: lifted combiners' partial tables.
	flushes []func() error
	writers []writerOf
}

type writerOf struct {
	t *df.Transform
	w df.AnySinkWriter
}

func (inst *instance) build(ctx context.Context) error {
	// Build consumers for the root's outputs (and the root op for ParDo roots).
	if _, ok := inst.st.root.Spec.(*df.ParDoSpec); ok {
		inst.op(inst.st.root)
	} else {
		for _, out := range inst.st.root.Outputs {
			inst.consumerFor(out)
		}
	}
	return inst.ops.Setup(ctx)
}

func (inst *instance) bundle(ctx context.Context, item workItem) error {
	if err := inst.ops.StartBundle(ctx); err != nil {
		return err
	}
	if err := item(ctx, inst); err != nil {
		return err
	}
	return inst.ops.FinishBundle(ctx)
}

func (inst *instance) finish(ctx context.Context) error {
	for _, f := range inst.flushes {
		if err := f(); err != nil {
			return err
		}
	}
	for _, w := range inst.writers {
		res, err := w.w.Close(ctx)
		if err != nil {
			return &df.TransformError{Transform: w.t.Name, Err: fmt.Errorf("close writer: %w", err)}
		}
		s := inst.r.sinks[w.t]
		s.mu.Lock()
		s.results = append(s.results, res)
		s.mu.Unlock()
	}
	inst.writers = nil
	return nil
}

func (inst *instance) teardown(ctx context.Context) error { return inst.ops.Teardown(ctx) }

// op returns the worker's instance of an element-wise transform (or of a
// stage's root ParDo), building it and its downstream consumers on first use.
func (inst *instance) op(t *df.Transform) df.Op {
	if op, ok := inst.ops.Get(t); ok {
		return op
	}
	r := inst.r
	op, err := inst.ops.Build(t, r.metrics, inst.consumerFor, func(s *df.SideInputSpec) df.SideInputData { return r.sides[s] })
	if err != nil {
		panic(&df.TransformError{Transform: t.Name, Err: err})
	}
	return op
}

// consumerFor returns the Consumer[T] that feeds collection c to all of its
// consumers in this stage: fused operators, exchanges, side-input
// collectors and sinks.
func (inst *instance) consumerFor(c *df.Collection) any {
	if v, ok := inst.memo[c]; ok {
		return v
	}
	r := inst.r
	var outs []any
	for _, t := range r.pl.consumers[c] {
		switch spec := t.Spec.(type) {
		case *df.GroupByKeySpec:
			outs = append(outs, spec.Kernel.NewEncoder(r.shuffles[t]))
		case *df.CombineSpec: // lifted
			cons, flush := r.lifted[t].NewPartial(r.opts.MaxCombineEntries)
			inst.flushes = append(inst.flushes, flush)
			outs = append(outs, cons)
		case *df.ReshuffleSpec:
			outs = append(outs, r.stores[t].Spreader(inst.worker))
		case *df.ParDoSpec:
			if spec.Stateful != nil {
				outs = append(outs, spec.Stateful.Kernel.NewRouter(r.stores[t]))
			} else if len(spec.Sides) > 0 {
				outs = append(outs, r.stores[t].Spreader(inst.worker))
			} else {
				outs = append(outs, inst.op(t).Input())
			}
		case *df.WindowIntoSpec:
			outs = append(outs, inst.op(t).Input())
		case *df.FlattenSpec:
			outs = append(outs, inst.consumerFor(t.Outputs[0]))
		case *df.WriteSpec:
			shard := int(r.sinks[t].shards.Add(1) - 1)
			w, err := spec.Sink.NewWriter(inst.ctx, shard)
			if err != nil {
				panic(&df.TransformError{Transform: t.Name, Err: fmt.Errorf("open writer: %w", err)})
			}
			inst.writers = append(inst.writers, writerOf{t, w})
			outs = append(outs, w.Input())
		default:
			panic(fmt.Sprintf("direct: unexpected consumer %v", t))
		}
	}
	for _, s := range r.pl.sideUses[c] {
		outs = append(outs, r.sides[s].Input())
	}
	var v any
	if len(outs) == 0 {
		v = c.Type.Discard()
	} else {
		v = c.Type.Fanout(outs)
	}
	if n := r.track.counts[c]; n != nil {
		v = c.Type.Counted(v, n)
	}
	inst.memo[c] = v
	return v
}
