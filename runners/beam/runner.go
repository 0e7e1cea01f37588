package beam

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/metricsx"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	jobpb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/jobmanagement_v1"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal/extworker"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal/runnerlib"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Runner runs Sluice pipelines on a Beam runner.
type Runner struct {
	opts Options
	err  error
}

var _ df.Runner = (*Runner)(nil)

// New returns a runner with the given options. Invalid options make every
// Run fail with the validation error.
func New(opts Options) *Runner {
	o, err := opts.withDefaults()
	return &Runner{opts: o, err: err}
}

// Run translates p to a Beam pipeline and submits it. In a process started
// by a Beam runner as a worker (see IsWorker), Run instead serves the
// pipeline to the runner and never returns.
func (r *Runner) Run(ctx context.Context, p *df.Pipeline, ro df.RunOptions) (df.Result, error) {
	if err := p.Err(); err != nil {
		return nil, err
	}
	if r.err != nil {
		return nil, r.err
	}
	pl, err := newPlan(p)
	if err != nil {
		return nil, err
	}
	if IsWorker() {
		serveWorker(pl) // never returns
	}
	job := &jobState{token: newToken(), plan: pl, local: r.opts.Environment == "LOOPBACK"}
	bp, strategies, err := translate(pl, job.token)
	if err != nil {
		return nil, err
	}
	return r.submit(ctx, bp, strategies, job, ro)
}

var quietOnce sync.Once

// submitMu serializes job submissions from this process.
var submitMu sync.Mutex

// quietLogger drops Beam's log messages below errors.
type quietLogger struct{}

func (quietLogger) Log(ctx context.Context, sev beamlog.Severity, calldepth int, msg string) {
	if sev >= beamlog.SevError {
		fmt.Fprintf(os.Stderr, "beam: %s\n", msg)
	}
}

var prismServer struct {
	once     sync.Once
	endpoint string
	err      error
}

