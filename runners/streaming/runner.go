package streaming

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/runbase"
	"github.com/sluicedata/sluice/runners/streaming/internal/state"
)

// Runner is the streaming runner.
type Runner struct {
	opts Options
}

var _ df.Runner = (*Runner)(nil)

// New returns a streaming runner with the given options.
func New(opts Options) *Runner { return &Runner{opts: opts} }

// Run validates p, starts it and returns its Result (a *Result).
func (r *Runner) Run(ctx context.Context, p *df.Pipeline, ro df.RunOptions) (df.Result, error) {
	if err := r.opts.Validate(); err != nil {
		return nil, err
	}
	opts := r.opts.withDefaults()
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("streaming: invalid pipeline: %w", err)
	}
	pl, err := buildPlan(p, opts)
	if err != nil {
		return nil, fmt.Errorf("streaming: %w", err)
	}
	temp := opts.JobDir == ""
	if temp {
		dir, err := os.MkdirTemp("", "sluice-job-")
		if err != nil {
			return nil, fmt.Errorf("streaming: %w", err)
		}
		opts.JobDir = dir
	}
	ctx, cancel := context.WithCancelCause(ctx)
	res := &Result{Result: runbase.NewResult(cancel, errCancelled), requests: make(chan request)}
	go func() {
		err := execute(ctx, p, pl, opts, res)
		cancel(nil)
		if temp {
			os.RemoveAll(opts.JobDir)
		}
		if errors.Is(err, errStopped) {
			err = nil // a graceful stop
		}
		res.Finish(ctx, err)
	}()
	return res, nil
}

// execute runs a job to its end: restore, rounds, checkpoints, teardown.
func execute(ctx context.Context, p *df.Pipeline, pl *plan, opts Options, res *Result) (err error) {
	rest, err := restoreJob(p, pl, opts)
	if err != nil {
		return err
	}
	if rest != nil && rest.rt.Finished {
		// The job has finished: all that may be left to do is the sinks'
		// commit of its final checkpoint, which a crash may have cut short.
		j, err := newJob(ctx, pl, opts, &res.metrics, nil)
		if err != nil {
			return err
		}
		res.job.Store(j)
		j.pipeline, j.restore, j.rt = p, rest, rest.rt
		return j.recoverSinks(ctx)
	}
	// The state stores open in the background (creating a Pebble database
	// writes and syncs a few files) while the operators are built and the
	// first source round reads; the first keyed stage to run, or the first
	// checkpoint, waits for them (job.attachState).
	var stores *openingStores
	if pl.hasState() {
		stores = openStores(opts)
		defer func() { err = errors.Join(err, stores.close()) }()
	}
	j, err := newJob(ctx, pl, opts, &res.metrics, stores)
	if err != nil {
		return err
	}
	res.job.Store(j)
	j.pipeline = p
	j.restore = rest
	if rest != nil {
		j.rt = rest.rt
		j.epoch = rest.rt.Epoch + 1
	}
	if err := j.setup(ctx); err != nil {
		return err
	}
	defer func() {
		for _, sr := range j.runs {
			for _, inst := range sr.insts {
				err = errors.Join(err, inst.teardown(context.WithoutCancel(ctx)))
			}
			if sr.src != nil {
				err = errors.Join(err, sr.src.close())
			}
		}
	}()
	if err := j.restoreBuffers(); err != nil {
		return err
	}
	if err := j.recoverSinks(ctx); err != nil {
		return err
	}
	stopMetrics, err := j.serveMetrics(ctx, res)
	if err != nil {
		return err
	}
	defer stopMetrics()
	err = j.loop(ctx, res)
	if err != nil {
		return errors.Join(err, j.abortSinks(context.WithoutCancel(ctx)))
	}
	return nil
}

// openingStores is the state database of every partition, being opened.
type openingStores struct {
	done   chan struct{}
	stores []*state.Store // once done
	err    error          // once done
}

// openStores starts opening the state database of every partition, in
// parallel.
func openStores(opts Options) *openingStores {
	o := &openingStores{done: make(chan struct{}), stores: make([]*state.Store, opts.Parallelism)}
	per := max(opts.StateCacheBytes/int64(opts.Parallelism), 1<<20)
	errs := make([]error, opts.Parallelism)
	var wg sync.WaitGroup
	for i := range o.stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := state.Open(partitionDir(opts.JobDir, i), state.Options{MaxParallelism: opts.MaxParallelism, CacheBytes: per})
			if err != nil {
				errs[i] = fmt.Errorf("streaming: open state of partition %d: %w", i, err)
				return
			}
			o.stores[i] = s
		}()
	}
	go func() {
		wg.Wait()
		o.err = errors.Join(errs...)
		close(o.done)
	}()
	return o
}

// wait returns the stores once every one is open.
func (o *openingStores) wait() ([]*state.Store, error) {
	<-o.done
	if o.err != nil {
		return nil, o.err
	}
	return o.stores, nil
}

