package trigger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// WindowState is everything kept for one key and window: a plain value that
// MarshalBinary and UnmarshalBinary round-trip exactly.
//
// Its fields follow Beam's per-window state: the element count (the buffered
// values themselves stay with the caller), the watermark holds, the last
// emitted PaneInfo, the pending timers, and each trigger node's finished bit
// and sub-state, indexed by the node's preorder position in the trigger tree.
type WindowState struct {
	window      dataflow.Window
	fingerprint uint64 // of the trigger tree the state was made for

	n         int64 // accepted elements
	paneStart int64 // first element of the current pane: elements since the last firing
	expired   bool

	// Output watermark holds (Beam's WatermarkHold): the element hold combines
	// the held elements' timestamps with the TimestampCombiner; the extra hold
	// is the garbage-collection hold of elements too late to hold the watermark.
	elemHold     dataflow.EventTime
	hasElemHold  bool
	extraHold    dataflow.EventTime
	hasExtraHold bool

	lastPane    dataflow.PaneInfo // the last pane emitted (Beam's PaneInfoTracker)
	hasLastPane bool

	// Pending timers, sorted and without duplicates. Beam identifies a
	// window's timers by domain and time, so setting one twice is a no-op.
	eventTimers []dataflow.EventTime
	procTimers  []int64 // Unix milliseconds

	nodes []nodeState
}

// nodeState is the state of one trigger node.
type nodeState struct {
	finished bool
	armed    bool  // kindProcTime: a deadline is set
	count    int64 // kindCount: elements counted in the current pane
	deadline int64 // kindProcTime: Unix milliseconds after which it fires
}

// Window returns the window the state belongs to.
func (s *WindowState) Window() dataflow.Window { return s.window }

// Len returns the number of elements the window has accepted.
func (s *WindowState) Len() int { return int(s.n) }

// Clone returns a copy of s that shares no memory with it.
func (s *WindowState) Clone() WindowState {
	c := *s
	c.eventTimers = slices.Clone(s.eventTimers)
	c.procTimers = slices.Clone(s.procTimers)
	c.nodes = slices.Clone(s.nodes)
	return c
}

func (s *WindowState) addEventTimer(t dataflow.EventTime) {
	i, found := slices.BinarySearch(s.eventTimers, t)
	if !found {
		s.eventTimers = slices.Insert(s.eventTimers, i, t)
	}
}

func (s *WindowState) addProcTimer(t int64) {
	i, found := slices.BinarySearch(s.procTimers, t)
	if !found {
		s.procTimers = slices.Insert(s.procTimers, i, t)
	}
}

// popEventTimers removes the event-time timers that are due at watermark wm
// (strictly before it) and reports how many there were.
func (s *WindowState) popEventTimers(wm dataflow.EventTime) int {
	i, _ := slices.BinarySearch(s.eventTimers, wm)
	s.eventTimers = slices.Delete(s.eventTimers, 0, i)
	return i
}

// popProcTimers removes the processing-time timers that are due at now
// (strictly before it) and reports how many there were.
func (s *WindowState) popProcTimers(now int64) int {
	i, _ := slices.BinarySearch(s.procTimers, now)
	s.procTimers = slices.Delete(s.procTimers, 0, i)
	return i
}

// expire drops everything but the window, as Beam's clearAllState does.
func (s *WindowState) expire() {
	*s = WindowState{
		window:      s.window,
		fingerprint: s.fingerprint,
		n:           s.n,
		paneStart:   s.n,
		expired:     true,
	}
}

const stateVersion = 1

// Flag bits of the encoded state.
const (
	flagExpired = 1 << iota
	flagElemHold
	flagExtraHold
	flagLastPane
	flagPaneFirst
	flagPaneLast
)

// Flag bits of an encoded node.
const (
	nodeFinished = 1 << iota
	nodeArmed
)

// MarshalBinary encodes the state.
func (s *WindowState) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(nil)
}

