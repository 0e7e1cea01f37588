package trigger

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// kind is the state machine that evaluates one node of a trigger tree.
type kind uint8

const (
	kindDefault     kind = iota + 1 // DefaultTriggerStateMachine
	kindEndOfWindow                 // AfterWatermarkStateMachine.FromEndOfWindow
	kindEarlyLate                   // AfterWatermarkStateMachine.AfterWatermarkEarlyAndLate
	kindCount                       // AfterPaneStateMachine.elementCountAtLeast
	kindProcTime                    // AfterProcessingTimeStateMachine.pastFirstElementInPane().plusDelayOf
	kindRepeat                      // RepeatedlyStateMachine
	kindAfterEach                   // AfterEachStateMachine
	kindAfterFirst                  // AfterFirstStateMachine (AfterAny)
	kindAfterAll                    // AfterAllStateMachine
	kindOrFinally                   // OrFinallyStateMachine
	kindAlways                      // ReshuffleTriggerStateMachine, which Beam runs for Always
	kindNever                       // NeverStateMachine
)

// node is one compiled node of a trigger tree. Nodes are kept in preorder: a
// node's id is its position, its subtree is the ids [id, end).
type node struct {
	kind    kind
	subs    []int // ids of the sub-triggers, in order
	end     int   // first id after this node's subtree
	count   int64 // kindCount: elements needed
	delayMs int64 // kindProcTime: delay after the pane's first element
	hasLate bool  // kindEarlyLate: subs[1] is the late trigger
}

// Sub-trigger positions, as in Beam's state machines.
const (
	early   = 0 // AfterWatermarkEarlyAndLate
	late    = 1
	actual  = 0 // OrFinally
	until   = 1
	repeats = 0 // Repeatedly
)

// compile flattens a trigger spec into preorder nodes.
func compile(t dataflow.Trigger) ([]node, error) {
	var nodes []node
	var add func(t dataflow.Trigger) (int, error)
	add = func(t dataflow.Trigger) (int, error) {
		id := len(nodes)
		nodes = append(nodes, node{})
		var n node
		var subs []dataflow.Trigger
		switch t := t.(type) {
		case dataflow.DefaultTrigger:
			n.kind = kindDefault
		case dataflow.AfterWatermarkTrigger:
			if t.Early == nil && t.Late == nil {
				n.kind = kindEndOfWindow
				break
			}
			// Beam's AfterWatermark.withLateFirings alone runs Never as the early trigger.
			n.kind = kindEarlyLate
			e := t.Early
			if e == nil {
				e = dataflow.NeverTrigger{}
			}
			subs = []dataflow.Trigger{e}
			if t.Late != nil {
				subs = append(subs, t.Late)
				n.hasLate = true
			}
		case dataflow.AfterCountTrigger:
			n.kind = kindCount
			n.count = int64(t.N)
		case dataflow.AfterProcessingTimeTrigger:
			if t.Delay%time.Millisecond != 0 {
				return 0, fmt.Errorf("%v: delay is not a whole number of milliseconds (processing time has Beam's millisecond precision)", t)
			}
			n.kind = kindProcTime
			n.delayMs = t.Delay.Milliseconds()
		case dataflow.RepeatTrigger:
			n.kind = kindRepeat
			subs = []dataflow.Trigger{t.Sub}
		case dataflow.AfterEachTrigger:
			n.kind = kindAfterEach
			subs = t.Subs
		case dataflow.AfterAnyTrigger:
			n.kind = kindAfterFirst
			subs = t.Subs
		case dataflow.AfterAllTrigger:
			n.kind = kindAfterAll
			subs = t.Subs
		case dataflow.OrFinallyTrigger:
			n.kind = kindOrFinally
			subs = []dataflow.Trigger{t.Main, t.Finally}
		case dataflow.AlwaysTrigger:
			n.kind = kindAlways
		case dataflow.NeverTrigger:
			n.kind = kindNever
		default:
			return 0, fmt.Errorf("unsupported trigger %T", t)
		}
		for _, sub := range subs {
			c, err := add(sub)
			if err != nil {
				return 0, err
			}
			n.subs = append(n.subs, c)
		}
		n.end = len(nodes)
		nodes[id] = n
		return id, nil
	}
	if _, err := add(t); err != nil {
		return nil, err
	}
	return nodes, nil
}

