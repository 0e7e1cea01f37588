package streaming

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// sourceRun is the reading state of a source stage.
type sourceRun struct {
	// bounded Read: splits, read whole, at most one per worker per round
	splits []df.AnySource
	done   []bool
	// unbounded Read: one reader per split, read a little every round
	readers []df.AnyUnboundedReader
	ended   []bool
	wms     []df.EventTime
}

// newSource prepares a source stage, resuming from the positions a restore
// found.
func (j *job) newSource(ctx context.Context, sr *stageRun) (*sourceRun, error) {
	t := sr.st.root
	src := &sourceRun{}
	switch spec := t.Spec.(type) {
	case *df.ImpulseSpec:
		if j.rt.Impulses[t.Name] {
			sr.outWM = df.MaxTime
		}
	case *df.ReadSpec:
		splits, err := spec.Source.Split(ctx, 4*j.parts)
		if err != nil {
			return nil, &df.TransformError{Transform: t.Name, Err: fmt.Errorf("split source: %w", err)}
		}
		src.splits = splits
		src.done = make([]bool, len(splits))
		if done, ok := j.rt.Bounded[t.Name]; ok {
			if len(done) != len(splits) {
				return nil, &df.TransformError{Transform: t.Name, Err: fmt.Errorf("the source splits into %d parts, the checkpoint recorded %d: the input changed", len(splits), len(done))}
			}
			copy(src.done, done)
		}
		j.rt.Bounded[t.Name] = src.done
		if allDone(src.done) {
			sr.outWM = df.MaxTime
		}
	case *df.ReadUnboundedSpec:
		splits, err := spec.Source.Split(ctx, j.parts)
		if err != nil {
			return nil, &df.TransformError{Transform: t.Name, Err: fmt.Errorf("split source: %w", err)}
		}
		var positions [][]byte
		if j.restore != nil {
			positions = j.restore.sources[t.Name]
			if positions != nil && len(positions) != len(splits) {
				return nil, &df.TransformError{Transform: t.Name, Err: fmt.Errorf("the source splits into %d parts, the checkpoint recorded %d", len(splits), len(positions))}
			}
		}
		for i, s := range splits {
			var pos []byte
			if positions != nil {
				pos = positions[i]
			}
			r, err := s.Open(ctx, pos)
			if err != nil {
				return nil, &df.TransformError{Transform: t.Name, Err: fmt.Errorf("open split %d (%v): %w", i, s, err)}
			}
			src.readers = append(src.readers, r)
			if cd, ok := r.(clockDriver); ok {
				if _, driven := cd.ProcessingTime(); driven {
					j.driven = true
				}
			}
		}
		src.ended = make([]bool, len(splits))
		src.wms = make([]df.EventTime, len(splits))
		for i := range src.wms {
			src.wms[i] = df.MinTime
		}
	}
	return src, nil
}

func allDone(done []bool) bool {
	for _, d := range done {
		if !d {
			return false
		}
	}
	return true
}

// positions returns the checkpointable positions of an unbounded source.
func (s *sourceRun) positions() ([][]byte, error) {
	out := make([][]byte, len(s.readers))
	for i, r := range s.readers {
		p, err := r.Position()
		if err != nil {
			return nil, fmt.Errorf("split %d: position: %w", i, err)
		}
		out[i] = p
	}
	return out, nil
}

