package dataflow

import (
	"fmt"
	"time"
)

// AccumulationMode says how the panes of one window relate.
type AccumulationMode uint8

const (
	// Discarding panes hold only the elements that arrived since the previous pane.
	Discarding AccumulationMode = iota
	// Accumulating panes hold every element of the window so far.
	Accumulating
)

func (m AccumulationMode) String() string {
	if m == Accumulating {
		return "accumulating"
	}
	return "discarding"
}

// TimestampCombiner chooses the timestamp of a grouped pane.
type TimestampCombiner uint8

const (
	// EndOfWindow gives each pane the window's maximum timestamp (Beam's default).
	EndOfWindow TimestampCombiner = iota
	// Earliest gives each pane the earliest timestamp of its new elements.
	Earliest
	// Latest gives each pane the latest timestamp of its new elements.
	Latest
)

func (c TimestampCombiner) String() string {
	switch c {
	case Earliest:
		return "earliest"
	case Latest:
		return "latest"
	}
	return "end-of-window"
}

// OnTimeBehavior says whether an on-time pane fires when it would be empty.
type OnTimeBehavior uint8

const (
	// FireAlways emits the on-time pane even when it holds no new elements (Beam's default).
	FireAlways OnTimeBehavior = iota
	// FireIfNonEmpty emits the on-time pane only when it holds elements.
	FireIfNonEmpty
)

// WindowingStrategy is how a PCollection is windowed and triggered. It is an
// immutable value; WindowInto makes a new one.
type WindowingStrategy struct {
	Fn                WindowFn
	Trigger           Trigger
	Accumulation      AccumulationMode
	AllowedLateness   time.Duration
	TimestampCombiner TimestampCombiner
	OnTime            OnTimeBehavior
}

// DefaultWindowing is the strategy of every source: global window, default trigger.
func DefaultWindowing() WindowingStrategy {
	return WindowingStrategy{Fn: GlobalWindows{}, Trigger: DefaultTrigger{}}
}

// IsDefaultTrigger reports whether the strategy fires exactly once per window
// when the watermark passes its end (so combining can be lifted before a shuffle).
func (w WindowingStrategy) IsDefaultTrigger() bool {
	switch t := w.Trigger.(type) {
	case DefaultTrigger:
		return true
	case AfterWatermarkTrigger:
		return t.Early == nil && t.Late == nil
	}
	return false
}

func (w WindowingStrategy) String() string {
	return fmt.Sprintf("%v trigger=%v %v lateness=%v timestamp=%v", w.Fn, w.Trigger, w.Accumulation, w.AllowedLateness, w.TimestampCombiner)
}

// Validate checks the strategy's parameters.
func (w WindowingStrategy) Validate() error {
	if err := validateWindowFn(w.Fn); err != nil {
		return err
	}
	if err := ValidateTrigger(w.Trigger); err != nil {
		return err
	}
	if w.AllowedLateness < 0 {
		return fmt.Errorf("allowed lateness %v is negative", w.AllowedLateness)
	}
	return checkDuration("allowed lateness", w.AllowedLateness)
}

// WindowOption changes a windowing strategy in WindowInto.
type WindowOption func(*WindowingStrategy)

// Triggering sets the trigger.
func Triggering(t Trigger) WindowOption {
	return func(w *WindowingStrategy) { w.Trigger = t }
}

// AccumulatingPanes makes panes accumulate.
func AccumulatingPanes() WindowOption {
	return func(w *WindowingStrategy) { w.Accumulation = Accumulating }
}

// DiscardingPanes makes panes discard (the default).
func DiscardingPanes() WindowOption {
	return func(w *WindowingStrategy) { w.Accumulation = Discarding }
}

// AllowedLateness sets how long after the end of a window late data is still accepted.
func AllowedLateness(d time.Duration) WindowOption {
	return func(w *WindowingStrategy) { w.AllowedLateness = d }
}

// WithTimestampCombiner sets how grouped panes are timestamped.
func WithTimestampCombiner(c TimestampCombiner) WindowOption {
	return func(w *WindowingStrategy) { w.TimestampCombiner = c }
}

// WithOnTimeBehavior sets whether empty on-time panes fire.
func WithOnTimeBehavior(b OnTimeBehavior) WindowOption {
	return func(w *WindowingStrategy) { w.OnTime = b }
}
