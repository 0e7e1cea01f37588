package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"slices"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Timer is a pending timer of one key of a stage.
type Timer struct {
	Key []byte // the encoded user key
	dataflow.TimerData
}

// timerIndexKey builds, in the store's index buffer, the timer's key in the
// stage's time-ordered index.
func (st *Stage) timerIndexKey(d dataflow.TimeDomain, at dataflow.EventTime, kg uint16, key []byte, w dataflow.Window, family, tag string) []byte {
	s := st.s
	k := st.globalPrefix(s.ibuf[:0], nsTimerIndex)
	k = append(k, byte(d))
	k = appendTime(k, at)
	k = appendKG(k, kg)
	k = appendLP(k, key)
	k = appendWindow(k, w)
	k = appendLP(appendLP(k, family), tag)
	s.ibuf = k
	return k
}

func (st *Stage) domainPrefix(d dataflow.TimeDomain) []byte {
	return append(st.globalPrefix(nil, nsTimerIndex), byte(d))
}

// lowerFloor keeps invariant 5 when a timer is indexed at ik.
func (st *Stage) lowerFloor(d dataflow.TimeDomain, ik []byte) {
	if f := st.floor[d]; f != nil && bytes.Compare(ik, f) < 0 {
		st.floor[d] = append(f[:0], ik...)
	}
}

// indexTimer adds the index entry ik (of domain d) with the timer's hold:
// to the stage's in-memory index, or, with the cache off, to the batch.
func (st *Stage) indexTimer(d dataflow.TimeDomain, ik, hold []byte) error {
	s := st.s
	if s.cache.budget == 0 {
		if err := s.batch.Set(ik, hold, nil); err != nil {
			return fmt.Errorf("state: stage %q: set timer: %w", st.name, err)
		}
		return nil
	}
	st.mem[d].add(ik, hold)
	if m0, m1 := &st.mem[0], &st.mem[1]; m0.len()+m1.len() > maxMemTimers || m0.bytes+m1.bytes > s.cache.budget/4 {
		return st.spillTimers()
	}
	return nil
}

// maxMemTimers bounds the timers of a stage's in-memory index, which
// DueTimers merges with the batch's: past it they go to the batch, whose
// index keeps them in order as they come.
const maxMemTimers = 32 << 10

// unindex deletes the index entry ik of a live timer of domain d.
func (st *Stage) unindex(d dataflow.TimeDomain, ik []byte) error {
	if st.mem[d].remove(ik) {
		return nil
	}
	if err := st.s.batch.Delete(ik, nil); err != nil {
		return fmt.Errorf("state: stage %q: delete timer: %w", st.name, err)
	}
	return nil
}

// spillTimers writes the in-memory index to the batch (or where the cache
// spills).
func (st *Stage) spillTimers() error {
	b := st.s.spillBatch()
	for d := range st.mem {
		m := &st.mem[d]
		for k, v := range m.live {
			if err := b.Set([]byte(k), v[:], nil); err != nil {
				return fmt.Errorf("state: stage %q: write timers: %w", st.name, err)
			}
		}
		m.reset()
	}
	return nil
}

// unindexTimer deletes the timer under primary key pk (if it is set) and
// its index and hold entries.
func (st *Stage) unindexTimer(sc scope, pk []byte, kg uint16, key []byte, w dataflow.Window, family, tag string) error {
	s := st.s
	old, ok, err := s.getPoint(sc, pk)
	if err != nil || !ok {
		return err
	}
	if len(old) != 17 {
		return fmt.Errorf("state: stage %q: bad timer record %x", st.name, old)
	}
	d := dataflow.TimeDomain(old[0])
	at := dataflow.EventTime(binary.BigEndian.Uint64(old[1:]))
	hold := dataflow.EventTime(binary.BigEndian.Uint64(old[9:]))
	if err := s.deletePoint(sc, pk, true /* writeBack */); err != nil {
		return err
	}
	if err := st.unindex(d, st.timerIndexKey(d, at, kg, key, w, family, tag)); err != nil {
		return err
	}
	return st.adjustHold(hold, -1)
}

