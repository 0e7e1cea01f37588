package direct

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
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

	autoProgress bool // Progress was ProgressAuto: print the summary only if progress was shown

	// Progress says how the run reports progress (default ProgressAuto: a bar
	// on a terminal, plain lines otherwise, once the run lasts an interval).
	Progress ProgressMode
	// ProgressOut receives progress and the final summary (default os.Stderr).
	ProgressOut io.Writer
	// ProgressInterval is the time between reports (default 500ms for the
	// bar, 5s for plain lines).
	ProgressInterval time.Duration
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
	if o.ProgressInterval < 0 {
		errs = append(errs, fmt.Errorf("direct: ProgressInterval %v is negative", o.ProgressInterval))
	}
	if o.Progress > ProgressBar {
		errs = append(errs, fmt.Errorf("direct: unknown Progress mode %d", o.Progress))
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
	if o.ProgressOut == nil {
		o.ProgressOut = os.Stderr
	}
	if o.Progress == ProgressAuto {
		o.Progress = ProgressPlain
		if isTerminal(o.ProgressOut) {
			o.Progress = ProgressBar
		}
		o.autoProgress = true
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = 5 * time.Second
		if o.Progress == ProgressBar {
			o.ProgressInterval = 500 * time.Millisecond
		}
	}
	return o
}