// fingerprint identifies the shape of a compiled tree, so that a state saved
// under one trigger is not restored under another.
func fingerprint(nodes []node) uint64 {
	h := fnv.New64a()
	var b [1 + 3*8]byte
	for _, n := range nodes {
		b[0] = byte(n.kind)
		putUint64(b[1:], uint64(len(n.subs)))
		putUint64(b[9:], uint64(n.count))
		putUint64(b[17:], uint64(n.delayMs))
		h.Write(b[:])
	}
	return h.Sum64()
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// machine runs the trigger tree of one window at one instant: the input
// watermark wm (Beam's currentEventTime) and the processing time now in Unix
// milliseconds (currentProcessingTime).
type machine struct {
	nodes   []node
	st      []nodeState
	s       *WindowState
	merging bool
	wm      dataflow.EventTime
	now     int64
}

func (m *machine) endOfWindowReached() bool { return m.wm > m.s.window.MaxTimestamp() }

func (m *machine) finished(id int) bool { return m.st[id].finished }

func (m *machine) sub(id, i int) int { return m.nodes[id].subs[i] }

// firstUnfinished returns the first unfinished sub-trigger of id, or -1.
func (m *machine) firstUnfinished(id int) int {
	for _, c := range m.nodes[id].subs {
		if !m.st[c].finished {
			return c
		}
	}
	return -1
}

// resetTree clears the finished bits of the subtree and then its state, as
// Beam's TriggerInfo.resetTree does.
func (m *machine) resetTree(id int) {
	for i := id; i < m.nodes[id].end; i++ {
		m.st[i].finished = false
	}
	m.clear(id)
}

// onElement is TriggerStateMachine.onElement.
func (m *machine) onElement(id int) {
	n := &m.nodes[id]
	switch n.kind {
	case kindDefault, kindEndOfWindow:
		if !m.endOfWindowReached() {
			m.s.addEventTimer(m.s.window.MaxTimestamp())
		}
	case kindEarlyLate:
		if !m.endOfWindowReached() {
			m.s.addEventTimer(m.s.window.MaxTimestamp())
		}
		if m.merging {
			for _, c := range n.subs {
				m.onElement(c)
			}
		} else if c := m.firstUnfinished(id); c >= 0 {
			m.onElement(c)
		}
	case kindCount:
		m.st[id].count++
	case kindProcTime:
		// Processing time only advances, so a later element never needs an earlier deadline.
		if !m.st[id].armed {
			m.st[id].armed = true
			m.st[id].deadline = m.now + n.delayMs
			m.s.addProcTimer(m.st[id].deadline)
		}
	case kindRepeat, kindAfterFirst, kindOrFinally:
		for _, c := range n.subs {
			m.onElement(c)
		}
	case kindAfterEach:
		if m.merging {
			for _, c := range n.subs {
				m.onElement(c)
			}
		} else if c := m.firstUnfinished(id); c >= 0 {
			m.onElement(c)
		}
	case kindAfterAll:
		for _, c := range n.subs {
			if !m.st[c].finished {
				m.onElement(c)
			}
		}
	case kindAlways, kindNever:
	}
}

// shouldFire is TriggerStateMachine.shouldFire.
func (m *machine) shouldFire(id int) bool {
	n := &m.nodes[id]
	switch n.kind {
	case kindDefault, kindEndOfWindow:
		return m.endOfWindowReached()
	case kindEarlyLate:
		switch {
		case !m.finished(m.sub(id, early)):
			return m.shouldFire(m.sub(id, early)) || m.endOfWindowReached()
		case !n.hasLate:
			return false
		default:
			return m.shouldFire(m.sub(id, late))
		}
	case kindCount:
		return m.st[id].count >= n.count
	case kindProcTime:
		return m.st[id].armed && m.now > m.st[id].deadline
	case kindRepeat:
		return m.shouldFire(m.sub(id, repeats))
	case kindAfterEach:
		c := m.firstUnfinished(id)
		return c >= 0 && m.shouldFire(c)
	case kindAfterFirst:
		for _, c := range n.subs {
			if m.finished(c) || m.shouldFire(c) {
				return true
			}
		}
		return false
	case kindAfterAll:
		for _, c := range n.subs {
			if !m.finished(c) && !m.shouldFire(c) {
				return false
			}
		}
		return true
	case kindOrFinally:
		return m.shouldFire(m.sub(id, actual)) || m.shouldFire(m.sub(id, until))
	case kindAlways:
		return true
	}
	return false // kindNever
}

// onFire is TriggerStateMachine.onFire: it is called only when shouldFire(id)
// holds, and records whether the node has finished.
func (m *machine) onFire(id int) {
	n := &m.nodes[id]
	switch n.kind {
	case kindDefault, kindAlways:
		// Never finish.
	case kindEndOfWindow, kindNever:
		m.st[id].finished = true
	case kindEarlyLate:
		e := m.sub(id, early)
		switch {
		case !m.finished(e) && !m.endOfWindowReached():
			// An early firing; the early trigger repeats implicitly.
			m.onFire(e)
			m.resetTree(e)
		case !m.finished(e):
			// The on-time firing: the early trigger is done for good, the late one starts afresh.
			if m.shouldFire(e) {
				m.onFire(e)
			}
			m.st[e].finished = true
			m.clear(e)
			if n.hasLate {
				m.clear(m.sub(id, late))
			} else {
				m.st[id].finished = true
			}
		case n.hasLate:
			// A late firing; the late trigger repeats implicitly.
			l := m.sub(id, late)
			m.onFire(l)
			m.resetTree(l)
		default:
			m.st[id].finished = true
		}
	case kindCount, kindProcTime:
		// OnceTriggerStateMachine: clear, then finish.
		m.clear(id)
		m.st[id].finished = true
	case kindRepeat:
		c := m.sub(id, repeats)
		m.onFire(c)
		if m.finished(c) {
			m.resetTree(c)
		}
	case kindAfterEach:
		if c := m.firstUnfinished(id); c >= 0 {
			m.onFire(c)
		}
		if m.merging {
			for _, c := range n.subs {
				m.clear(c)
			}
		}
		m.st[id].finished = m.firstUnfinished(id) < 0
	case kindAfterFirst:
		for _, c := range n.subs {
			if m.shouldFire(c) {
				m.onFire(c)
			} else {
				// Whatever pane it was tracking is gone.
				m.clear(c)
			}
		}
		m.st[id].finished = true
	case kindAfterAll:
		for _, c := range n.subs {
			m.onFire(c)
		}
		m.st[id].finished = true
	case kindOrFinally:
		a, u := m.sub(id, actual), m.sub(id, until)
		if m.shouldFire(u) {
			m.onFire(u)
			m.clear(a)
		} else {
			// The until trigger keeps counting across firings of the actual one.
			m.onFire(a)
		}
		m.st[id].finished = m.finished(a) || m.finished(u)
	}
}

// clear is TriggerStateMachine.clear: it drops the subtree's state but keeps
// the finished bits.
func (m *machine) clear(id int) {
	switch m.nodes[id].kind {
	case kindCount:
		m.st[id].count = 0
	case kindProcTime:
		m.st[id].armed = false
		m.st[id].deadline = 0
	default:
		for _, c := range m.nodes[id].subs {
			m.clear(c)
		}
	}
}
