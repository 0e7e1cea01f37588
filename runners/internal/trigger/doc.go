// Package trigger decides, for one key and one window, when panes fire and
// what they hold, with the semantics of Apache Beam's runners-core
// (ReduceFnRunner, the TriggerStateMachines, PaneInfoTracker, WatermarkHold
// and LateDataDroppingDoFnRunner). Both runners use it: the direct runner
// drives it with bounded input, the streaming runner with live watermarks and
// processing time.
//
// The package never sees element values. The accepted elements of a window
// are numbered 0, 1, 2, ... in arrival order; the caller keeps them and builds
// each Pane from its index range [From, To).
//
// # Driving it
//
// A Reducer is compiled once per GroupByKey from its WindowingStrategy. For
// each key and window the caller keeps a WindowState, created with NewState
// when the first element of that window arrives, and calls:
//
//   - OnElement for every element, with the current input watermark and
//     processing time;
//   - OnWatermark when the input watermark advances (NextWatermark says from
//     which watermark on it has work to do);
//   - OnProcessingTime when processing time advances (NextDeadline says when).
//
// Each call returns the panes that fire, in order. Once Expired reports true
// the caller drops the state and the window's elements.
//
// Bounded input is driven the way Beam defines batch: every element arrives
// with the watermark at dataflow.MinTime, then OnWatermark(dataflow.MaxTime)
// fires what is left and expires every window.
//
// # Invariants
//
//  1. Event time and processing time are compared as Beam does: a timer or a
//     condition at time t is due when the clock is strictly after t. The end of
//     a window is reached when the input watermark is after its MaxTimestamp; a
//     window expires when the watermark is after its garbage-collection time,
//     MaxTimestamp + allowed lateness (capped at the end of the global window).
//     Processing time has Beam's millisecond precision.
//  2. An element is accepted unless the window has expired, the watermark is
//     past the garbage-collection time (the element is droppable), or the
//     trigger has finished (the window is closed).
//  3. Panes of a window have consecutive indices from 0; their timings run
//     EARLY* ON_TIME? LATE*; at most one pane has IsLast and no pane follows it.
//  4. In discarding mode the panes' ranges are disjoint and consecutive; in
//     accumulating mode every pane starts at 0. When a window expires, every
//     accepted element has been part of a pane: nothing accepted is lost.
//  5. WindowState is a plain value. Its trigger sub-state is a flat slice
//     indexed by the preorder position of the node in the trigger tree (its
//     stable id), never by pointer, and MarshalBinary/UnmarshalBinary
//     round-trip it exactly: a restored state continues as the original would.
//
// # Concurrency
//
// A Reducer is immutable and safe for concurrent use. A WindowState is not:
// one goroutine at a time may pass it to the Reducer's methods. WindowState
// values share their slices when copied; use Clone for an independent copy.
//
// # Where this differs from Beam's Java runners-core
//
// The output watermark that Beam consults (to tell ON_TIME from LATE and to
// decide which elements may hold the watermark) is, here, the window's own:
// the input watermark held back by this window's holds and pending event-time
// timers. That makes the result deterministic rather than dependent on other
// keys. The early and late sub-triggers of AfterWatermark are reset like
// Repeatedly resets its sub-trigger (clearing finished bits in the whole
// subtree), where Java only clears the sub-trigger's own bit. Beam's
// ClosingBehavior is not modelled: it is always FIRE_IF_NON_EMPTY, Beam's
// default. Windows are not merged here: a caller with merging windows merges
// them first and runs each merged window (the trigger state machines do
// follow Beam's merging-window branches, which run every sub-trigger of
// AfterEach and AfterWatermark on each element).
package trigger
