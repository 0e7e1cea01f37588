package passert

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// assertionFn is implemented by the DoFn of every assertion's Check transform.
type assertionFn interface {
	passertAssertion() string
}

// checks returns the Check transforms of p's assertions.
func checks(p *dataflow.Pipeline) []*dataflow.Transform {
	var out []*dataflow.Transform
	for _, t := range p.Transforms() {
		if pd, ok := t.Spec.(*dataflow.ParDoSpec); ok {
			if _, ok := pd.Fn.(assertionFn); ok {
				out = append(out, t)
			}
		}
	}
	return out
}

// Assertions returns the full names of the assertions built into p, sorted.
func Assertions(p *dataflow.Pipeline) []string {
	var names []string
	for _, t := range checks(p) {
		names = append(names, t.Spec.(*dataflow.ParDoSpec).Fn.(assertionFn).passertAssertion())
	}
	slices.Sort(names)
	return names
}

// Verify checks, from the metrics of a finished run of p, that every
// assertion of p ran its check and that none failed. It catches a runner
// that reports success without running an assertion (one that drops
// transforms whose output nobody reads, or that does not report metrics), as
// Beam's TestPipeline does by counting PAssert successes.
func Verify(p *dataflow.Pipeline, m dataflow.Metrics) error {
	var errs []error
	for _, t := range checks(p) {
		name := t.Spec.(*dataflow.ParDoSpec).Fn.(assertionFn).passertAssertion()
		ok := m.Counters[dataflow.MetricKey{Step: t.Name, Namespace: MetricNamespace, Name: SuccessCounter}]
		bad := m.Counters[dataflow.MetricKey{Step: t.Name, Namespace: MetricNamespace, Name: FailureCounter}]
		switch {
		case bad > 0:
			errs = append(errs, fmt.Errorf("passert: assertion %q failed", name))
		case ok == 0:
			errs = append(errs, fmt.Errorf("passert: assertion %q did not run: the runner reported no %s/%s count for transform %q", name, MetricNamespace, SuccessCounter, t.Name))
		}
	}
	return errors.Join(errs...)
}

// Execute runs p on r, waits for the run to end, and then checks with Verify
// that every assertion ran. It returns the run's Result (nil if r rejected
// the pipeline) and the first error: the run's, or Verify's.
func Execute(ctx context.Context, r dataflow.Runner, p *dataflow.Pipeline) (dataflow.Result, error) {
	res, err := dataflow.Execute(ctx, r, p)
	if err != nil {
		return res, err
	}
	return res, Verify(p, res.Metrics())
}