// adjustHold adds delta to the number of pending timers whose output
// timestamp is hold. The counts, one key per distinct hold, give the
// stage's watermark hold with one seek over few keys.
func (st *Stage) adjustHold(hold dataflow.EventTime, delta int) error {
	s := st.s
	k := appendTime(st.globalPrefix(s.hbuf[:0], nsHolds), hold)
	s.hbuf = k
	sc := st.globalScope()
	v, ok, err := s.getPoint(sc, k)
	if err != nil {
		return err
	}
	var n uint64
	if ok {
		var w int
		if n, w = binary.Uvarint(v); w <= 0 {
			return fmt.Errorf("state: stage %q: bad hold count %x", st.name, v)
		}
	}
	n += uint64(delta)
	// WatermarkHold spills the counts that became unwritten since it last
	// ran (written back, a count becomes unwritten here and nowhere else).
	if e, ok := s.cache.get(sc, k); s.cache.budget > 0 && !st.spillAllHolds && (!ok || !e.unwritten()) {
		if len(st.holdsToSpill) < maxHoldsToSpill {
			st.holdsToSpill = append(st.holdsToSpill, string(k))
		} else {
			st.spillAllHolds = true // many: WatermarkHold goes through them all
		}
	}
	if n == 0 {
		return s.deletePoint(sc, k, true /* writeBack */)
	}
	var buf [binary.MaxVarintLen64]byte
	return s.setPoint(sc, k, buf[:binary.PutUvarint(buf[:], n)], true /* writeBack */)
}

// maxHoldsToSpill bounds Stage.holdsToSpill.
const maxHoldsToSpill = 4096

// WatermarkHold returns the earliest output timestamp (TimerData.Hold) of
// the stage's pending timers of both domains, and whether there is one: the
// stage's output watermark may not pass it.
func (st *Stage) WatermarkHold() (dataflow.EventTime, bool, error) {
	s := st.s
	// The counts are written back: the iteration needs them in the batch.
	sc := st.globalScope()
	if st.spillAllHolds {
		if err := s.cache.spillScope(sc, nil); err != nil {
			return 0, false, err
		}
	}
	for _, k := range st.holdsToSpill {
		if err := s.cache.spillEntry(sc, []byte(k)); err != nil {
			return 0, false, err
		}
	}
	clear(st.holdsToSpill)
	st.holdsToSpill, st.spillAllHolds = st.holdsToSpill[:0], false
	p := st.globalPrefix(nil, nsHolds)
	it, err := s.newIter(p, prefixEnd(p))
	if err != nil {
		return 0, false, err
	}
	var hold dataflow.EventTime
	found := it.First()
	if found {
		hold = decodeTime(it.Key()[len(p):])
	}
	if err := s.closeIter(it); err != nil {
		return 0, false, err
	}
	return hold, found, nil
}

// parseTimerIndex decodes an entry of the timer index; k starts after the
// domain byte.
func (st *Stage) parseTimerIndex(d dataflow.TimeDomain, k, v []byte) (Timer, error) {
	bad := func() error { return fmt.Errorf("state: stage %q: bad timer index entry %x", st.name, k) }
	if len(k) < 10 || len(v) != 8 {
		return Timer{}, bad()
	}
	t := Timer{TimerData: dataflow.TimerData{Domain: d, FireAt: decodeTime(k), Hold: dataflow.EventTime(binary.BigEndian.Uint64(v))}}
	key, rest, err := readLP(k[10:])
	if err != nil || len(rest) < 16 {
		return Timer{}, bad()
	}
	t.Key = bytes.Clone(key)
	t.Window = decodeWindow(rest)
	family, rest, err := readLP(rest[16:])
	if err != nil {
		return Timer{}, bad()
	}
	tag, rest, err := readLP(rest)
	if err != nil || len(rest) != 0 {
		return Timer{}, bad()
	}
	t.Family, t.Tag = string(family), string(tag)
	return t, nil
}

