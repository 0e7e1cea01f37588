package direct

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Runner is the direct runner.
type Runner struct {
	opts Options
}

var _ df.Runner = (*Runner)(nil)

// New returns a direct runner with the given options.
func New(opts Options) *Runner { return &Runner{opts: opts} }

// Run validates p, starts it, and returns its Result.
func (r *Runner) Run(ctx context.Context, p *df.Pipeline, ro df.RunOptions) (df.Result, error) {
	if err := r.opts.Validate(); err != nil {
		return nil, err
	}
	opts := r.opts.withDefaults()
	if err := p.Err(); err != nil {
		return nil, fmt.Errorf("direct: invalid pipeline: %w", err)
	}
	if err := validate(p); err != nil {
		return nil, fmt.Errorf("direct: invalid pipeline: %w", err)
	}
	pl, err := buildPlan(p, opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	res := &result{cancel: cancel, done: make(chan struct{})}
	rn := newRun(pl, opts, &res.metrics)
	go func() {
		err := rn.execute(ctx)
		cancel(nil)
		res.summary = rn.summary
		res.finish(ctx, err)
	}()
	return res, nil
}

// validate rejects what the direct runner cannot run, naming the transform.
func validate(p *df.Pipeline) error {
	var errs []error
	for _, c := range p.Collections() {
		if !c.Bounded {
			errs = append(errs, fmt.Errorf("collection %s is unbounded: the direct runner reads bounded input only (use the streaming runner)", c.Name))
		}
	}
	return errors.Join(errs...)
}

type result struct {
	cancel  context.CancelCauseFunc
	done    chan struct{}
	metrics df.MetricsRegistry
	state   atomic.Uint32
	summary Summary // set before done is closed
	mu      sync.Mutex
	err     error
}

var errCancelled = errors.New("direct: run cancelled")

func (r *result) finish(ctx context.Context, err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
	switch {
	case err == nil:
		r.state.Store(uint32(df.Done))
	case errors.Is(err, context.Canceled) || errors.Is(context.Cause(ctx), errCancelled):
		r.state.Store(uint32(df.Cancelled))
	default:
		r.state.Store(uint32(df.Failed))
	}
	close(r.done)
}

func (r *result) Wait(ctx context.Context) error {
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *result) Cancel()             { r.cancel(errCancelled) }
func (r *result) State() df.State     { return df.State(r.state.Load()) }
func (r *result) Metrics() df.Metrics { return r.metrics.Snapshot() }