// prismEndpoint starts Prism's job server in this process, once.
func prismEndpoint(ctx context.Context) (string, error) {
	prismServer.once.Do(func() {
		l, err := net.Listen("tcp", "localhost:0")
		if err != nil {
			prismServer.err = err
			return
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if _, err := prism.CreateJobServer(context.WithoutCancel(ctx), prism.Options{Port: port}); err != nil {
			prismServer.err = fmt.Errorf("beam: start Prism: %w", err)
			return
		}
		prismServer.endpoint = fmt.Sprintf("localhost:%d", port)
	})
	return prismServer.endpoint, prismServer.err
}

func (r *Runner) submit(ctx context.Context, bp *beam.Pipeline, strategies map[string]df.WindowingStrategy, job *jobState, ro df.RunOptions) (df.Result, error) {
	o := r.opts
	if !o.Verbose {
		quietOnce.Do(func() { beamlog.SetLogger(quietLogger{}) })
	}
	endpoint := o.Endpoint
	if endpoint == "" {
		ep, err := prismEndpoint(ctx)
		if err != nil {
			return nil, err
		}
		endpoint = ep
	}
	edges, _, err := bp.Build()
	if err != nil {
		return nil, fmt.Errorf("beam: build pipeline: %w", err)
	}
	var loop *extworker.Loopback
	urn, cfg := graphx.URNEnvDocker, o.EnvironmentConfig
	switch o.Environment {
	case "LOOPBACK":
		loop, err = extworker.StartLoopback(context.WithoutCancel(ctx), 0)
		if err != nil {
			return nil, fmt.Errorf("beam: start loopback worker pool: %w", err)
		}
		urn, cfg = graphx.URNEnvExternal, loop.EnvironmentConfig(ctx)
	case "EXTERNAL":
		urn = graphx.URNEnvExternal
	case "PROCESS":
		urn = graphx.URNEnvProcess
		if !strings.HasPrefix(strings.TrimSpace(cfg), "{") {
			cfg = fmt.Sprintf(`{"command": %q}`, cfg)
		}
	}
	stopLoop := func() {
		if loop != nil {
			loop.Stop(context.Background())
		}
	}
	env, err := graphx.CreateEnvironment(ctx, urn, func(context.Context) string { return cfg })
	if err != nil {
		stopLoop()
		return nil, fmt.Errorf("beam: environment: %w", err)
	}
	pipe, err := graphx.Marshal(edges, &graphx.Options{Environment: env})
	if err != nil {
		stopLoop()
		return nil, fmt.Errorf("beam: marshal pipeline: %w", err)
	}
	if err := patchStrategies(pipe, strategies); err != nil {
		stopLoop()
		return nil, err
	}
	// The worker binary: in LOOPBACK nothing runs it, so an empty file
	// does; otherwise this program's own binary (Beam's Go boot runs it).
	bin := ""
	if o.Environment == "LOOPBACK" || o.Environment == "PROCESS" {
		f, err := os.CreateTemp("", "sluice-beam-worker-*")
		if err != nil {
			stopLoop()
			return nil, err
		}
		f.Close()
		bin = f.Name()
		defer os.Remove(bin)
	} else if bin, err = os.Executable(); err != nil {
		stopLoop()
		return nil, err
	}
	if err := runnerlib.UpdateGoEnvironmentWorker(bin, pipe); err != nil {
		stopLoop()
		return nil, fmt.Errorf("beam: worker binary: %w", err)
	}
	for k, v := range o.Flags {
		if flag.Lookup(k) != nil {
			flag.Set(k, v)
		} else {
			beam.PipelineOptions.Set(k, v)
		}
	}
	cc, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		stopLoop()
		return nil, fmt.Errorf("beam: connect to job server %s: %w", endpoint, err)
	}
	client := jobpb.NewJobServiceClient(cc)
	name := ro.JobName
	if name == "" {
		name = "sluice"
	}
	fail := func(err error) (df.Result, error) {
		cc.Close()
		stopLoop()
		return nil, err
	}
	// Submissions from this process go one at a time: Prism v2.77.0's
	// artifact staging races when two jobs stage at once (a data race in
	// jobservices.Server.ReverseArtifactRetrievalService, seen with -race).
	submitMu.Lock()
	prepID, artifacts, token, err := runnerlib.Prepare(ctx, client, pipe, &runnerlib.JobOptions{Name: name, Loopback: loop != nil})
	if err != nil {
		submitMu.Unlock()
		return fail(fmt.Errorf("beam: prepare job on %s: %w", endpoint, err))
	}
	retrieval, err := runnerlib.Stage(ctx, prepID, artifacts, bin, token)
	if err != nil {
		submitMu.Unlock()
		return fail(fmt.Errorf("beam: stage artifacts: %w", err))
	}
	registerJob(job)
	jobID, err := runnerlib.Submit(ctx, client, prepID, retrieval)
	submitMu.Unlock()
	if err != nil {
		unregisterJob(job)
		return fail(fmt.Errorf("beam: submit job: %w", err))
	}
	res := &result{client: client, jobID: jobID, pipe: pipe, done: make(chan struct{})}
	go func() {
		err := res.wait(job)
		if err != nil && !job.sinksCommitted() {
			abortSinks(job)
		}
		stopLoop()
		job.teardown()
		unregisterJob(job)
		cc.Close()
		res.finish(err)
	}()
	return res, nil
}

// sinksCommitted reports whether the commit step ran in this process.
func (j *jobState) sinksCommitted() bool { return j.committed.Load() > 0 }

// abortSinks asks every sink of a failed job to remove what it wrote (the
// launcher does not know the writers' results; sinks clean up what they can).
func abortSinks(j *jobState) {
	for _, t := range j.plan.order {
		if w, ok := t.Spec.(*df.WriteSpec); ok {
			w.Sink.Abort(context.Background(), nil)
		}
	}
}

// result is a submitted job.
type result struct {
	client jobpb.JobServiceClient
	jobID  string
	pipe   *pipepb.Pipeline
	done   chan struct{}

	mu struct {
		sync.Mutex
		state     df.State
		err       error
		metrics   df.Metrics
		cancelled bool
	}
}

