package streaming

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"
)

// Options configure the streaming runner. The zero value runs a job in a
// temporary directory (removed when the job ends) with defaults that suit
// tests; a long-running job sets JobDir.
type Options struct {
	// JobDir holds the job's state (Pebble, one database per partition)
	// and its checkpoints. Restarting with the same JobDir resumes from the
	// latest complete checkpoint. Empty: a temporary directory, removed at
	// the end.
	JobDir string
	// CheckpointInterval is how often a checkpoint is taken; default 10s.
	// A negative interval disables periodic checkpoints (a bounded job
	// still takes its final one).
	CheckpointInterval time.Duration
	// RetainCheckpoints is how many complete checkpoints are kept; default 3.
	RetainCheckpoints int
	// Parallelism is the number of partitions keyed state is divided into
	// and of workers; default GOMAXPROCS. It is fixed for the life of a job
	// directory.
	Parallelism int
	// MaxParallelism is the number of key groups; default 128, at most
	// 32768. Fixed for the life of a job directory.
	MaxParallelism int
	// StateCacheBytes is the memory for state held in memory (caches,
	// memtables, write batches), shared by the partitions; default 256 MiB.
	StateCacheBytes int64
	// ReadBatch is the most elements read from one split of an unbounded
	// source in one round; default 16384.
	ReadBatch int
	// IdleWait is how long the runner waits before polling its sources
	// again when a round found no input; default 5ms.
	IdleWait time.Duration
	// Clock is the processing-time clock; default time.Now. A TestStream
	// drives the clock itself.
	Clock func() time.Time
	// MetricsAddr, if set, serves the job's metrics in Prometheus text
	// format at http://MetricsAddr/metrics (e.g. "127.0.0.1:9464").
	MetricsAddr string
	// FromSavepoint starts the job from a savepoint (a directory written by
	// Result.Savepoint or Result.Stop) instead of its latest checkpoint.
	FromSavepoint string
	// DisableCombinerLifting runs every Combine as GroupByKey + ParDo.
	DisableCombinerLifting bool
	// Log receives notices (checkpoint fallbacks, restores); default stderr.
	Log io.Writer
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	var errs []error
	if o.CheckpointInterval > 0 && o.CheckpointInterval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("streaming: CheckpointInterval %v is below 10ms", o.CheckpointInterval))
	}
	if o.RetainCheckpoints < 0 {
		errs = append(errs, fmt.Errorf("streaming: RetainCheckpoints %d is negative", o.RetainCheckpoints))
	}
	if o.Parallelism < 0 {
		errs = append(errs, fmt.Errorf("streaming: Parallelism %d is negative", o.Parallelism))
	}
	if o.MaxParallelism < 0 || o.MaxParallelism > 1<<15 {
		errs = append(errs, fmt.Errorf("streaming: MaxParallelism %d is outside [1, 32768]", o.MaxParallelism))
	}
	if o.Parallelism > 0 && o.MaxParallelism > 0 && o.Parallelism > o.MaxParallelism {
		errs = append(errs, fmt.Errorf("streaming: Parallelism %d exceeds MaxParallelism %d", o.Parallelism, o.MaxParallelism))
	}
	if o.StateCacheBytes < 0 || (o.StateCacheBytes > 0 && o.StateCacheBytes < 4<<20) {
		errs = append(errs, fmt.Errorf("streaming: StateCacheBytes %d is below 4 MiB", o.StateCacheBytes))
	}
	if o.ReadBatch < 0 {
		errs = append(errs, fmt.Errorf("streaming: ReadBatch %d is negative", o.ReadBatch))
	}
	if o.IdleWait < 0 {
		errs = append(errs, fmt.Errorf("streaming: IdleWait %v is negative", o.IdleWait))
	}
	if o.FromSavepoint != "" {
		if _, err := os.Stat(o.FromSavepoint); err != nil {
			errs = append(errs, fmt.Errorf("streaming: FromSavepoint: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (o Options) withDefaults() Options {
	if o.CheckpointInterval == 0 {
		o.CheckpointInterval = 10 * time.Second
	}
	if o.RetainCheckpoints == 0 {
		o.RetainCheckpoints = 3
	}
	if o.Parallelism == 0 {
		o.Parallelism = runtime.GOMAXPROCS(0)
	}
	if o.MaxParallelism == 0 {
		o.MaxParallelism = max(128, o.Parallelism)
	}
	if o.StateCacheBytes == 0 {
		o.StateCacheBytes = 256 << 20
	}
	if o.ReadBatch == 0 {
		o.ReadBatch = 16384
	}
	if o.IdleWait == 0 {
		o.IdleWait = 5 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	return o
}
