package main

import (
	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/beam"
)

// newPrism returns the Beam bridge on Prism, in this process. Prism decides
// its own parallelism; the -parallelism flag does not apply to it.
func newPrism() df.Runner {
	return beam.New(beam.Options{Runner: "prism"})
}
