package streaming

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/streaming/internal/checkpoint"
	"github.com/sluicedata/sluice/runners/streaming/internal/state"
)

type checkpointKind uint8

const (
	checkpointPeriodic checkpointKind = iota
	checkpointSavepoint
	checkpointFinal
)

// runtimeKey is the Operators entry of a manifest that holds runtimeState.
const runtimeKey = "\x00runtime"

// restored is what a job resumes from.
type restored struct {
	id        int64
	path      string
	rt        runtimeState
	sources   map[string][][]byte
	sinks     map[string][][]byte
	operators map[string][]byte
}

// fingerprint identifies the pipeline a checkpoint belongs to.
func fingerprint(p *df.Pipeline) string {
	m := map[string]string{}
	for _, t := range p.Transforms() {
		m[t.Name] = t.Spec.Kind()
	}
	return checkpoint.Fingerprint(m)
}

// restoreJob puts the state of the latest complete checkpoint (or of the
// savepoint the options name) in place in the job directory and returns
// what the job resumes from; nil when there is none (a fresh start).
func restoreJob(p *df.Pipeline, pl *plan, opts Options) (*restored, error) {
	dir, err := checkpoint.Open(opts.JobDir, checkpoint.Options{Keep: opts.RetainCheckpoints})
	if err != nil {
		return nil, fmt.Errorf("streaming: %w", err)
	}
	var (
		m    checkpoint.Manifest
		path string
	)
	if opts.FromSavepoint != "" {
		m, path, err = dir.ReadSavepoint(opts.FromSavepoint)
		if err != nil {
			return nil, fmt.Errorf("streaming: savepoint: %w", err)
		}
		fmt.Fprintf(opts.Log, "streaming: starting from savepoint %s (taken %s)\n", path, m.Created.Format(time.RFC3339))
	} else {
		var warnings []error
		m, path, warnings, err = dir.Latest()
		for _, w := range warnings {
			fmt.Fprintf(opts.Log, "streaming: skipping a checkpoint, falling back to an earlier one: %v\n", w)
		}
		if errors.Is(err, checkpoint.ErrNoCheckpoint) {
			if len(warnings) > 0 {
				return nil, fmt.Errorf("streaming: no usable checkpoint in %s: %w", opts.JobDir, errors.Join(warnings...))
			}
			// A fresh start: state left by a run that never checkpointed
			// is not a consistent cut.
			if err := os.RemoveAll(filepath.Join(opts.JobDir, "state")); err != nil {
				return nil, fmt.Errorf("streaming: %w", err)
			}
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("streaming: %w", err)
		}
		if len(warnings) > 0 {
			fmt.Fprintf(opts.Log, "streaming: restoring checkpoint %d (%s)\n", m.ID, path)
		}
	}
	if err := m.CheckPipeline(fingerprint(p)); err != nil {
		return nil, fmt.Errorf("streaming: %w", err)
	}
	r := &restored{id: m.ID, path: path, sources: m.Sources, sinks: m.Sinks, operators: m.Operators}
	if err := json.Unmarshal(m.Operators[runtimeKey], &r.rt); err != nil {
		return nil, fmt.Errorf("streaming: checkpoint %s: runtime state: %w", path, err)
	}
	if r.rt.Parallelism != opts.Parallelism || r.rt.MaxParallelism != opts.MaxParallelism {
		return nil, fmt.Errorf("streaming: checkpoint %s was taken with Parallelism %d and MaxParallelism %d; the job runs with %d and %d (rescaling is not supported yet)",
			path, r.rt.Parallelism, r.rt.MaxParallelism, opts.Parallelism, opts.MaxParallelism)
	}
	if m.NoState && !r.rt.Finished && pl.hasState() {
		return nil, fmt.Errorf("streaming: checkpoint %s holds no state, and the job has keyed state and has not finished", path)
	}
	if err := os.RemoveAll(filepath.Join(opts.JobDir, "state")); err != nil {
		return nil, fmt.Errorf("streaming: %w", err)
	}
	if !m.NoState && pl.hasState() && !r.rt.Finished { // a finished job reads no state
		per := max(opts.StateCacheBytes/int64(opts.Parallelism), 1<<20)
		for i := range opts.Parallelism {
			src := filepath.Join(path, m.StateDir, filepath.Base(partitionDir("", i)))
			if err := state.Restore(src, partitionDir(opts.JobDir, i), state.Options{MaxParallelism: opts.MaxParallelism, CacheBytes: per}); err != nil {
				return nil, fmt.Errorf("streaming: restore checkpoint %s: %w", path, err)
			}
		}
	}
	if r.rt.Watermarks == nil {
		r.rt.Watermarks = map[string][2]int64{}
	}
	if r.rt.Impulses == nil {
		r.rt.Impulses = map[string]bool{}
	}
	if r.rt.Bounded == nil {
		r.rt.Bounded = map[string][]bool{}
	}
	return r, nil
}

