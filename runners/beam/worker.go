package beam

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/harness"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/provision"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/grpcx"
)

// jobState is one submitted (or, on a worker, rebuilt) pipeline that the
// bridge's DoFns look their transforms up in.
type jobState struct {
	token     string
	plan      *plan
	shards    atomic.Int64 // shard numbers of sink writers in this process
	committed atomic.Int64 // sink commits run in this process

	// local is set for jobs launched by this process: their workers run
	// here (LOOPBACK), so sink results stay in memory.
	local bool

	mu        sync.Mutex
	instances []*instance // DoFn instances of this job in this process
	results   []any       // writer results of a local job
}

func (j *jobState) addInstance(inst *instance) {
	j.mu.Lock()
	j.instances = append(j.instances, inst)
	j.mu.Unlock()
}

// teardown runs the Teardown of every instance Beam did not tear down.
func (j *jobState) teardown() {
	j.mu.Lock()
	insts := j.instances
	j.instances = nil
	j.mu.Unlock()
	for _, inst := range insts {
		inst.teardown(context.Background())
	}
}

var registry struct {
	sync.Mutex
	jobs map[string]*jobState // jobs launched by this process, by token
	// worker is the pipeline rebuilt by this process in worker mode.
	worker *jobState
}

func newToken() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func registerJob(j *jobState) {
	registry.Lock()
	defer registry.Unlock()
	if registry.jobs == nil {
		registry.jobs = map[string]*jobState{}
	}
	registry.jobs[j.token] = j
}

func unregisterJob(j *jobState) {
	registry.Lock()
	defer registry.Unlock()
	delete(registry.jobs, j.token)
}

// lookupJob finds the pipeline a DoFn belongs to: the job this process
// launched (workers in process), or the pipeline this worker process rebuilt.
func lookupJob(token, print string) (*jobState, error) {
	registry.Lock()
	defer registry.Unlock()
	if j := registry.jobs[token]; j != nil {
		return j, nil
	}
	j := registry.worker
	if j == nil {
		return nil, fmt.Errorf("beam bridge: job %s is not known in this process: a worker must build the same pipeline and call Run on the Beam runner (see the runners/beam package documentation)", token)
	}
	if j.plan.fingerprint != print {
		return nil, fmt.Errorf("beam bridge: the pipeline this worker built (fingerprint %s) differs from the submitted one (%s): build the pipeline the same way in every process", j.plan.fingerprint, print)
	}
	return j, nil
}

// beamFlags are the flags that Beam's Go SDK packages define on the
// command line when they are imported. The bridge takes its settings from
// Options, so it removes them again: a program that links the bridge keeps
// its own flag names (-parallelism, -endpoint, ...).
var beamFlags = map[string]bool{
	"async": true, "beam_strict": true, "endpoint": true, "environment_config": true, "environment_type": true,
	"experiments": true, "job_name": true, "parallelism": true, "resource_hints": true, "retain_docker_containers": true,
	"sdk_harness_container_image_override": true, "worker_binary": true, "element_processing_timeout": true,
	"worker": true, "id": true, "logging_endpoint": true, "control_endpoint": true, "options": true, "semi_persist_dir": true,
}

// Worker flags. Beam's boot code starts Go workers with --worker, --id,
// --logging_endpoint, --control_endpoint and --options; Prism's PROCESS
// environment starts the command with --id and --provision_endpoint. They
// are defined (as no-ops: workerArgs reads os.Args) so that programs and
// test binaries that parse flags accept them.
func init() {
	fresh := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if !beamFlags[f.Name] {
			fresh.Var(f.Value, f.Name, f.Usage)
		}
	})
	flag.CommandLine = fresh
	for _, f := range []struct{ name, usage string }{
		{"provision_endpoint", "Beam worker: provision service endpoint"},
		{"artifact_endpoint", "Beam worker: artifact service endpoint"},
		{"worker", "Beam worker: run as a worker"},
		{"id", "Beam worker: worker id"},
		{"logging_endpoint", "Beam worker: logging endpoint"},
		{"control_endpoint", "Beam worker: control endpoint"},
		{"options", "Beam worker: JSON pipeline options"},
		{"semi_persist_dir", "Beam worker: semi-persistent directory"},
	} {
		if flag.Lookup(f.name) == nil {
			if f.name == "worker" {
				flag.Bool(f.name, false, f.usage)
			} else {
				flag.String(f.name, "", f.usage)
			}
		}
	}
}

// workerArgs reads the worker flags from the command line itself, so that
// worker mode is detected whether or not the program parsed its flags.
func workerArgs() map[string]string {
	args := map[string]string{}
	for _, a := range os.Args[1:] {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch k {
		case "worker":
			if !ok {
				v = "true"
			}
			args[k] = v
		case "id", "provision_endpoint", "logging_endpoint", "control_endpoint", "options":
			if ok {
				args[k] = strings.Trim(v, `'"`)
			}
		}
	}
	return args
}

// IsWorker reports whether this process was started by a Beam runner as a
// worker. In a worker, Run serves the pipeline and never returns.
func IsWorker() bool {
	a := workerArgs()
	return a["provision_endpoint"] != "" || a["worker"] == "true"
}

// serveWorker runs Beam's harness for the rebuilt pipeline, then exits.
func serveWorker(pl *plan) {
	registry.Lock()
	registry.worker = &jobState{plan: pl}
	registry.Unlock()
	err := runHarness(context.Background(), workerArgs())
	if err != nil {
		fmt.Fprintf(os.Stderr, "sluice beam worker: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func runHarness(ctx context.Context, args map[string]string) error {
	logging, control, options := args["logging_endpoint"], args["control_endpoint"], args["options"]
	ctx = grpcx.WriteWorkerID(ctx, args["id"])
	var hopts harness.Options
	if ep := args["provision_endpoint"]; ep != "" {
		info, err := provision.Info(ctx, ep)
		if err != nil {
			return fmt.Errorf("provision info from %s: %w", ep, err)
		}
		logging, control = info.GetLoggingEndpoint().GetUrl(), info.GetControlEndpoint().GetUrl()
		if info.GetPipelineOptions() != nil {
			if options, err = provision.ProtoToJSON(info.GetPipelineOptions()); err != nil {
				return fmt.Errorf("pipeline options: %w", err)
			}
		}
		hopts.StatusEndpoint = info.GetStatusEndpoint().GetUrl()
		hopts.RunnerCapabilities = info.GetRunnerCapabilities()
	}
	if logging == "" || control == "" {
		return fmt.Errorf("worker mode without logging and control endpoints")
	}
	if options != "" {
		var opt runtime.RawOptionsWrapper
		if err := json.Unmarshal([]byte(options), &opt); err != nil {
			return fmt.Errorf("pipeline options: %w", err)
		}
		runtime.GlobalOptions.Import(opt.Options)
	}
	return harness.MainWithOptions(ctx, logging, control, hopts)
}

// WorkerCommand writes an executable script into dir that starts this
// program's binary with args followed by the arguments the runner adds, and
// returns its path: the EnvironmentConfig of a PROCESS environment. A test
// binary passes "-test.run=^TestName$" so that the worker runs the test that
// builds the pipeline.
func WorkerCommand(dir string, args ...string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("beam: worker command: %w", err)
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexec " + shellQuote(exe))
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString(" \"$@\"\n")
	path := filepath.Join(dir, "sluice-beam-worker.sh")
	if err := os.WriteFile(path, []byte(b.String()), 0o755); err != nil {
		return "", fmt.Errorf("beam: worker command: %w", err)
	}
	return path, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
