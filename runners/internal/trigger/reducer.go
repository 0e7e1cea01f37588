package trigger

import (
	"fmt"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Reducer runs one GroupByKey's windowing strategy over the windows of its
// keys. It is compiled once, is immutable and is safe for concurrent use.
type Reducer struct {
	ws          dataflow.WindowingStrategy
	nodes       []node
	fingerprint uint64
	merging     bool
	lateness    dataflow.EventTime // allowed lateness in milliseconds
}

// NewReducer compiles a windowing strategy.
func NewReducer(ws dataflow.WindowingStrategy) (*Reducer, error) {
	if err := ws.Validate(); err != nil {
		return nil, fmt.Errorf("trigger: %w", err)
	}
	nodes, err := compile(ws.Trigger)
	if err != nil {
		return nil, fmt.Errorf("trigger: %w", err)
	}
	return &Reducer{
		ws:          ws,
		nodes:       nodes,
		fingerprint: fingerprint(nodes),
		merging:     ws.Fn.IsMerging(),
		lateness:    dataflow.EventTime(ws.AllowedLateness / time.Millisecond),
	}, nil
}

// Strategy returns the windowing strategy the reducer runs.
func (r *Reducer) Strategy() dataflow.WindowingStrategy { return r.ws }

// NewState returns the state of a window that has seen nothing yet. States
// come from NewState, or from UnmarshalBinary followed by Check; the zero
// WindowState is not usable.
func (r *Reducer) NewState(w dataflow.Window) WindowState {
	return WindowState{window: w, fingerprint: r.fingerprint, nodes: make([]nodeState, len(r.nodes))}
}

// Check reports whether s can be used with r: a state restored from a
// checkpoint must have been made for the same trigger.
func (r *Reducer) Check(s *WindowState) error {
	if s.fingerprint != r.fingerprint || (!s.expired && len(s.nodes) != len(r.nodes)) {
		return fmt.Errorf("trigger: window state of %v was made for a different trigger than %v", s.window, r.ws.Trigger)
	}
	return nil
}

// Pane is one firing of a window.
type Pane struct {
	Info dataflow.PaneInfo
	// From and To are the range [From, To) of element indices the pane holds.
	// Accumulating panes hold every element so far, so From is 0.
	From, To int
	// Timestamp is the TimestampCombiner applied to the pane's new elements
	// (those since the previous firing) that could hold the output
	// watermark, capped at the window's MaxTimestamp; the window's
	// MaxTimestamp when there are none. As in Beam, an element that arrived
	// behind the window's output watermark, or after the end of the window,
	// holds nothing and so does not count.
	Timestamp dataflow.EventTime
}

func (p Pane) String() string {
	return fmt.Sprintf("[%d,%d) %v at %v", p.From, p.To, p.Info, p.Timestamp)
}

// gcTime is Beam's LateDataUtils.garbageCollectionTime: the end of the window
// plus the allowed lateness, but no later than the end of the global window.
func (r *Reducer) gcTime(w dataflow.Window) dataflow.EventTime {
	max := w.MaxTimestamp()
	if max > dataflow.EndOfGlobalWindow-r.lateness {
		return dataflow.EndOfGlobalWindow
	}
	return max + r.lateness
}

// GarbageCollectionTime returns the time after which the window expires: once
// the input watermark is past it, the window's elements are droppable.
func (r *Reducer) GarbageCollectionTime(w dataflow.Window) dataflow.EventTime { return r.gcTime(w) }

// outputWatermark is the window's output watermark as the state stands: the
// input watermark held back by the window's holds and by its pending
// event-time timers (Beam's timers hold the output watermark at their time).
func (r *Reducer) outputWatermark(s *WindowState, wm dataflow.EventTime) dataflow.EventTime {
	if h, ok := r.OutputHold(s); ok {
		return dataflow.MinOf(wm, h)
	}
	return wm
}

// OutputHold returns how far the window holds back the output watermark of
// the GroupByKey: its element and garbage-collection holds and its pending
// event-time timers. ok is false when it holds nothing.
func (r *Reducer) OutputHold(s *WindowState) (hold dataflow.EventTime, ok bool) {
	hold = dataflow.MaxTime
	if s.hasElemHold {
		hold, ok = dataflow.MinOf(hold, s.elemHold), true
	}
	if s.hasExtraHold {
		hold, ok = dataflow.MinOf(hold, s.extraHold), true
	}
	if len(s.eventTimers) > 0 {
		hold, ok = dataflow.MinOf(hold, s.eventTimers[0]), true
	}
	return hold, ok
}

// Expired reports whether the window has been garbage-collected. The caller
// may drop the state and the window's elements.
func (r *Reducer) Expired(s *WindowState) bool { return s.expired }

// Finished reports whether the window is closed: its trigger has finished (or
// the window expired), no pane will fire any more and new elements are dropped.
func (r *Reducer) Finished(s *WindowState) bool { return s.expired || s.nodes[0].finished }

// Retain returns the index of the first element that a future pane may still
// contain: the caller may free the elements before it.
func (r *Reducer) Retain(s *WindowState) int {
	switch {
	case r.Finished(s):
		return int(s.n)
	case r.ws.Accumulation == dataflow.Accumulating:
		return 0
	}
	return int(s.paneStart)
}

// NextDeadline returns the earliest processing time at which OnProcessingTime
// could fire something, and false if there is none. A timer is due once
// processing time is strictly after its deadline (at millisecond precision),
// so the time returned is the deadline plus one millisecond.
func (r *Reducer) NextDeadline(s *WindowState) (time.Time, bool) {
	if r.Finished(s) || len(s.procTimers) == 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(s.procTimers[0] + 1), true
}

// NextWatermark returns the smallest input watermark at which OnWatermark has
// something to do for the window, and false if it never has.
func (r *Reducer) NextWatermark(s *WindowState) (dataflow.EventTime, bool) {
	switch {
	case s.expired:
		return 0, false
	case s.n == 0:
		return r.gcTime(s.window) + 1, true
	}
	// The garbage-collection timer is pending until the window expires.
	return s.eventTimers[0] + 1, true
}

// OnElement is called when an element with event timestamp ts arrives for the
// window at input watermark wm and processing time now. It returns
// accepted=false when the element must be dropped: the window has expired or
// its trigger has finished (Beam's droppedDueToClosedWindow), or the element
// is droppable because wm is past the window's garbage-collection time (Beam's
// LateDataDroppingDoFnRunner). It returns the pane that fires as a result, if
// any. Accepted elements get consecutive indices from 0.
//
// Pending timers are not delivered here: as in a Beam bundle, elements are
// processed first and the caller then calls OnWatermark or OnProcessingTime.
func (r *Reducer) OnElement(s *WindowState, ts, wm dataflow.EventTime, now time.Time) (accepted bool, fired []Pane) {
	gc := r.gcTime(s.window)
	if r.Finished(s) || wm > gc {
		return false, nil
	}
	out := r.outputWatermark(s, wm)
	s.n++
	s.addEventTimer(gc)
	r.addHolds(s, ts, wm, out)
	m := r.machine(s, wm, now)
	m.onElement(0)
	if m.shouldFire(0) {
		if p, ok := r.emit(&m, out); ok {
			fired = []Pane{p}
		}
	}
	return true, fired
}

// OnWatermark is called when the input watermark advances to wm (and
// processing time is now). It delivers the window's timers that are due: the
// end-of-window timer fires the on-time pane if the trigger says so, and once
// wm is past the garbage-collection time the window expires, after a final
// pane if it has elements not yet emitted or owes its on-time pane under
// FireAlways. At wm = dataflow.MaxTime every window expires.
//
// Processing-time timers due at now are delivered too.
func (r *Reducer) OnWatermark(s *WindowState, wm dataflow.EventTime, now time.Time) []Pane {
	return r.onTimers(s, wm, now)
}

// OnProcessingTime is called when processing time advances to now (the input
// watermark being wm). It fires processing-time triggers whose deadline has
// passed; event-time timers due at wm are delivered too.
func (r *Reducer) OnProcessingTime(s *WindowState, wm dataflow.EventTime, now time.Time) []Pane {
	return r.onTimers(s, wm, now)
}

// onTimers is ReduceFnRunner.onTimers for one window: how the window is
// processed depends on the state and the clocks, not on which timers fired.
func (r *Reducer) onTimers(s *WindowState, wm dataflow.EventTime, now time.Time) []Pane {
	if s.expired {
		return nil
	}
	gc := r.gcTime(s.window)
	isGC := wm > gc
	if s.n == 0 {
		// Nothing was ever accepted, so no timer was set.
		if isGC {
			s.expire()
		}
		return nil
	}
	out := r.outputWatermark(s, wm) // the timers being delivered still hold it
	fired := s.popEventTimers(wm)
	if !isGC {
		// Processing-time timers of an expired window are ignored, like late elements.
		fired += s.popProcTimers(now.UnixMilli())
	}
	if fired == 0 {
		return nil
	}
	var panes []Pane
	if isGC {
		if !s.nodes[0].finished {
			if p, ok := r.onTrigger(s, wm, out, true); ok {
				panes = append(panes, p)
			}
		}
		s.expire()
		return panes
	}
	if !s.nodes[0].finished {
		m := r.machine(s, wm, now)
		if m.shouldFire(0) {
			if p, ok := r.emit(&m, out); ok {
				panes = append(panes, p)
			}
		}
	}
	return panes
}

func (r *Reducer) machine(s *WindowState, wm dataflow.EventTime, now time.Time) machine {
	return machine{nodes: r.nodes, st: s.nodes, s: s, merging: r.merging, wm: wm, now: now.UnixMilli()}
}

// addHolds is WatermarkHold.addHolds: the element holds the output watermark
// at its timestamp as the TimestampCombiner assigns it, unless that is behind
// the window's output watermark or the end of the window has passed; then it
// holds it at the garbage-collection time.
func (r *Reducer) addHolds(s *WindowState, ts, wm, out dataflow.EventTime) {
	max := s.window.MaxTimestamp()
	hold := ts
	if r.ws.TimestampCombiner == dataflow.EndOfWindow {
		hold = max
	}
	if hold >= out && max >= wm {
		switch {
		case !s.hasElemHold:
			s.elemHold, s.hasElemHold = hold, true
		case r.ws.TimestampCombiner == dataflow.Latest:
			s.elemHold = dataflow.MaxOf(s.elemHold, hold)
		default:
			s.elemHold = dataflow.MinOf(s.elemHold, hold)
		}
		return
	}
	// OnElement rejects elements past the garbage-collection time, so the hold is never behind wm.
	gc := r.gcTime(s.window)
	if !s.hasExtraHold || gc < s.extraHold {
		s.extraHold, s.hasExtraHold = gc, true
	}
}

// emit is ReduceFnRunner.emit: the trigger has said to fire.
func (r *Reducer) emit(m *machine, out dataflow.EventTime) (Pane, bool) {
	s := m.s
	m.onFire(0)
	finished := s.nodes[0].finished
	p, ok := r.onTrigger(s, m.wm, out, finished)
	s.paneStart = s.n
	if finished {
		// The window is closed: keep only the finished bits until it expires.
		m.clear(0)
		s.hasLastPane = false
	}
	return p, ok
}

// onTrigger is ReduceFnRunner.onTrigger: it releases the holds and builds the
// pane, unless the pane is empty and not the on-time pane owed under
// FireAlways. Beam's ClosingBehavior is always FIRE_IF_NON_EMPTY here, so no
// hold is placed for a later empty final pane.
func (r *Reducer) onTrigger(s *WindowState, wm, out dataflow.EventTime, final bool) (Pane, bool) {
	max := s.window.MaxTimestamp()
	ts := dataflow.MaxTime
	if s.hasElemHold {
		ts = s.elemHold
	}
	if s.hasExtraHold {
		ts = dataflow.MinOf(ts, s.extraHold)
	}
	// No hold, or only a garbage-collection hold: the output time is the end of the window.
	ts = dataflow.MinOf(ts, max)
	s.hasElemHold, s.hasExtraHold = false, false

	empty := s.paneStart == s.n
	if empty && r.ws.OnTime == dataflow.FireIfNonEmpty {
		return Pane{}, false
	}
	info := r.describe(s, wm, out, final)
	if empty && (info.Timing != dataflow.PaneOnTime || r.ws.OnTime != dataflow.FireAlways) {
		return Pane{}, false
	}
	if !final {
		s.lastPane, s.hasLastPane = info, true
	}
	from := int(s.paneStart)
	if r.ws.Accumulation == dataflow.Accumulating {
		from = 0
	}
	return Pane{Info: info, From: from, To: int(s.n), Timestamp: ts}, true
}

// describe is PaneInfoTracker.describePane.
func (r *Reducer) describe(s *WindowState, wm, out dataflow.EventTime, final bool) dataflow.PaneInfo {
	max := s.window.MaxTimestamp()
	info := dataflow.PaneInfo{IsFirst: !s.hasLastPane, IsLast: final}
	if s.hasLastPane {
		info.Index = s.lastPane.Index + 1
		info.NonSpeculativeIndex = s.lastPane.NonSpeculativeIndex + 1
	}
	// Once the output watermark is past the end of the window, nothing this
	// window emits can be on time downstream; once a non-early pane has fired,
	// every later pane is late.
	lateForOutput := max < out
	onlyEarlySoFar := !s.hasLastPane || s.lastPane.Timing == dataflow.PaneEarly
	switch {
	case lateForOutput || !onlyEarlySoFar:
		info.Timing = dataflow.PaneLate
	case wm <= max:
		info.Timing = dataflow.PaneEarly
		info.NonSpeculativeIndex = -1
	default:
		info.Timing = dataflow.PaneOnTime
	}
	return info
}
