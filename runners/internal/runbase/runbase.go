// Package runbase holds what every Sluice runner's run has in common: the
// Result's lifecycle (done, error, state, cancellation) and the ordering of
// stages by their dependencies.
//
// Contract: Finish is called exactly once, by the goroutine that ran the
// job, after every goroutine of the run has stopped; Wait, State and Cancel
// are safe from any goroutine.
package runbase

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Result is the part of a dataflow.Result every runner shares.
type Result struct {
	cancel    context.CancelCauseFunc
	cancelled error // the cause Cancel gives
	done      chan struct{}
	state     atomic.Uint32
	mu        sync.Mutex
	err       error
}

// NewResult returns the Result of a run whose context cancel cancels;
// Cancel cancels it with cause cancelled.
func NewResult(cancel context.CancelCauseFunc, cancelled error) *Result {
	return &Result{cancel: cancel, cancelled: cancelled, done: make(chan struct{})}
}

// Finish records the run's outcome: Done without an error, Cancelled if
// the run was cancelled, Failed otherwise.
func (r *Result) Finish(ctx context.Context, err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
	switch {
	case err == nil:
		r.state.Store(uint32(df.Done))
	case errors.Is(err, context.Canceled) || errors.Is(err, r.cancelled) || errors.Is(context.Cause(ctx), r.cancelled):
		r.state.Store(uint32(df.Cancelled))
	default:
		r.state.Store(uint32(df.Failed))
	}
	close(r.done)
}

// Wait waits for the run to end and returns its error.
func (r *Result) Wait(ctx context.Context) error {
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Done is closed when the run has ended.
func (r *Result) Done() <-chan struct{} { return r.done }

// Cancel stops the run.
func (r *Result) Cancel() { r.cancel(r.cancelled) }

// State is the run's state.
func (r *Result) State() df.State { return df.State(r.state.Load()) }

// Order returns roots and everything they depend on, each after its
// dependencies, or an error naming a stage on a cycle.
func Order[S comparable](roots []S, deps func(S) []S) ([]S, error) {
	var out []S
	done := map[S]bool{}
	visiting := map[S]bool{}
	var visit func(s S) error
	visit = func(s S) error {
		if done[s] {
			return nil
		}
		if visiting[s] {
			return fmt.Errorf("cyclic stage dependency at %v", s)
		}
		visiting[s] = true
		for _, d := range deps(s) {
			if err := visit(d); err != nil {
				return err
			}
		}
		done[s] = true
		out = append(out, s)
		return nil
	}
	for _, s := range roots {
		if err := visit(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}