// AppendBinary appends the encoding of the state to b.
func (s *WindowState) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, stateVersion)
	b = binary.LittleEndian.AppendUint64(b, s.fingerprint)
	b = binary.AppendVarint(b, int64(s.window.Start))
	b = binary.AppendVarint(b, int64(s.window.End))
	var flags byte
	if s.expired {
		flags |= flagExpired
	}
	if s.hasElemHold {
		flags |= flagElemHold
	}
	if s.hasExtraHold {
		flags |= flagExtraHold
	}
	if s.hasLastPane {
		flags |= flagLastPane
		if s.lastPane.IsFirst {
			flags |= flagPaneFirst
		}
		if s.lastPane.IsLast {
			flags |= flagPaneLast
		}
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(s.n))
	b = binary.AppendUvarint(b, uint64(s.paneStart))
	if s.hasElemHold {
		b = binary.AppendVarint(b, int64(s.elemHold))
	}
	if s.hasExtraHold {
		b = binary.AppendVarint(b, int64(s.extraHold))
	}
	if s.hasLastPane {
		b = binary.AppendVarint(b, s.lastPane.Index)
		b = binary.AppendVarint(b, s.lastPane.NonSpeculativeIndex)
		b = append(b, byte(s.lastPane.Timing))
	}
	b = binary.AppendUvarint(b, uint64(len(s.eventTimers)))
	for _, t := range s.eventTimers {
		b = binary.AppendVarint(b, int64(t))
	}
	b = binary.AppendUvarint(b, uint64(len(s.procTimers)))
	for _, t := range s.procTimers {
		b = binary.AppendVarint(b, t)
	}
	b = binary.AppendUvarint(b, uint64(len(s.nodes)))
	for _, n := range s.nodes {
		var f byte
		if n.finished {
			f |= nodeFinished
		}
		if n.armed {
			f |= nodeArmed
		}
		b = append(b, f)
		b = binary.AppendVarint(b, n.count)
		if n.armed {
			b = binary.AppendVarint(b, n.deadline)
		}
	}
	return b, nil
}

// ErrCorruptState is wrapped by the errors of UnmarshalBinary.
var ErrCorruptState = errors.New("trigger: corrupt window state")

// UnmarshalBinary decodes a state encoded by MarshalBinary. Reducer.Check
// tells whether the decoded state belongs to a given reducer.
func (s *WindowState) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	if v := d.u8(); v != stateVersion && d.err == nil {
		return fmt.Errorf("%w: unknown version %d", ErrCorruptState, v)
	}
	var t WindowState
	t.fingerprint = d.u64()
	t.window.Start = dataflow.EventTime(d.varint())
	t.window.End = dataflow.EventTime(d.varint())
	flags := d.u8()
	t.expired = flags&flagExpired != 0
	t.n = d.count()
	t.paneStart = d.count()
	if flags&flagElemHold != 0 {
		t.hasElemHold = true
		t.elemHold = dataflow.EventTime(d.varint())
	}
	if flags&flagExtraHold != 0 {
		t.hasExtraHold = true
		t.extraHold = dataflow.EventTime(d.varint())
	}
	if flags&flagLastPane != 0 {
		t.hasLastPane = true
		t.lastPane.IsFirst = flags&flagPaneFirst != 0
		t.lastPane.IsLast = flags&flagPaneLast != 0
		t.lastPane.Index = d.varint()
		t.lastPane.NonSpeculativeIndex = d.varint()
		t.lastPane.Timing = dataflow.PaneTiming(d.u8())
	}
	if n := d.length(); n > 0 {
		t.eventTimers = make([]dataflow.EventTime, n)
		for i := range t.eventTimers {
			t.eventTimers[i] = dataflow.EventTime(d.varint())
		}
	}
	if n := d.length(); n > 0 {
		t.procTimers = make([]int64, n)
		for i := range t.procTimers {
			t.procTimers[i] = d.varint()
		}
	}
	if n := d.length(); n > 0 {
		t.nodes = make([]nodeState, n)
		for i := range t.nodes {
			f := d.u8()
			t.nodes[i].finished = f&nodeFinished != 0
			t.nodes[i].armed = f&nodeArmed != 0
			t.nodes[i].count = d.varint()
			if t.nodes[i].armed {
				t.nodes[i].deadline = d.varint()
			}
		}
	}
	switch {
	case d.err != nil:
		return d.err
	case len(d.b) != 0:
		return fmt.Errorf("%w: %d trailing bytes", ErrCorruptState, len(d.b))
	case t.paneStart > t.n:
		return fmt.Errorf("%w: pane starts at element %d of %d", ErrCorruptState, t.paneStart, t.n)
	case !slices.IsSorted(t.eventTimers) || !slices.IsSorted(t.procTimers):
		return fmt.Errorf("%w: timers out of order", ErrCorruptState)
	case t.hasLastPane && (t.lastPane.Timing < dataflow.PaneEarly || t.lastPane.Timing > dataflow.PaneLate):
		return fmt.Errorf("%w: pane timing %d", ErrCorruptState, t.lastPane.Timing)
	}
	*s = t
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or malformed %s", ErrCorruptState, what)
	}
	d.b = nil
}

func (d *decoder) u8() byte {
	if len(d.b) < 1 {
		d.fail("byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.fail("fingerprint")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count decodes a non-negative element count.
func (d *decoder) count() int64 {
	v := d.uvarint()
	if v > 1<<62 {
		d.fail("count")
		return 0
	}
	return int64(v)
}

// length decodes the length of a list, which needs at least one byte per entry.
func (d *decoder) length() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.fail("length")
		return 0
	}
	return int(v)
}
