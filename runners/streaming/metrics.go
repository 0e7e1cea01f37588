package streaming

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/streaming/internal/metricshttp"
)

// jobStats are the runner's own metrics.
type jobStats struct {
	rounds      atomic.Int64
	checkpoints atomic.Int64
	mu          sync.Mutex
	pauses      []time.Duration // synchronous part of each checkpoint
	lastDur     time.Duration
	lastSize    uint64
}

func newJobStats() *jobStats { return &jobStats{} }

func (s *jobStats) observePause(d time.Duration) {
	s.mu.Lock()
	s.pauses = append(s.pauses, d)
	s.mu.Unlock()
}

func (s *jobStats) observeCheckpoint(d time.Duration, size uint64) {
	s.checkpoints.Add(1)
	s.mu.Lock()
	s.lastDur, s.lastSize = d, size
	s.mu.Unlock()
}

// pauseQuantile returns the q-quantile of checkpoint pauses.
func (s *jobStats) pauseQuantile(q float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pauses) == 0 {
		return 0
	}
	p := slices.Clone(s.pauses)
	slices.Sort(p)
	return p[min(len(p)-1, int(q*float64(len(p))))]
}

// Status is a snapshot of a running job, updated after every round.
type Status struct {
	Time   time.Time // when the snapshot was taken
	Rounds int64
	Stages []StageStatus
	// StateBytes is the disk space the keyed state uses.
	StateBytes  uint64
	Checkpoints int64
	// LastCheckpoint is how long the latest checkpoint took, start to
	// commit, and LastCheckpointBytes the state it covered.
	LastCheckpoint      time.Duration
	LastCheckpointBytes uint64
	// PauseP50 and PauseP99 are quantiles of the time checkpoints block
	// processing (sinks' pre-commit excluded: the state snapshot's
	// synchronous part).
	PauseP50, PauseP99, PauseMax time.Duration
}

// StageStatus is one stage of a Status.
type StageStatus struct {
	Name string // the stage's root transform
	// Elements is how many elements the stage's root has output.
	Elements        int64
	InputWatermark  time.Time
	OutputWatermark time.Time
	// Lag is how far the output watermark is behind processing time
	// (zero once it is at the end of time).
	Lag         time.Duration
	LateDropped int64
}

func wmTime(t df.EventTime) time.Time { return time.UnixMilli(int64(t)).UTC() }

func (j *job) snapshot() *Status {
	now := j.opts.Clock()
	st := &Status{Time: now, Rounds: j.stats.rounds.Load(), Checkpoints: j.stats.checkpoints.Load()}
	for _, sr := range j.runs {
		ss := StageStatus{Name: sr.st.root.Name, InputWatermark: wmTime(sr.inWM), OutputWatermark: wmTime(sr.outWM), LateDropped: sr.dropped.Load()}
		for _, out := range sr.st.root.Outputs {
			if n := j.counts[out]; n != nil {
				ss.Elements += n.Load()
			}
		}
		if sr.outWM < df.EndOfGlobalWindow {
			ss.Lag = max(now.Sub(wmTime(sr.outWM)), 0)
		}
		st.Stages = append(st.Stages, ss)
	}
	st.StateBytes = j.stateSize()
	j.stats.mu.Lock()
	st.LastCheckpoint, st.LastCheckpointBytes = j.stats.lastDur, j.stats.lastSize
	j.stats.mu.Unlock()
	st.PauseP50, st.PauseP99, st.PauseMax = j.stats.pauseQuantile(0.5), j.stats.pauseQuantile(0.99), j.stats.pauseQuantile(1)
	return st
}

// samples turns a Status and the user metrics into Prometheus samples.
func samples(st *Status, user df.Metrics) []metricshttp.Sample {
	var out []metricshttp.Sample
	add := func(name, help, typ string, v float64, labels map[string]string) {
		out = append(out, metricshttp.Sample{Name: "sluice_" + name, Help: help, Type: typ, Value: v, Labels: labels})
	}
	if st != nil {
		add("rounds_total", "Rounds the job has run.", "counter", float64(st.Rounds), nil)
		add("state_bytes", "Disk space of the keyed state.", "gauge", float64(st.StateBytes), nil)
		add("checkpoints_total", "Checkpoints completed.", "counter", float64(st.Checkpoints), nil)
		add("checkpoint_duration_seconds", "Duration of the latest checkpoint.", "gauge", st.LastCheckpoint.Seconds(), nil)
		add("checkpoint_state_bytes", "State covered by the latest checkpoint.", "gauge", float64(st.LastCheckpointBytes), nil)
		add("checkpoint_pause_seconds", "Time checkpoints block processing.", "gauge", st.PauseP50.Seconds(), map[string]string{"quantile": "0.5"})
		add("checkpoint_pause_seconds", "Time checkpoints block processing.", "gauge", st.PauseP99.Seconds(), map[string]string{"quantile": "0.99"})
		for _, s := range st.Stages {
			l := map[string]string{"stage": s.Name}
			add("stage_elements_total", "Elements output by a stage's root transform.", "counter", float64(s.Elements), l)
			add("stage_input_watermark_seconds", "A stage's input watermark (Unix seconds).", "gauge", float64(s.InputWatermark.UnixMilli())/1000, l)
			add("stage_output_watermark_seconds", "A stage's output watermark (Unix seconds).", "gauge", float64(s.OutputWatermark.UnixMilli())/1000, l)
			add("stage_watermark_lag_seconds", "How far a stage's output watermark is behind processing time.", "gauge", s.Lag.Seconds(), l)
			add("stage_late_elements_dropped_total", "Late elements a stage dropped.", "counter", float64(s.LateDropped), l)
		}
	}
	return append(out, metricshttp.FromMetrics(user, "sluice")...)
}

// serveMetrics serves the job's metrics when Options.MetricsAddr is set.
func (j *job) serveMetrics(ctx context.Context, res *Result) (stop func(), err error) {
	if j.opts.MetricsAddr == "" {
		return func() {}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	addr, err := metricshttp.Serve(ctx, j.opts.MetricsAddr, func() []metricshttp.Sample {
		return samples(res.status.Load(), res.metrics.Snapshot())
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("streaming: metrics: %w", err)
	}
	res.metricsAddr.Store(&addr)
	return cancel, nil
}