// recoverSinks finishes the commit of the checkpoint the job resumed from
// (a crash may have come between its manifest and its commit) and removes
// what writers of the crashed run staged beyond it.
func (j *job) recoverSinks(ctx context.Context) error {
	for t, s := range j.sinks {
		if s.epoch == nil {
			continue
		}
		var keep []any
		if j.restore != nil {
			for _, b := range j.restore.sinks[t.Name] {
				r, err := s.epoch.DecodeResult(b)
				if err != nil {
					return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("decode a pre-commit result of checkpoint %d: %w", j.restore.id, err)}
				}
				keep = append(keep, r)
			}
		}
		if rb, ok := s.epoch.(df.EpochRollback); ok && j.restore != nil {
			// Output that checkpoints after the restored one committed
			// (before a fallback, or after a savepoint) is produced again.
			if err := rb.RemoveCommittedFrom(ctx, int((j.restore.rt.Epoch+1)<<12)); err != nil {
				return &df.TransformError{Transform: t.Name, Err: err}
			}
		}
		if len(keep) > 0 {
			if err := s.epoch.CommitEpoch(ctx, keep); err != nil {
				return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("commit checkpoint %d: %w", j.restore.id, err)}
			}
		}
		if err := s.epoch.DiscardUncommitted(ctx, keep); err != nil {
			return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("discard uncommitted output: %w", err)}
		}
	}
	return nil
}

// inflight is a checkpoint whose state snapshot is still being written in
// the background: it completes (manifest, then sink commits) once every
// partition's snapshot is done.
type inflight struct {
	dir     *checkpoint.Dir
	path    string
	m       checkpoint.Manifest
	results map[*sinkRun][]any
	pending []*state.PendingCheckpoint
	start   time.Time
}

// checkpoint takes a consistent snapshot at a round boundary, where
// nothing is in flight: sinks pre-commit (their writers close), every
// partition's state snapshot starts, and source positions and the runtime
// state are recorded. Processing then goes on while the snapshots are
// written; finishCheckpoint completes the checkpoint with its manifest,
// written last and atomically, and then commits the sinks. A savepoint or
// the final checkpoint is completed before checkpoint returns. It returns
// the checkpoint's path.
func (j *job) checkpoint(ctx context.Context, kind checkpointKind) (string, error) {
	start := time.Now()
	// One checkpoint at a time: the previous one completes first.
	if err := j.finishCheckpoint(ctx, true); err != nil {
		return "", err
	}
	if err := j.attachState(); err != nil {
		return "", err
	}
	if j.ckDir == nil {
		dir, err := checkpoint.Open(j.opts.JobDir, checkpoint.Options{Keep: j.opts.RetainCheckpoints})
		if err != nil {
			return "", err
		}
		if j.nextCheckpoint, err = dir.NextID(); err != nil {
			return "", err
		}
		j.ckDir = dir
	}
	dir := j.ckDir
	var err error
	m := checkpoint.Manifest{
		Pipeline: fingerprint(j.pipeline), StateDir: "state",
		Sources: map[string][][]byte{}, Sinks: map[string][][]byte{}, Operators: map[string][]byte{},
		Watermark: int64(df.MaxTime),
	}
	// A job without keyed state has no state to record; nor has the final
	// checkpoint of a finished job, whose restart reads none (execute).
	stores := j.stores
	if len(stores) == 0 || kind == checkpointFinal {
		stores = nil
		m.NoState, m.StateDir = true, ""
	}
	var path string
	switch kind {
	case checkpointSavepoint:
		m.Savepoint = true
		path, err = dir.NewSavepoint(fmt.Sprintf("savepoint-%s", time.Now().UTC().Format("20060102T150405.000")))
	default:
		m.ID = j.nextCheckpoint
		j.nextCheckpoint++
		path, err = dir.NewCheckpoint(m.ID)
	}
	if err != nil {
		return "", fmt.Errorf("streaming: checkpoint: %w", err)
	}
	// Sinks pre-commit.
	results := map[*sinkRun][]any{}
	for _, s := range j.sinks {
		res, err := s.closeWriters(ctx)
		if err != nil {
			return "", err
		}
		results[s] = res
		if s.epoch == nil {
			continue
		}
		// Only this epoch's results: earlier epochs are committed, and a
		// restore discards staged output that no result names.
		for _, r := range res {
			b, err := s.epoch.EncodeResult(r)
			if err != nil {
				return "", &df.TransformError{Transform: s.t.Name, Err: fmt.Errorf("encode a pre-commit result: %w", err)}
			}
			m.Sinks[s.t.Name] = append(m.Sinks[s.t.Name], b)
		}
	}
	// State: the synchronous part of each snapshot.
	// The partitions' cuts are independent: take them in parallel.
	pending := make([]*state.PendingCheckpoint, len(stores))
	err = j.parallel(ctx, len(stores), func(_ context.Context, i int) error {
		p, err := stores[i].BeginCheckpoint(filepath.Join(path, "state", filepath.Base(partitionDir("", i))))
		if err != nil {
			return fmt.Errorf("streaming: checkpoint partition %d: %w", i, err)
		}
		pending[i] = p
		return nil
	})
	if err != nil {
		for _, p := range pending {
			if p != nil {
				p.Wait()
			}
		}
		return "", err
	}
	// Sources and runtime state.
	for _, sr := range j.runs {
		if sr.src != nil && sr.src.readers != nil {
			pos, err := sr.src.positions()
			if err != nil {
				return "", &df.TransformError{Transform: sr.st.root.Name, Err: err}
			}
			m.Sources[sr.st.root.Name] = pos
		}
		j.rt.Watermarks[sr.st.root.Name] = [2]int64{int64(sr.inWM), int64(sr.outWM)}
		m.Watermark = min(m.Watermark, int64(sr.outWM))
	}
	j.rt.Epoch = j.epoch
	j.rt.Parallelism, j.rt.MaxParallelism = j.parts, j.opts.MaxParallelism
	rt, err := json.Marshal(j.rt)
	if err != nil {
		return "", err
	}
	m.Operators[runtimeKey] = rt
	if err := j.saveBuffers(m.Operators, kind == checkpointFinal); err != nil {
		return "", err
	}
	j.epoch++
	j.inflight = &inflight{dir: dir, path: path, m: m, results: results, pending: pending, start: start}
	j.stats.observePause(time.Since(start))
	if kind != checkpointPeriodic {
		if err := j.finishCheckpoint(ctx, true); err != nil {
			return "", err
		}
	}
	return path, nil
}

