package direct

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Options configure the direct runner. The zero value is ready to use.
type Options struct {
	// Parallelism is the number of workers (default GOMAXPROCS).
	Parallelism int
	// Partitions is the number of partitions of each exchange (default 2 x
	// Parallelism, so a skewed partition does not idle the other workers).
	Partitions int
	// MemoryBudget bounds the bytes that GroupByKey buffers hold in memory,
	// all together; past it they spill sorted runs to SpillDir (default 512 MiB).
	MemoryBudget int64
	// SpillDir is where GroupByKey spills (default os.TempDir()).
	SpillDir string
	// DisableCombinerLifting runs every Combine as GroupByKey + combine, as an
	// unlifting runner would (for tests that compare both paths).
	DisableCombinerLifting bool
	// MaxCombineEntries bounds each worker's table of partial accumulators per
	// Combine before it flushes into the exchange (default 1<<20).
	MaxCombineEntries int
}

// DefaultMemoryBudget is the default of Options.MemoryBudget.
const DefaultMemoryBudget = 512 << 20

// Validate checks the options.
func (o Options) Validate() error {
	var errs []error
	if o.Parallelism < 0 {
		errs = append(errs, fmt.Errorf("direct: Parallelism %d is negative", o.Parallelism))
	}
	if o.Partitions < 0 {
		errs = append(errs, fmt.Errorf("direct: Partitions %d is negative", o.Partitions))
	}
	if o.MemoryBudget < 0 {
		errs = append(errs, fmt.Errorf("direct: MemoryBudget %d is negative", o.MemoryBudget))
	}
	if o.MaxCombineEntries < 0 {
		errs = append(errs, fmt.Errorf("direct: MaxCombineEntries %d is negative", o.MaxCombineEntries))
	}
	if o.SpillDir != "" {
		if fi, err := os.Stat(o.SpillDir); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("direct: SpillDir %q is not a directory", o.SpillDir))
		}
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.Parallelism == 0 {
		o.Parallelism = runtime.GOMAXPROCS(0)
	}
	if o.Partitions == 0 {
		o.Partitions = 2 * o.Parallelism
	}
	if o.MemoryBudget == 0 {
		o.MemoryBudget = DefaultMemoryBudget
	}
	if o.SpillDir == "" {
		o.SpillDir = os.TempDir()
	}
	if o.MaxCombineEntries == 0 {
		o.MaxCombineEntries = 1 << 20
	}
	return o
}