// MinTimer returns the stage's earliest timer of domain d (by fire time,
// then key group, key, window, family and tag), without removing it.
func (st *Stage) MinTimer(d dataflow.TimeDomain) (Timer, bool, error) {
	s := st.s
	dp := st.domainPrefix(d)
	lo := dp
	if f := st.floor[d]; f != nil {
		lo = f
	}
	hi := prefixEnd(dp)
	it, err := s.newIter(lo, hi)
	if err != nil {
		return Timer{}, false, err
	}
	var t Timer
	found := it.First()
	mem := st.mem[d].seek(lo, hi, 1, nil)
	switch {
	case len(mem) > 0 && (!found || mem[0].k < string(it.Key())):
		found = true
		t, err = st.parseTimerIndex(d, []byte(mem[0].k[len(dp):]), mem[0].v[:])
	case found:
		var v []byte
		if v, err = it.ValueAndErr(); err == nil {
			t, err = st.parseTimerIndex(d, it.Key()[len(dp):], v)
		}
	}
	if cerr := s.closeIter(it); err == nil {
		err = cerr
	}
	if err != nil {
		return Timer{}, false, err
	}
	return t, found, nil
}

// dueChunk is how many due timers DueTimers reads per seek: enough that
// the seek is amortized, few enough that re-reading after the consumer sets
// a timer wastes little.
const dueChunk = 64

// DueTimers removes and yields, in order of fire time (then key group, key,
// window, family and tag), the stage's timers of domain d that are due
// before upTo: FireAt < upTo, Beam's rule that a timer fires once the clock
// is past its time. Each timer is removed before it is yielded, so the
// consumer may set it again. Timers the consumer sets that are due before
// upTo are yielded by the same iteration, in order. Single use.
func (st *Stage) DueTimers(d dataflow.TimeDomain, upTo dataflow.EventTime) iter.Seq2[Timer, error] {
	return func(yield func(Timer, error) bool) {
		s := st.s
		dp := st.domainPrefix(d)
		end := appendTime(bytes.Clone(dp), upTo)
		type due struct {
			ik []byte
			t  Timer
		}
		var buf []due
		var mem []memEntry
		for {
			lo := dp
			if f := st.floor[d]; f != nil {
				lo = f
			}
			if bytes.Compare(lo, end) >= 0 {
				return
			}
			it, err := s.newIter(lo, end)
			if err != nil {
				yield(Timer{}, err)
				return
			}
			buf = buf[:0]
			for ok := it.First(); ok && len(buf) < dueChunk; ok = it.Next() {
				var v []byte
				var t Timer
				if v, err = it.ValueAndErr(); err == nil {
					t, err = st.parseTimerIndex(d, it.Key()[len(dp):], v)
				}
				if err != nil {
					break
				}
				buf = append(buf, due{ik: bytes.Clone(it.Key()), t: t})
			}
			if cerr := s.closeIter(it); err == nil {
				err = cerr
			}
			if err != nil {
				yield(Timer{}, err)
				return
			}
			// The in-memory index's first due entries, merged in.
			if mem = st.mem[d].seek(lo, end, dueChunk, mem[:0]); len(mem) > 0 {
				for _, e := range mem {
					ik := []byte(e.k)
					t, err := st.parseTimerIndex(d, ik[len(dp):], e.v[:])
					if err != nil {
						yield(Timer{}, err)
						return
					}
					buf = append(buf, due{ik: ik, t: t})
				}
				if len(buf) > len(mem) {
					slices.SortFunc(buf, func(a, b due) int { return bytes.Compare(a.ik, b.ik) })
					buf = buf[:min(len(buf), dueChunk)]
				}
			}
			if len(buf) == 0 {
				st.floor[d] = end // nothing live below end (invariant 5)
				return
			}
			gen := s.timerGen
			for _, e := range buf {
				if s.timerGen != gen {
					break // the consumer set or cleared timers: read again
				}
				if err := st.pop(e.ik, e.t); err != nil {
					yield(Timer{}, err)
					return
				}
				st.floor[d] = append(append(st.floor[d][:0], e.ik...), 0) // e.ik's successor
				if !yield(e.t, nil) {
					return
				}
			}
		}
	}
}

// pop deletes a due timer: its index entry ik, its record and its hold.
func (st *Stage) pop(ik []byte, t Timer) error {
	s := st.s
	if err := st.unindex(t.Domain, ik); err != nil {
		return err
	}
	kg := s.KeyGroup(t.Key)
	k := st.appendPrefix(s.kbuf[:0], kg, kindTimer, "", t.Window, t.Key)
	k = appendLP(appendLP(k, t.Family), t.Tag)
	s.kbuf = k
	if err := s.deletePoint(st.scope(t.Window), k, true /* writeBack */); err != nil {
		return err
	}
	if err := st.adjustHold(t.Hold, -1); err != nil {
		return err
	}
	return s.wrote()
}