// close closes the stores that opened.
func (o *openingStores) close() error {
	<-o.done
	var err error
	for _, s := range o.stores {
		if s != nil {
			err = errors.Join(err, s.Close())
		}
	}
	return err
}

func partitionDir(jobDir string, p int) string {
	return filepath.Join(jobDir, "state", fmt.Sprintf("p%04d", p))
}

// loop runs rounds until the job ends, is cancelled or stopped, taking
// checkpoints as they fall due and savepoints on request.
func (j *job) loop(ctx context.Context, res *Result) error {
	lastCheckpoint, lastStatus := time.Now(), time.Time{}
	defer func() { res.status.Store(j.snapshot()) }()
	finalRounds := 0
	for {
		if err := ctx.Err(); err != nil {
			return context.Cause(ctx)
		}
		busy, err := j.round(ctx)
		if err != nil {
			return err
		}
		if err := j.finishCheckpoint(ctx, false); err != nil {
			return err
		}
		if time.Since(lastStatus) >= 100*time.Millisecond {
			res.status.Store(j.snapshot())
			lastStatus = time.Now()
		}
		if j.sourcesEnded() {
			if !j.final {
				j.final = true // one more round with processing time at its end
				continue
			}
			if j.allAtEnd() || finalRounds > 1000 {
				if finalRounds > 1000 {
					return fmt.Errorf("streaming: timers keep firing after the end of the input")
				}
				j.rt.Finished = true
				if _, err := j.checkpoint(ctx, checkpointFinal); err != nil {
					return err
				}
				return j.commitFinal(ctx)
			}
			finalRounds++
			continue
		}
		// As Flink with one concurrent checkpoint: a checkpoint that falls
		// due while the previous one is still being written waits for it
		// to complete, without blocking processing.
		if j.opts.CheckpointInterval > 0 && time.Since(lastCheckpoint) >= j.opts.CheckpointInterval && j.inflight == nil {
			if _, err := j.checkpoint(ctx, checkpointPeriodic); err != nil {
				return err
			}
			lastCheckpoint = time.Now()
		}
		select {
		case req := <-res.requests:
			path, err := j.checkpoint(ctx, checkpointSavepoint)
			req.reply <- reply{path: path, err: err}
			if err == nil && req.stop {
				return errStopped
			}
			continue
		default:
		}
		if !busy && !j.driven {
			select {
			case <-ctx.Done():
			case <-time.After(j.opts.IdleWait):
			case req := <-res.requests:
				path, err := j.checkpoint(ctx, checkpointSavepoint)
				req.reply <- reply{path: path, err: err}
				if err == nil && req.stop {
					return errStopped
				}
			}
		}
	}
}

var errStopped = errors.New("streaming: job stopped with a savepoint")

func (j *job) sourcesEnded() bool {
	for _, sr := range j.runs {
		if sr.src != nil && sr.outWM != df.MaxTime {
			return false
		}
	}
	return true
}

func (j *job) allAtEnd() bool {
	for _, sr := range j.runs {
		if sr.outWM != df.MaxTime {
			return false
		}
	}
	return true
}

// Result is a running streaming job. Cancel stops it without a checkpoint
// (a restart resumes from the latest complete one); Stop takes a savepoint
// first.
type Result struct {
	*runbase.Result
	requests chan request
	metrics  df.MetricsRegistry
	job      atomic.Pointer[job]
	status   atomic.Pointer[Status]
	// metricsAddr is the address metrics are served at, once they are.
	metricsAddr atomic.Pointer[string]
}

type request struct {
	stop  bool
	reply chan reply
}

type reply struct {
	path string
	err  error
}

var _ df.Result = (*Result)(nil)

var errCancelled = errors.New("streaming: job cancelled")

// Metrics returns the user metrics so far.
func (r *Result) Metrics() df.Metrics { return r.metrics.Snapshot() }

// Status returns the latest snapshot of the job's progress (nil before
// the first round).
func (r *Result) Status() *Status { return r.status.Load() }

// MetricsAddr returns the address the job serves Prometheus metrics at
// (http://addr/metrics), or "" if it does not.
func (r *Result) MetricsAddr() string {
	if a := r.metricsAddr.Load(); a != nil {
		return *a
	}
	return ""
}

// Savepoint takes a savepoint at the next round boundary and returns its
// directory; the job goes on. Options.FromSavepoint starts a job from it.
func (r *Result) Savepoint(ctx context.Context) (string, error) { return r.request(ctx, false) }

// Stop takes a savepoint and stops the job gracefully (Wait returns nil).
func (r *Result) Stop(ctx context.Context) (string, error) { return r.request(ctx, true) }

func (r *Result) request(ctx context.Context, stop bool) (string, error) {
	req := request{stop: stop, reply: make(chan reply, 1)}
	select {
	case r.requests <- req:
	case <-r.Done():
		return "", fmt.Errorf("streaming: the job has ended")
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case rep := <-req.reply:
		return rep.path, rep.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
