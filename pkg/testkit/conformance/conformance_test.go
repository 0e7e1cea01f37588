package conformance_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/conformance"
)

func TestCaseNames(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range conformance.Cases() {
		area, name, ok := strings.Cut(c.Name, "/")
		if !ok || area == "" || name == "" || strings.Contains(name, "/") {
			t.Errorf("case name %q is not Area/Case", c.Name)
		}
		if seen[c.Name] {
			t.Errorf("two cases are named %q", c.Name)
		}
		seen[c.Name] = true
	}
}

// noopRunner rejects invalid pipelines, as the model reports them, and
// otherwise reports success without running anything.
type noopRunner struct{}

func (noopRunner) Run(_ context.Context, p *dataflow.Pipeline, _ dataflow.RunOptions) (dataflow.Result, error) {
	if err := p.Err(); err != nil {
		return nil, err
	}
	return noopResult{}, nil
}

type noopResult struct{}

func (noopResult) Wait(context.Context) error { return nil }
func (noopResult) Cancel()                    {}
func (noopResult) State() dataflow.State      { return dataflow.Done }
func (noopResult) Metrics() dataflow.Metrics  { return dataflow.Metrics{} }

// TestNoopRunnerFails checks that the suite cannot be passed by doing
// nothing: only the cases that the model itself rejects pass.
func TestNoopRunnerFails(t *testing.T) {
	for _, c := range conformance.Cases() {
		p := dataflow.NewPipeline()
		rejected := c.Build(p.Root()).Rejected
		err := conformance.RunCase(context.Background(), noopRunner{}, c)
		switch {
		case rejected && err != nil:
			t.Errorf("%s: the model's own rejection does not pass the case: %v", c.Name, err)
		case !rejected && err == nil:
			t.Errorf("%s: passes on a runner that runs nothing", c.Name)
		}
	}
}
