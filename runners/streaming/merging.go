package streaming

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/trigger"
)

// Merging windows (sessions) on the state store.
//
// A key's active sessions are one record in its global-window state. A
// session's trigger state and timers live under its (merged) window, as
// for other windows, but its elements live in buffers of their own, under
// the global window of a derived key, so that merging two sessions never
// moves an element: the merged session just takes both sessions' buffers.
// Each buffer remembers how many of its elements a firing has already
// emitted, which is all a pane needs: the reducer's panes are either every
// element of the window (accumulating) or those since the last firing
// (discarding). A session's buffers are dropped when it expires.

// sessions is the active sessions of one key.
type sessions struct {
	key    []byte
	list   []*session
	nextID uint64 // buffer ids
	dirty  bool
}

type session struct {
	w     df.Window
	homes []home
}

// home is one element buffer of a session.
type home struct {
	id      uint64
	n       int // elements appended
	emitted int // elements emitted by firings so far
}

// bufKey is the state key of buffer id of key: key | uvarint(id) | len(key).
func bufKey(dst, key []byte, id uint64) []byte {
	dst = append(dst[:0], key...)
	dst = binary.AppendUvarint(dst, id)
	return binary.AppendUvarint(dst, uint64(len(key)))
}

func (kp *keyedPart) sessionsOf(key []byte) (*sessions, error) {
	if a, ok := kp.active[string(key)]; ok {
		return a, nil
	}
	a := &sessions{key: bytes.Clone(key)}
	kp.be.Reset(key)
	b, ok, err := kp.be.Get(df.GlobalWindow, activeWindows, nil)
	if err != nil {
		return nil, kp.fail(err)
	}
	if ok {
		if err := a.decode(b); err != nil {
			return nil, kp.fail(fmt.Errorf("active sessions of a key: %w", err))
		}
	}
	kp.active[string(a.key)] = a
	return a, nil
}

func (a *sessions) encode(b []byte) []byte {
	b = binary.AppendUvarint(b, a.nextID)
	b = binary.AppendUvarint(b, uint64(len(a.list)))
	for _, s := range a.list {
		b = binary.AppendVarint(b, int64(s.w.Start))
		b = binary.AppendVarint(b, int64(s.w.End))
		b = binary.AppendUvarint(b, uint64(len(s.homes)))
		for _, h := range s.homes {
			b = binary.AppendUvarint(b, h.id)
			b = binary.AppendUvarint(b, uint64(h.n))
			b = binary.AppendUvarint(b, uint64(h.emitted))
		}
	}
	return b
}

var errCorruptSessions = errors.New("corrupt record")

func (a *sessions) decode(b []byte) error {
	bad := errCorruptSessions
	u := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			panic(bad)
		}
		b = b[n:]
		return v
	}
	i := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			panic(bad)
		}
		b = b[n:]
		return v
	}
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = bad
			}
		}()
		a.nextID = u()
		for range u() {
			s := &session{w: df.Window{Start: df.EventTime(i()), End: df.EventTime(i())}}
			for range u() {
				s.homes = append(s.homes, home{id: u(), n: int(u()), emitted: int(u())})
			}
			a.list = append(a.list, s)
		}
	}()
	if err == nil && len(b) != 0 {
		err = bad
	}
	return err
}

func (kp *keyedPart) writeSessions() error {
	for _, a := range kp.active {
		if err := kp.writeSessionsOf(a); err != nil {
			return err
		}
	}
	return nil
}

func (kp *keyedPart) writeSessionsOf(a *sessions) error {
	if !a.dirty {
		return nil
	}
	kp.be.Reset(a.key)
	var err error
	if len(a.list) == 0 {
		err = kp.be.Delete(df.GlobalWindow, activeWindows, nil)
	} else {
		kp.vbuf = a.encode(kp.vbuf[:0])
		err = kp.be.Put(df.GlobalWindow, activeWindows, nil, kp.vbuf)
	}
	if err != nil {
		return kp.fail(err)
	}
	a.dirty = false
	return nil
}

// loadSession loads the window state of session w of key.
func (kp *keyedPart) loadSession(key []byte, w df.Window) (*gwin, error) {
	a, err := kp.sessionsOf(key)
	if err != nil {
		return nil, err
	}
	g, err := kp.load(key, w)
	if err != nil {
		return nil, err
	}
	for _, s := range a.list {
		if s.w == w {
			g.sess = s
			return g, nil
		}
	}
	return nil, kp.fail(fmt.Errorf("session %v of a key has window state but is not active", w))
}

