package beam

import (
	"fmt"
	"strings"
)

// Options configure the bridge. The zero value runs pipelines on Prism in
// process, with the workers in the calling process (Beam's LOOPBACK).
type Options struct {
	// Runner is the Beam runner: "prism" (default: Prism in this process,
	// unless Endpoint is set), "universal" (any portable job server at
	// Endpoint), or "flink", "spark", "dataflow" (their portable job servers
	// at Endpoint).
	Runner string
	// Endpoint is the job server's address (host:port). Required for every
	// runner but "prism".
	Endpoint string
	// Environment is where the runner starts workers: "LOOPBACK" (workers
	// in this process; the default for "prism" without Endpoint), "PROCESS"
	// (the runner starts EnvironmentConfig as a process on its machine),
	// "EXTERNAL" (a worker pool at EnvironmentConfig) or "DOCKER" (the
	// container image EnvironmentConfig).
	Environment string
	// EnvironmentConfig is the environment's parameter: for PROCESS the
	// command to start (see WorkerCommand), for EXTERNAL the worker pool's
	// address, for DOCKER the image.
	EnvironmentConfig string
	// Flags are extra Beam pipeline options, passed to the job as they are
	// (for example "parallelism": "4").
	Flags map[string]string
	// Verbose keeps Beam's own logging (quiet by default).
	Verbose bool
}

var runnerNames = []string{"prism", "universal", "flink", "spark", "dataflow"}

// Validate checks the options and returns them with defaults filled in.
func (o Options) withDefaults() (Options, error) {
	if o.Runner == "" {
		o.Runner = "prism"
	}
	o.Runner = strings.ToLower(o.Runner)
	known := false
	for _, n := range runnerNames {
		known = known || n == o.Runner
	}
	if !known {
		return o, fmt.Errorf("beam: unknown runner %q (runners: %s)", o.Runner, strings.Join(runnerNames, ", "))
	}
	if o.Runner != "prism" && o.Endpoint == "" {
		return o, fmt.Errorf("beam: runner %q needs Options.Endpoint, the address of its job server", o.Runner)
	}
	o.Environment = strings.ToUpper(o.Environment)
	switch o.Environment {
	case "":
		if o.Runner != "prism" || o.Endpoint != "" {
			return o, fmt.Errorf("beam: runner %q with a job server needs Options.Environment (PROCESS, EXTERNAL, DOCKER or LOOPBACK)", o.Runner)
		}
		o.Environment = "LOOPBACK"
	case "LOOPBACK":
		if o.EnvironmentConfig != "" {
			return o, fmt.Errorf("beam: environment LOOPBACK takes no EnvironmentConfig")
		}
	case "PROCESS", "EXTERNAL", "DOCKER":
		if o.EnvironmentConfig == "" {
			return o, fmt.Errorf("beam: environment %s needs Options.EnvironmentConfig (%s)", o.Environment, map[string]string{
				"PROCESS": "the worker command", "EXTERNAL": "the worker pool's address", "DOCKER": "the container image"}[o.Environment])
		}
	default:
		return o, fmt.Errorf("beam: unknown environment %q (LOOPBACK, PROCESS, EXTERNAL or DOCKER)", o.Environment)
	}
	for k := range o.Flags {
		if k == "" || strings.HasPrefix(k, "-") {
			return o, fmt.Errorf("beam: flag name %q must be non-empty and given without dashes", k)
		}
	}
	return o, nil
}