// wait follows the job until it ends and fetches its metrics.
func (r *result) wait(job *jobState) error {
	ctx := context.Background()
	err := waitJob(ctx, r.client, r.jobID)
	if m, merr := r.fetchMetrics(ctx); merr == nil {
		r.mu.Lock()
		r.mu.metrics = m
		r.mu.Unlock()
	} else if err == nil {
		err = merr
	}
	return err
}

// waitJob polls the job's state until it is terminal; a failed job's error
// carries the runner's error messages.
func waitJob(ctx context.Context, client jobpb.JobServiceClient, jobID string) error {
	stream, err := client.GetMessageStream(ctx, &jobpb.JobMessagesRequest{JobId: jobID})
	if err != nil {
		return fmt.Errorf("beam: follow job %s: %w", jobID, err)
	}
	var msgs []string
	failed := false
	for {
		resp, err := stream.Recv()
		if err != nil {
			if failed {
				return stateErr(jobpb.JobState_FAILED, msgs)
			}
			// The stream ends with the job; ask for the final state.
			st, serr := client.GetState(ctx, &jobpb.GetJobStateRequest{JobId: jobID})
			if serr != nil {
				return fmt.Errorf("beam: job %s: %w", jobID, errors.Join(err, serr))
			}
			return stateErr(st.GetState(), msgs)
		}
		if m := resp.GetMessageResponse(); m != nil && m.GetImportance() >= jobpb.JobMessage_JOB_MESSAGE_ERROR {
			msgs = append(msgs, m.GetMessageText())
			if failed {
				return stateErr(jobpb.JobState_FAILED, msgs)
			}
		}
		if sc := resp.GetStateResponse(); sc != nil {
			switch st := sc.GetState(); st {
			case jobpb.JobState_FAILED:
				// The runner's error message follows the state change.
				if len(msgs) > 0 {
					return stateErr(st, msgs)
				}
				failed = true
			case jobpb.JobState_DONE, jobpb.JobState_CANCELLED, jobpb.JobState_DRAINED, jobpb.JobState_UPDATED:
				return stateErr(st, msgs)
			}
		}
	}
}

func stateErr(st jobpb.JobState_Enum, msgs []string) error {
	switch st {
	case jobpb.JobState_DONE, jobpb.JobState_DRAINED, jobpb.JobState_UPDATED:
		return nil
	case jobpb.JobState_CANCELLED:
		return context.Canceled
	}
	if len(msgs) == 0 {
		return fmt.Errorf("beam: job ended in state %v", st)
	}
	return fmt.Errorf("beam: job ended in state %v: %s", st, strings.Join(msgs, "\n"))
}

func (r *result) fetchMetrics(ctx context.Context) (df.Metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := r.client.GetJobMetrics(ctx, &jobpb.GetJobMetricsRequest{JobId: r.jobID})
	if err != nil {
		return df.Metrics{}, fmt.Errorf("beam: job metrics: %w", err)
	}
	ms := resp.GetMetrics()
	return fromBeamMetrics(metricsx.FromMonitoringInfos(r.pipe, ms.GetAttempted(), ms.GetCommitted())), nil
}

func (r *result) finish(err error) {
	r.mu.Lock()
	switch {
	case r.mu.cancelled:
		r.mu.state, err = df.Cancelled, context.Canceled
	case err == nil:
		r.mu.state = df.Done
	case errors.Is(err, context.Canceled):
		r.mu.state = df.Cancelled
	default:
		r.mu.state = df.Failed
	}
	r.mu.err = err
	r.mu.Unlock()
	close(r.done)
}

func (r *result) Wait(ctx context.Context) error {
	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.mu.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *result) Cancel() {
	r.mu.Lock()
	r.mu.cancelled = true
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.client.Cancel(ctx, &jobpb.CancelJobRequest{JobId: r.jobID})
}

func (r *result) State() df.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.state
}

func (r *result) Metrics() df.Metrics {
	select {
	case <-r.done:
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.mu.metrics
	default:
	}
	m, err := r.fetchMetrics(context.Background())
	if err != nil {
		return df.Metrics{}
	}
	return m
}
