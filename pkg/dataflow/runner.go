package dataflow

import (
	"context"
	"fmt"
)

// Runner executes pipelines.
type Runner interface {
	// Run validates p and starts executing it. It returns once the run has
	// started (or failed validation); the Result is waited on for the outcome.
	Run(ctx context.Context, p *Pipeline, opts RunOptions) (Result, error)
}

// RunOptions are the runner-independent options of one run. Runner-specific
// options are given to the runner's constructor.
type RunOptions struct {
	// JobName names the run in logs and errors ("sluice" if empty).
	JobName string
}

// State is the state of a run.
type State uint8

const (
	Running State = iota
	Done
	Failed
	Cancelled
)

func (s State) String() string {
	switch s {
	case Running:
		return "RUNNING"
	case Done:
		return "DONE"
	case Failed:
		return "FAILED"
	case Cancelled:
		return "CANCELLED"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Result is a run in progress or finished.
type Result interface {
	// Wait blocks until the run ends or ctx is done, and returns the run's error.
	Wait(ctx context.Context) error
	// Cancel stops the run; Wait then returns context.Canceled.
	Cancel()
	// State returns the current state.
	State() State
	// Metrics returns the user metrics so far (final once the run has ended).
	Metrics() Metrics
}

// Execute runs p on r and waits for it to finish.
func Execute(ctx context.Context, r Runner, p *Pipeline) (Result, error) {
	res, err := r.Run(ctx, p, RunOptions{})
	if err != nil {
		return nil, err
	}
	err = res.Wait(ctx)
	if ctx.Err() != nil {
		// Return only once the run has stopped and cleaned up (sinks aborted).
		res.Cancel()
		if werr := res.Wait(context.WithoutCancel(ctx)); werr != nil {
			return res, werr
		}
	}
	return res, err
}
