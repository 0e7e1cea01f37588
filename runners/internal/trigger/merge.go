package trigger

import "github.com/sluicedata/sluice/pkg/dataflow"

// PaneStart returns the index of the first element not yet emitted in a pane.
func (s *WindowState) PaneStart() int { return int(s.paneStart) }

// Merge returns the state of window w into which the windows of states merge
// (session windows), as Beam's onMerge does: the merged window is a new
// window, so its pane history starts afresh; element counts and count
// triggers' counts add up; a processing-time trigger keeps the earliest
// deadline; a sub-trigger finished in any merging window is finished in the
// merged one; watermark holds combine.
//
// The caller numbers the merged window's elements as follows: first the
// already-emitted elements of every merging window, then the elements not
// yet emitted, each part in arrival order. Merge is followed by OnElement for
// the element whose arrival caused the merge.
func (r *Reducer) Merge(w dataflow.Window, states ...*WindowState) WindowState {
	m := r.NewState(w)
	for _, s := range states {
		m.n += s.n
		m.paneStart += s.paneStart
		if s.hasElemHold {
			hold := s.elemHold
			switch {
			case r.ws.TimestampCombiner == dataflow.EndOfWindow:
				hold = w.MaxTimestamp()
			case !m.hasElemHold:
			case r.ws.TimestampCombiner == dataflow.Latest:
				hold = dataflow.MaxOf(m.elemHold, hold)
			default:
				hold = dataflow.MinOf(m.elemHold, hold)
			}
			m.elemHold, m.hasElemHold = dataflow.MinOf(hold, w.MaxTimestamp()), true
		}
		if s.hasExtraHold {
			gc := r.gcTime(w)
			if !m.hasExtraHold || gc < m.extraHold {
				m.extraHold, m.hasExtraHold = gc, true
			}
		}
		for i := range m.nodes {
			src, dst := s.nodes[i], &m.nodes[i]
			dst.finished = dst.finished || src.finished
			dst.count += src.count
			if src.armed && (!dst.armed || src.deadline < dst.deadline) {
				dst.armed, dst.deadline = true, src.deadline
			}
		}
		for _, t := range s.procTimers {
			m.addProcTimer(t)
		}
	}
	if m.n > 0 {
		m.addEventTimer(r.gcTime(w))
	}
	return m
}
