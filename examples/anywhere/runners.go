package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/beam"
	"github.com/sluicedata/sluice/runners/direct"
	"github.com/sluicedata/sluice/runners/streaming"
)

// runners maps a -runner name to its runner; the pipeline does not change.
var runners = map[string]func() dataflow.Runner{
	"direct": func() dataflow.Runner { return direct.New(direct.Options{Progress: direct.ProgressOff}) },
	"streaming": func() dataflow.Runner {
		return streaming.New(streaming.Options{Log: io.Discard})
	},
	// Beam's Prism runner, in this process, through the Beam bridge.
	"prism": func() dataflow.Runner { return beam.New(beam.Options{Runner: "prism"}) },
}

func runnerNames() []string {
	var names []string
	for n := range runners {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func newRunner(name string) (dataflow.Runner, error) {
	if f, ok := runners[name]; ok {
		return f(), nil
	}
	return nil, fmt.Errorf("unknown runner %q (runners: %s)", name, strings.Join(runnerNames(), ", "))
}
