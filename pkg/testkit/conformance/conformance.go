package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
)

// Case is one pipeline of the suite with its expected outcome.
type Case struct {
	// Name is the case's stable name, "Area/Case" (ParDo/Map,
	// Trigger/RepeatedlyCount, ...); runners name known deviations by it.
	Name string
	// Build adds the case's transforms and passert assertions to an empty
	// pipeline through its root scope and says what the run must produce.
	Build func(s dataflow.Scope) Expect
}

// Expect is what a case's run must produce. The zero Expect means: the run
// succeeds and every passert assertion of the pipeline ran and passed.
type Expect struct {
	// Error, when not empty, means that the run must fail with an error whose
	// text contains every string of Error.
	Error []string
	// Rejected means that the runner must reject the pipeline in Run, before
	// running anything, with an error that contains every string of Error.
	Rejected bool
	// Metrics, when set, checks the metrics of the successful run.
	Metrics func(m dataflow.Metrics) error
	// After, when set, is called after the successful run (to check what
	// DoFns recorded in memory shared with the test, such as Teardown calls).
	After func() error
}

func (e Expect) fails() bool { return e.Rejected || len(e.Error) > 0 }

// Cases returns every case of the suite, in a fixed order. The slice is new
// on every call.
func Cases() []Case {
	var cs []Case
	for _, group := range [][]Case{
		parDoCases(), sideInputCases(), timestampCases(),
		groupByKeyCases(), coGroupCases(), flattenCases(), reshuffleCases(),
		combineCases(), windowCases(), timestampCombinerCases(), triggerCases(),
		failureCases(), metricsCases(), stateCases(),
	} {
		cs = append(cs, group...)
	}
	return cs
}

// RunCase builds c's pipeline, runs it on r with dataflow.Execute and checks
// the outcome against the case's Expect. It returns nil when the runner
// conforms.
func RunCase(ctx context.Context, r dataflow.Runner, c Case) error {
	p := dataflow.NewPipeline()
	exp := c.Build(p.Root())
	res, err := dataflow.Execute(ctx, r, p)
	if exp.fails() {
		switch {
		case err == nil:
			return fmt.Errorf("the run succeeded, want it to fail with an error containing %q", exp.Error)
		case exp.Rejected && res != nil:
			return fmt.Errorf("the runner ran the pipeline, want it rejected before running; run error: %w", err)
		}
		var missing []string
		for _, w := range exp.Error {
			if !strings.Contains(err.Error(), w) {
				missing = append(missing, w)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("the run failed as it should, but its error does not contain %q:\n%w", missing, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("run failed: %w", err)
	}
	var errs []error
	if err := passert.Verify(p, res.Metrics()); err != nil {
		errs = append(errs, err)
	}
	if exp.Metrics != nil {
		if err := exp.Metrics(res.Metrics()); err != nil {
			errs = append(errs, fmt.Errorf("metrics: %w", err))
		}
	}
	if exp.After != nil {
		if err := exp.After(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var streamingCase = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range StreamingCases() {
		m[c.Name] = true
	}
	return m
}()

// Option configures Run and RunCases.
type Option func(*config)

type config struct {
	timeout     time.Duration
	parallel    bool
	boundedOnly bool
	deviations  map[string]string
}

// DefaultTimeout bounds each case's run, so that a runner that hangs fails
// the case instead of the whole test binary.
const DefaultTimeout = 2 * time.Minute

// Timeout sets the time each case may take (DefaultTimeout if not set).
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// Parallel runs the cases in parallel (t.Parallel); the runner must allow
// concurrent runs.
func Parallel() Option { return func(c *config) { c.parallel = true } }

// KnownDeviation declares that the runner is known to fail case name, for
// reason. The case still runs and must fail: it is reported in the test log,
// and the test fails once the case passes, so that the declaration is
// removed. A deviation never skips a case in silence.
func KnownDeviation(name, reason string) Option {
	return func(c *config) {
		if c.deviations == nil {
			c.deviations = map[string]string{}
		}
		c.deviations[name] = reason
	}
}

// BoundedOnly declares a runner of bounded input only: the cases of
// StreamingCases must then be rejected before they run, with an error that
// says the input is unbounded.
func BoundedOnly() Option { return func(c *config) { c.boundedOnly = true } }

// Run runs every case of the suite (Cases and StreamingCases) on r, each
// as a subtest named after the case, and fails each case that does not
// conform.
func Run(t *testing.T, r dataflow.Runner, opts ...Option) {
	t.Helper()
	RunCases(t, r, append(Cases(), StreamingCases()...), opts...)
}

// RunCases runs the given cases on r, as Run does.
func RunCases(t *testing.T, r dataflow.Runner, cases []Case, opts ...Option) {
	t.Helper()
	cfg := config{timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.Name] {
			t.Errorf("two cases are named %q", c.Name)
		}
		names[c.Name] = true
	}
	var unknown []string
	for name := range cfg.deviations {
		if !names[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		t.Errorf("known deviations name cases that are not run: %q", unknown)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if cfg.parallel {
				t.Parallel()
			}
			ctx, cancel := context.WithTimeout(t.Context(), cfg.timeout)
			defer cancel()
			var err error
			if cfg.boundedOnly && streamingCase[c.Name] {
				err = RunCase(ctx, r, Case{Name: c.Name, Build: func(s dataflow.Scope) Expect {
					c.Build(s)
					return Expect{Rejected: true, Error: []string{"unbounded"}}
				}})
			} else {
				err = RunCase(ctx, r, c)
			}
			reason, deviates := cfg.deviations[c.Name]
			switch {
			case deviates && err == nil:
				t.Fatalf("the case conforms but is declared a known deviation (%s): remove the declaration", reason)
			case deviates:
				t.Logf("known deviation (%s): %v", reason, err)
			case err != nil:
				t.Fatal(err)
			}
		})
	}
}
