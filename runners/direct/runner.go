package direct

import (
	"context"
	"errors"
	"fmt"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/runbase"
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
	res := &result{Result: runbase.NewResult(cancel, errCancelled)}
	rn := newRun(pl, opts, &res.metrics)
	go func() {
		err := rn.execute(ctx)
		cancel(nil)
		res.summary = rn.summary
		res.Finish(ctx, err)
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
	*runbase.Result
	metrics df.MetricsRegistry
	summary Summary // set before the run is done
}

var errCancelled = errors.New("direct: run cancelled")

func (r *result) Metrics() df.Metrics { return r.metrics.Snapshot() }