// dropTimerIndex deletes the index and hold entries of the timers whose
// records lie in [start, end) (the timers of one window and key group),
// for ExpireWindows, which then deletes the records with a range deletion.
func (st *Stage) dropTimerIndex(start, end []byte) error {
	s := st.s
	it, err := s.newIter(start, end)
	if err != nil {
		return err
	}
	kg := binary.BigEndian.Uint16(start)
	w := decodeWindow(start[len(start)-16:])
	type rec struct {
		key, family, tag []byte
		v                []byte
	}
	var recs []rec
	for ok := it.First(); ok; ok = it.Next() {
		var r rec
		var rest []byte
		r.key, rest, err = readLP(it.Key()[len(start):])
		if err == nil {
			r.family, rest, err = readLP(rest)
		}
		if err == nil {
			r.tag, _, err = readLP(rest)
		}
		if err == nil {
			r.v, err = it.ValueAndErr()
		}
		if err == nil && len(r.v) != 17 {
			err = fmt.Errorf("state: stage %q: bad timer record %x", st.name, r.v)
		}
		if err != nil {
			break
		}
		r.key, r.family, r.tag, r.v = bytes.Clone(r.key), bytes.Clone(r.family), bytes.Clone(r.tag), bytes.Clone(r.v)
		recs = append(recs, r)
	}
	if cerr := s.closeIter(it); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, r := range recs {
		d := dataflow.TimeDomain(r.v[0])
		at := dataflow.EventTime(binary.BigEndian.Uint64(r.v[1:]))
		hold := dataflow.EventTime(binary.BigEndian.Uint64(r.v[9:]))
		if err := st.unindex(d, st.timerIndexKey(d, at, kg, r.key, w, string(r.family), string(r.tag))); err != nil {
			return err
		}
		if err := st.adjustHold(hold, -1); err != nil {
			return err
		}
	}
	return nil
}

// isTimerKey reports whether k is the key of one of the stage's timer
// records (kind 3).
func (st *Stage) isTimerKey(k string) bool {
	n := len(st.lpName)
	return len(k) > 2+n && k[0] != globalPrefix && k[2:2+n] == string(st.lpName) && k[2+n] == kindTimer
}

// dropCachedTimers deletes the index and hold entries of the timers of a
// window whose scope the cache holds whole (cache.complete), for
// ExpireWindows, reading their records from the cache.
func (st *Stage) dropCachedTimers(sc scope) error {
	s := st.s
	type rec struct {
		kg               uint16
		key, family, tag []byte
		v                []byte
	}
	var recs []rec
	n := len(st.lpName)
	for k, e := range s.cache.scopes[sc] {
		if !e.present || e.buffer || !st.isTimerKey(k) {
			continue
		}
		bad := func() error { return fmt.Errorf("state: stage %q: bad timer record %x=%x", st.name, k, e.val) }
		if len(k) < 2+n+1+16 || len(e.val) != 17 {
			return bad()
		}
		r := rec{kg: binary.BigEndian.Uint16([]byte(k[:2])), v: e.val}
		var rest []byte
		var err error
		r.key, rest, err = readLP([]byte(k[2+n+1+16:]))
		if err == nil {
			r.family, rest, err = readLP(rest)
		}
		if err == nil {
			r.tag, rest, err = readLP(rest)
		}
		if err != nil || len(rest) != 0 {
			return bad()
		}
		recs = append(recs, r)
	}
	w := sc.w
	for _, r := range recs {
		d := dataflow.TimeDomain(r.v[0])
		at := dataflow.EventTime(binary.BigEndian.Uint64(r.v[1:]))
		hold := dataflow.EventTime(binary.BigEndian.Uint64(r.v[9:]))
		if err := st.unindex(d, st.timerIndexKey(d, at, r.kg, r.key, w, string(r.family), string(r.tag))); err != nil {
			return err
		}
		if err := st.adjustHold(hold, -1); err != nil {
			return err
		}
	}
	return nil
}
