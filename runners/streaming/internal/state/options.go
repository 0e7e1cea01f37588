package state

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Options configure a Store. The zero value is valid: Validate fills in
// defaults.
type Options struct {
	// MaxParallelism is the number of key groups, fixed for the life of a
	// job: it is stored in the database, and opening it with another value
	// is an error (ErrMaxParallelism). Default 128 (Flink's); at most 1<<15.
	MaxParallelism int
	// CacheBytes is the memory budget for state held in memory: a quarter
	// is the write-back state cache (values, trigger state, pending
	// appends), half is Pebble's block cache, an eighth each Pebble's
	// memtables (at least 4 MiB; up to two at once) and the write batch,
	// which is committed early when it grows past that. (A batch that large
	// is applied by Pebble as a flushable batch, sorted once, rather than
	// inserted into the memtable: BenchmarkStateLargerThanCache puts about
	// 1.7 times faster than with a batch kept under half a memtable.)
	// While a checkpoint completes in the background nothing is committed,
	// and the batch may grow to half of CacheBytes before writes wait for
	// the checkpoint. Default 64 MiB; at least 1 MiB.
	CacheBytes int64
	// FS is the file system; default vfs.Default. Tests pass vfs.NewMem()
	// or an errorfs wrapper.
	FS vfs.FS

	// stateCacheBytes overrides the state cache's share of CacheBytes
	// (negative: no state cache) and batchBytesOverride the batch's, for
	// tests and benchmarks.
	stateCacheBytes    int64
	batchBytesOverride int
}

const (
	defaultMaxParallelism = 128
	defaultCacheBytes     = 64 << 20
)

// Validate fills in defaults and reports options that cannot work.
func (o *Options) Validate() error {
	if o.MaxParallelism == 0 {
		o.MaxParallelism = defaultMaxParallelism
	}
	if o.MaxParallelism < 1 || o.MaxParallelism > maxKeyGroups {
		return fmt.Errorf("state: MaxParallelism %d is outside [1, %d]", o.MaxParallelism, maxKeyGroups)
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = defaultCacheBytes
	}
	if o.CacheBytes < 1<<20 {
		return fmt.Errorf("state: CacheBytes %d is below 1 MiB", o.CacheBytes)
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	return nil
}

func (o *Options) stateCacheBudget() int64 {
	switch {
	case o.stateCacheBytes < 0:
		return 0
	case o.stateCacheBytes > 0:
		return o.stateCacheBytes
	}
	return o.CacheBytes / 4
}

func (o *Options) blockCacheBytes() int64 { return o.CacheBytes / 2 }
func (o *Options) batchBytes() int {
	if o.batchBytesOverride > 0 {
		return o.batchBytesOverride
	}
	return int(o.CacheBytes / 8)
}

// deferredBatchBytes is how large the batch may grow while a checkpoint is
// pending (four times batchBytes: a checkpoint's background part takes a
// few hundred milliseconds at most, and writes should rarely wait for it).
func (o *Options) deferredBatchBytes() int { return 4 * o.batchBytes() }

func (o *Options) memTableBytes() uint64 { return uint64(max(o.CacheBytes/8, 4<<20)) }

// StageOptions configure the state of one stage.
type StageOptions struct {
	// AllowedLateness is the input's allowed lateness (milliseconds): the
	// state of window w expires once the watermark passes
	// w.MaxTimestamp() + AllowedLateness, capped at EndOfGlobalWindow
	// (trigger.Reducer's GarbageCollectionTime).
	AllowedLateness dataflow.EventTime
}