// mergeInto finds the session an element with window w belongs to among
// the key's active sessions, merging the sessions it overlaps, as Beam's
// ReduceFnRunner does: the merged session's trigger state is the merge of
// theirs and its elements are theirs.
func (kp *keyedPart) mergeInto(key []byte, w df.Window) (*gwin, error) {
	a, err := kp.sessionsOf(key)
	if err != nil {
		return nil, err
	}
	merged := w
	var olds []*session
	for changed := true; changed; {
		changed = false
		for _, s := range a.list {
			if s.w.Intersects(merged) && !slices.Contains(olds, s) {
				merged = merged.Span(s.w)
				olds = append(olds, s)
				changed = true
			}
		}
	}
	switch {
	case len(olds) == 0:
		s := &session{w: merged, homes: []home{{id: a.nextID}}}
		a.nextID++
		a.list = append(a.list, s)
		a.dirty = true
		g, err := kp.load(key, merged)
		if err != nil {
			return nil, err
		}
		g.sess = s
		return g, nil
	case len(olds) == 1 && olds[0].w == merged:
		g, err := kp.load(key, merged)
		if err != nil {
			return nil, err
		}
		g.sess = olds[0]
		return g, nil
	}
	states := make([]*trigger.WindowState, len(olds))
	ns := &session{w: merged}
	for i, s := range olds {
		og, err := kp.load(key, s.w)
		if err != nil {
			return nil, err
		}
		states[i] = &og.st
		ns.homes = append(ns.homes, s.homes...)
	}
	st := kp.sr.red.Merge(merged, states...)
	for _, s := range olds {
		og, _ := kp.load(key, s.w)
		og.gone = true
		// Only trigger state lives under a session's window.
		if err := kp.stg.DropWindow(key, s.w); err != nil {
			return nil, kp.fail(err)
		}
		kp.be.Reset(key)
		if og.hasEv {
			if err := kp.be.ClearTimer(s.w, gbkEventTimer, ""); err != nil {
				return nil, kp.fail(err)
			}
		}
		if og.hasPt {
			if err := kp.be.ClearTimer(s.w, gbkProcTimer, ""); err != nil {
				return nil, kp.fail(err)
			}
		}
	}
	a.list = slices.DeleteFunc(a.list, func(s *session) bool { return slices.Contains(olds, s) })
	a.list = append(a.list, ns)
	a.dirty = true
	kp.kbuf = winMapKey(kp.kbuf, key, merged)
	g := &gwin{key: bytes.Clone(key), w: merged, st: st, dirty: true, sess: ns}
	kp.wins[string(kp.kbuf)] = g
	kp.order = append(kp.order, g)
	return g, nil
}

// appendToSession adds an accepted element to the session's first buffer.
func (kp *keyedPart) appendToSession(g *gwin, value []byte) error {
	h := &g.sess.homes[0]
	kp.sbuf = bufKey(kp.sbuf, g.key, h.id)
	if err := kp.stg.AppendElement(kp.sbuf, df.GlobalWindow, value); err != nil {
		return err
	}
	h.n++
	kp.active[string(g.key)].dirty = true
	return nil
}

// emitSession sends the panes that fired in a session.
func (kp *keyedPart) emitSession(g *gwin, panes []trigger.Pane) error {
	s := g.sess
	total := 0
	for _, h := range s.homes {
		total += h.n
	}
	for _, p := range panes {
		emitted := 0
		for _, h := range s.homes {
			emitted += h.emitted
		}
		// The reducer's panes hold every element of the window
		// (accumulating) or those since the last firing (discarding).
		if p.To != total || (p.From != 0 && p.From != emitted) {
			return kp.fail(fmt.Errorf("session %v: pane [%d, %d) of %d elements, %d emitted before", g.w, p.From, p.To, total, emitted))
		}
		vals := make(encValues, 0, p.To-p.From)
		for _, h := range s.homes {
			from := 0
			if p.From != 0 {
				from = h.emitted
			}
			kp.sbuf = bufKey(kp.sbuf, g.key, h.id)
			// The values stay valid: the sink may keep them until it flushes.
			v, err := kp.stg.AppendElements(vals, kp.sbuf, df.GlobalWindow, from, math.MaxInt)
			if err != nil {
				return kp.fail(err)
			}
			vals = v
		}
		if len(vals) != p.To-p.From {
			return kp.fail(fmt.Errorf("session %v: pane [%d, %d) found %d elements", g.w, p.From, p.To, len(vals)))
		}
		if err := kp.sink.Emit(g.key, vals, p.Timestamp, g.w, p.Info); err != nil {
			return err
		}
		for i := range s.homes {
			s.homes[i].emitted = s.homes[i].n
		}
		kp.active[string(g.key)].dirty = true
	}
	return nil
}

// expireSession drops an expired session's buffers and forgets it.
func (kp *keyedPart) expireSession(g *gwin) error {
	a, err := kp.sessionsOf(g.key)
	if err != nil {
		return err
	}
	for _, h := range g.sess.homes {
		kp.sbuf = bufKey(kp.sbuf, g.key, h.id)
		if err := kp.stg.DropWindow(kp.sbuf, df.GlobalWindow); err != nil {
			return kp.fail(err)
		}
	}
	a.list = slices.DeleteFunc(a.list, func(s *session) bool { return s == g.sess })
	a.dirty = true
	return kp.writeSessionsOf(a)
}
