package dataflow

import "fmt"

// PaneTiming says when a pane fired relative to the watermark, as in Beam.
type PaneTiming uint8

const (
	// PaneUnknown is the timing of an element that was never grouped.
	PaneUnknown PaneTiming = iota
	// PaneEarly panes fire before the watermark passes the end of the window.
	PaneEarly
	// PaneOnTime is the pane that fires as the watermark passes the end of the window.
	PaneOnTime
	// PaneLate panes fire after the on-time pane (or after the watermark passed
	// the window's end without an on-time pane).
	PaneLate
)

func (t PaneTiming) String() string {
	switch t {
	case PaneEarly:
		return "EARLY"
	case PaneOnTime:
		return "ON_TIME"
	case PaneLate:
		return "LATE"
	}
	return "UNKNOWN"
}

// PaneInfo describes which firing of a window produced an element (Beam's PaneInfo).
type PaneInfo struct {
	// Index counts the panes of this key and window, from 0.
	Index int64
	// NonSpeculativeIndex counts the on-time and late panes, from 0; -1 for early panes.
	NonSpeculativeIndex int64
	Timing              PaneTiming
	IsFirst             bool
	IsLast              bool
}

// NoFiringPane is the pane of an element that has not been through a GroupByKey:
// the only pane of its window, first and last, timing unknown (Beam's PaneInfo.NO_FIRING).
var NoFiringPane = PaneInfo{IsFirst: true, IsLast: true, Timing: PaneUnknown}

func (p PaneInfo) String() string {
	return fmt.Sprintf("pane{%s index=%d nonspec=%d first=%t last=%t}", p.Timing, p.Index, p.NonSpeculativeIndex, p.IsFirst, p.IsLast)
}