// finishCheckpoint completes the checkpoint in flight, if any, once its
// state snapshots are written (waiting for them if wait is set): the
// manifest makes it complete, then the sinks commit what it covers.
func (j *job) finishCheckpoint(ctx context.Context, wait bool) error {
	c := j.inflight
	if c == nil {
		return nil
	}
	if !wait {
		for _, p := range c.pending {
			select {
			case <-p.Done():
			default:
				return nil
			}
		}
	}
	j.inflight = nil
	for i, p := range c.pending {
		if err := p.Wait(); err != nil {
			return fmt.Errorf("streaming: checkpoint partition %d: %w", i, err)
		}
	}
	if err := c.dir.Complete(c.path, c.m); err != nil && !errors.Is(err, checkpoint.ErrRetention) {
		return fmt.Errorf("streaming: checkpoint: %w", err)
	} else if err != nil {
		fmt.Fprintf(j.opts.Log, "streaming: %v\n", err)
	}
	for s, res := range c.results {
		if s.epoch == nil {
			s.results = append(s.results, res...)
			continue
		}
		if len(res) == 0 {
			continue
		}
		if err := s.epoch.CommitEpoch(ctx, res); err != nil {
			return &df.TransformError{Transform: s.t.Name, Err: fmt.Errorf("commit checkpoint %d: %w", c.m.ID, err)}
		}
	}
	j.stats.observeCheckpoint(time.Since(c.start), j.stateSize())
	return nil
}

func (j *job) stateSize() uint64 {
	var n uint64
	for _, s := range j.stores {
		n += s.Size()
	}
	return n
}

// commitFinal commits the sinks that commit once, at the end of the job.
func (j *job) commitFinal(ctx context.Context) error {
	for _, s := range j.sinks {
		if s.epoch != nil {
			continue
		}
		if err := s.spec.Sink.Commit(ctx, s.results); err != nil {
			return &df.TransformError{Transform: s.t.Name, Err: fmt.Errorf("commit: %w", err)}
		}
	}
	return nil
}

// abortSinks removes what the writers of a failed job wrote and did not
// commit. The staged output of epoch sinks is left to the restart, which
// commits what the latest checkpoint covers and discards the rest.
func (j *job) abortSinks(ctx context.Context) error {
	var errs []error
	for _, s := range j.sinks {
		res, err := s.closeWriters(ctx)
		if err != nil {
			errs = append(errs, err)
		}
		if s.epoch != nil {
			continue
		}
		if err := s.spec.Sink.Abort(ctx, append(s.results, res...)); err != nil {
			errs = append(errs, &df.TransformError{Transform: s.t.Name, Err: fmt.Errorf("abort: %w", err)})
		}
	}
	return errors.Join(errs...)
}