func (s *sourceRun) close() error {
	var errs []error
	for _, r := range s.readers {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// clockDriver is a reader that may drive processing time (a TestStream's,
// through dataflow's erased reader).
type clockDriver interface {
	ProcessingTime() (time.Time, bool)
}

// drivenNow is the processing time when a source drives it (TestStream), or
// the end of time once every source has ended.
func (j *job) drivenNow() time.Time {
	if j.final {
		return time.UnixMilli(int64(df.MaxTime))
	}
	var now time.Time
	for _, sr := range j.runs {
		if sr.src == nil {
			continue
		}
		for _, r := range sr.src.readers {
			if cd, ok := r.(clockDriver); ok {
				if t, ok := cd.ProcessingTime(); ok && t.After(now) {
					now = t
				}
			}
		}
	}
	return now
}

// Bounds of a round of a bounded source: a worker starts another split
// only while the round has run less than maxRoundRead and its instance's
// exchange writers hold less than maxRoundExchange bytes.
const (
	maxRoundRead     = 50 * time.Millisecond
	maxRoundExchange = 16 << 20
)

// roomForMore reports whether a worker reading a bounded source may start
// another split in the round that started at start.
func (inst *instance) roomForMore(start time.Time) bool {
	if inst.unmeasured || time.Since(start) >= maxRoundRead {
		return false
	}
	n := 0
	for _, w := range inst.exWriters {
		n += w.bytes()
	}
	return n < maxRoundExchange
}

// runSource runs one round of a source stage and returns how many elements
// it read.
func (j *job) runSource(ctx context.Context, sr *stageRun) (int, error) {
	t := sr.st.root
	src := sr.src
	switch t.Spec.(type) {
	case *df.ImpulseSpec:
		if sr.outWM == df.MaxTime {
			return 0, nil
		}
		inst := sr.insts[0]
		err := inst.bundle(ctx, func() error {
			out := inst.consumerFor(t.Outputs[0]).(df.Consumer[[]byte])
			return out.Consume([]df.Elem[[]byte]{{Value: []byte{}, Time: df.MinTime, Window: df.GlobalWindow, Pane: df.NoFiringPane}})
		})
		if err != nil {
			return 0, err
		}
		j.rt.Impulses[t.Name] = true
		sr.outWM = df.MaxTime
		return 1, nil
	case *df.ReadSpec:
		var todo []int
		for i, d := range src.done {
			if !d {
				todo = append(todo, i)
			}
		}
		if len(todo) == 0 {
			sr.outWM = df.MaxTime
			return 0, nil
		}
		// Each worker reads one split, then takes the next one left while
		// the round is young and what it produced for the keyed stages
		// downstream is small (roomForMore): reading a few small splits in
		// one round spares rounds, as the direct runner's work queue does,
		// and a large one still ends its round, which bounds what the
		// exchanges hold and leaves room for checkpoints.
		start := time.Now()
		var next atomic.Int64
		read := make([][]int, j.parts) // the splits each worker read
		err := j.parallel(ctx, min(j.parts, len(todo)), func(ctx context.Context, w int) error {
			inst := sr.insts[w]
			return inst.bundle(ctx, func() error {
				out := inst.consumerFor(t.Outputs[0])
				for first := true; first || inst.roomForMore(start); first = false {
					k := int(next.Add(1)) - 1
					if k >= len(todo) {
						return nil
					}
					s := src.splits[todo[k]]
					if err := s.ReadAll(ctx, out); err != nil {
						var ee *df.ElementError
						if errors.As(err, &ee) {
							return err
						}
						return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("read %v: %w", s, err)}
					}
					read[w] = append(read[w], todo[k])
					// Lifted combiners' partials go to the exchange, where
					// roomForMore sees them.
					if err := inst.flush(); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if err != nil {
			return 0, err
		}
		total := 0
		for _, splits := range read {
			for _, i := range splits {
				src.done[i] = true
			}
			total += len(splits)
		}
		if allDone(src.done) {
			sr.outWM = df.MaxTime
		}
		return total, nil
	case *df.ReadUnboundedSpec:
		n := len(src.readers)
		read := make([]int, j.parts)
		err := j.parallel(ctx, min(j.parts, n), func(ctx context.Context, w int) error {
			inst := sr.insts[w]
			return inst.bundle(ctx, func() error {
				out := inst.consumerFor(t.Outputs[0])
				for i := w; i < n; i += j.parts {
					if src.ended[i] {
						continue
					}
					k, err := src.readers[i].ReadTo(ctx, out, j.opts.ReadBatch)
					read[w] += k
					if errors.Is(err, df.ErrEndOfInput) {
						src.ended[i] = true
						continue
					}
					if err != nil {
						var ee *df.ElementError
						if errors.As(err, &ee) {
							return err
						}
						return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("read split %d: %w", i, err)}
					}
				}
				return nil
			})
		})
		if err != nil {
			return 0, err
		}
		total := 0
		for _, k := range read {
			total += k
		}
		// The source's watermark: the least over its live, non-idle splits.
		now := j.opts.Clock()
		if j.driven {
			now = j.drivenNow()
		}
		wm, live, active := df.MaxTime, false, false
		for i, r := range src.readers {
			if src.ended[i] {
				continue
			}
			live = true
			w, idle := r.Watermark(now)
			src.wms[i] = w
			if idle {
				continue
			}
			active = true
			wm = df.MinOf(wm, w)
		}
		switch {
		case !live:
			sr.outWM = df.MaxTime
		case active:
			sr.outWM = df.MaxOf(sr.outWM, wm)
		}
		return total, nil
	}
	return 0, fmt.Errorf("streaming: %v is not a source", t)
}
