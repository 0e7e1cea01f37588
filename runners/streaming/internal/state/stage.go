package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Stage is the state of one stage of the job (a GroupByKey or a stateful
// ParDo): window buffers and trigger state, user state and timers, all
// under keys that carry the stage's name. It shares its Store's batch and
// cache and, like the Store, is used by one goroutine at a time.
type Stage struct {
	s      *Store
	id     uint32 // in-memory id, for cache scopes only
	name   string
	opts   StageOptions
	lpName []byte // the length-prefixed name, as keys carry it

	// floor[domain] is a timer-index key below which the index of that
	// domain holds no live timer (doc.go, invariant 5); nil means the start
	// of the domain. DueTimers and MinTimer start there instead of stepping
	// over the tombstones of every timer already fired.
	floor [2][]byte
	// mem[domain] is the part of the timer index not yet in the batch
	// (timer_mem.go); a live timer's index entry is in mem or in the
	// batch and Pebble, never in both.
	mem [2]memIndex
	// holdsToSpill lists the hold counts (keys) that became unwritten in
	// the cache since WatermarkHold last spilled them: every unwritten
	// count is on it, unless spillAllHolds is set (the list grew past
	// maxHoldsToSpill; WatermarkHold then spills the whole global scope).
	holdsToSpill  []string
	spillAllHolds bool
}

// Name returns the stage's name.
func (st *Stage) Name() string { return st.name }

func (st *Stage) scope(w dataflow.Window) scope { return scope{stage: st.id, w: w} }
func (st *Stage) globalScope() scope            { return scope{stage: st.id, global: true} }

// gcTime is when the state of w expires (the watermark must pass it):
// Beam's garbage-collection time, as trigger.Reducer computes it, the end of
// the window plus the allowed lateness but no later than the end of the
// global window.
func (st *Stage) gcTime(w dataflow.Window) dataflow.EventTime {
	mt := w.MaxTimestamp()
	if mt > dataflow.EndOfGlobalWindow-st.opts.AllowedLateness {
		return dataflow.EndOfGlobalWindow
	}
	return mt + st.opts.AllowedLateness
}

// appendPrefix appends kg | lp(stage) | kind [| lp(id)] | window | lp(key):
// the prefix of every key of one key's state of one kind (and id) in w.
func (st *Stage) appendPrefix(b []byte, kg uint16, kind byte, id string, w dataflow.Window, key []byte) []byte {
	b = appendKG(b, kg)
	b = append(b, st.lpName...)
	b = append(b, kind)
	if kind == kindUser {
		b = appendLP(b, id)
	}
	b = appendWindow(b, w)
	return appendLP(b, key)
}

// appendKindID appends kind [| lp(id)]: the part of a key the window
// index records, beside the key group, to find the state of a window.
func appendKindID(b []byte, kind byte, id string) []byte {
	b = append(b, kind)
	if kind == kindUser {
		b = appendLP(b, id)
	}
	return b
}

func (st *Stage) globalPrefix(b []byte, ns byte) []byte {
	return append(append(b, globalPrefix, ns), st.lpName...)
}

// markWindow records in the window index that the stage holds state of
// kind/id in window w and key group kg, once per window, kind and key group
// (the marker's presence is cached in the window's scope, which is dropped
// when the window expires).
func (st *Stage) markWindow(kg uint16, kind byte, id string, w dataflow.Window) error {
	s := st.s
	m := st.globalPrefix(s.mbuf[:0], nsWindowIndex)
	m = appendTime(m, st.gcTime(w))
	m = appendWindow(m, w)
	m = appendKG(m, kg)
	m = appendKindID(m, kind, id)
	s.mbuf = m
	sc := st.scope(w)
	if _, ok := s.cache.get(sc, m); ok {
		return nil
	}
	return s.setPoint(sc, m, nil, false /* writeBack */)
}

// maxChunkBytes bounds the size of a chunk: a buffer's pending values are
// written as chunks of about this size (a single larger value makes a
// chunk of its own), so that Pebble's per-entry cost is paid per chunk,
// not per element, and no value in Pebble grows with the buffer. A chunk
// is the values, each uvarint length-prefixed.
const maxChunkBytes = 16 << 10

// chunkValues calls fn for each value of a chunk, in order, until fn
// returns false.
func chunkValues(chunk []byte, fn func([]byte) bool) error {
	for len(chunk) > 0 {
		l, w := binary.Uvarint(chunk)
		if w <= 0 || uint64(len(chunk)-w) < l {
			return fmt.Errorf("state: corrupt chunk")
		}
		end := w + int(l)
		if !fn(chunk[w:end:end]) { // capped: appending to a value copies it
			return nil
		}
		chunk = chunk[w+int(l):]
	}
	return nil
}

// bufAppend appends v to the buffer under prefix. The value stays in the
// cache until the buffer is evicted, iterated (unless the cache holds it
// whole), flushed or checkpointed; no read is needed, whatever the buffer
// already holds.
func (s *Store) bufAppend(sc scope, prefix, v []byte) error {
	if s.cache.budget > 0 {
		s.cache.appendValue(sc, prefix, v)
		return nil
	}
	// No cache: the value is a chunk of its own.
	e := entry{buffer: true, pending: 1}
	e.val = binary.AppendUvarint(e.val, uint64(len(v)))
	e.val = append(e.val, v...)
	return s.writeChunk(prefix, &e)
}

// writeChunk writes a buffer's pending values to the batch as chunks of
// about maxChunkBytes, each keyed by the store's next sequence number: a
// buffer's chunks are written in the order their values were appended, so
// key order is append order.
func (s *Store) writeChunk(prefix []byte, e *entry) error {
	if e.pending == 0 {
		return nil
	}
	for rest := e.val; len(rest) > 0; {
		n := 0 // the length of the next chunk: whole values, at least one
		for n < len(rest) {
			l, w := binary.Uvarint(rest[n:])
			if w <= 0 || uint64(len(rest)-n-w) < l {
				return fmt.Errorf("state: corrupt buffer")
			}
			if n > 0 && n+w+int(l) > maxChunkBytes {
				break
			}
			n += w + int(l)
		}
		k := append(s.cbuf[:0], prefix...)
		k = binary.BigEndian.AppendUint64(k, s.seq)
		s.cbuf = k
		if err := s.spillBatch().Set(k, rest[:n], nil); err != nil {
			return fmt.Errorf("state: write: %w", err)
		}
		s.seq++
		rest = rest[n:]
	}
	e.pending = 0
	e.chunks = true
	// Never reused: values read from the cache (bufValues, AppendElements)
	// share its array, and must not change.
	e.val = nil
	return nil
}

// bufDrop removes every value of the buffer under prefix.
func (s *Store) bufDrop(sc scope, prefix []byte) error {
	if _, ok := s.cachedBuffer(sc, prefix); !ok {
		if err := s.deleteRange(prefix, nil); err != nil {
			return err
		}
	}
	s.cache.put(sc, prefix, entry{buffer: true})
	return nil
}

// cachedBuffer returns the values of the buffer under prefix (uvarint
// length-prefixed, as a chunk) if the cache holds all of them: none was
// ever written to the batch as a chunk. It relies on the cache knowing
// every key of the scope (cache.complete): a buffer whose entry is not
// cached was then never appended to, or dropped with its window.
func (s *Store) cachedBuffer(sc scope, prefix []byte) ([]byte, bool) {
	if !s.cache.complete(sc) {
		return nil, false
	}
	e, ok := s.cache.get(sc, prefix)
	if !ok {
		return nil, true
	}
	if !e.buffer || e.chunks {
		return nil, false
	}
	return e.val, true
}

// deleteRange deletes, one by one in the batch, the keys with the prefix
// (the indexed batch gets no range deletions: doc.go, invariant 6), and
// calls deleted, if not nil, with each.
func (s *Store) deleteRange(prefix []byte, deleted func(k []byte)) error {
	it, err := s.newIter(prefix, prefixEnd(prefix))
	if err != nil {
		return err
	}
	var keys [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		keys = append(keys, bytes.Clone(it.Key()))
	}
	if err := s.closeIter(it); err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.batch.Delete(k, nil); err != nil {
			return fmt.Errorf("state: delete: %w", err)
		}
		if deleted != nil {
			deleted(k)
		}
	}
	return nil
}

// bufValues iterates the values of the buffer under prefix, calling fn
// for each until it returns false. A buffer the cache holds whole is read
// from the cache; otherwise its pending values are written to the batch
// first, and the batch and Pebble are read.
func (s *Store) bufValues(sc scope, prefix []byte, fn func([]byte) bool) error {
	if vals, ok := s.cachedBuffer(sc, prefix); ok {
		// Counted as an open iterator, as the batch iterator below: the
		// batch is not committed meanwhile.
		s.iters++
		err := chunkValues(vals, fn)
		s.iters--
		return err
	}
	if err := s.cache.spillEntry(sc, prefix); err != nil {
		return err
	}
	it, err := s.newIter(prefix, prefixEnd(prefix))
	if err != nil {
		return err
	}
	more := true
	for ok := it.First(); ok && more && err == nil; ok = it.Next() {
		var v []byte
		if v, err = it.ValueAndErr(); err == nil {
			err = chunkValues(v, func(x []byte) bool { more = fn(x); return more })
		}
	}
	if cerr := s.closeIter(it); err == nil {
		err = cerr
	}
	return err
}

// AppendElement adds value to the buffer of key's elements in window w
// (a GroupByKey's input); Elements returns them in the order they were added.
func (st *Stage) AppendElement(key []byte, w dataflow.Window, value []byte) error {
	s := st.s
	if err := s.check(); err != nil {
		return err
	}
	kg := s.KeyGroup(key)
	p := st.appendPrefix(s.kbuf[:0], kg, kindElements, "", w, key)
	s.kbuf = p
	if err := s.bufAppend(st.scope(w), p, value); err != nil {
		return fmt.Errorf("state: stage %q: append: %w", st.name, err)
	}
	if err := st.markWindow(kg, kindElements, "", w); err != nil {
		return err
	}
	return s.wrote()
}

// Elements returns the buffered elements of key in window w, in the order
// they were added. Single use; each value is valid until the iteration
// advances. Writes made while iterating are not seen by the iteration.
func (st *Stage) Elements(key []byte, w dataflow.Window) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		s := st.s
		p := st.appendPrefix(nil, s.KeyGroup(key), kindElements, "", w, key)
		stopped := false
		err := s.bufValues(st.scope(w), p, func(v []byte) bool {
			stopped = !yield(v, nil)
			return !stopped
		})
		if err != nil && !stopped {
			yield(nil, fmt.Errorf("state: stage %q: elements: %w", st.name, err))
		}
	}
}

// AppendElements appends to dst the elements [from, to) of key in window
// w, in the order they were added, and returns it; fewer if the buffer
// holds fewer. The values must not be modified, and stay valid: those the
// cache holds are shared with it (a buffer's values in the cache are never
// changed, only appended to or dropped), the others are copies.
func (st *Stage) AppendElements(dst [][]byte, key []byte, w dataflow.Window, from, to int) ([][]byte, error) {
	if from >= to {
		return dst, nil
	}
	s := st.s
	if err := s.check(); err != nil {
		return dst, err
	}
	p := st.appendPrefix(s.kbuf[:0], s.KeyGroup(key), kindElements, "", w, key)
	s.kbuf = p
	sc := st.scope(w)
	i := 0
	if vals, ok := s.cachedBuffer(sc, p); ok {
		err := chunkValues(vals, func(v []byte) bool {
			if i >= from {
				dst = append(dst, v)
			}
			i++
			return i < to
		})
		return dst, err
	}
	err := s.bufValues(sc, bytes.Clone(p), func(v []byte) bool {
		if i >= from {
			dst = append(dst, bytes.Clone(v))
		}
		i++
		return i < to
	})
	if err != nil {
		err = fmt.Errorf("state: stage %q: elements: %w", st.name, err)
	}
	return dst, err
}

// PutWindowState stores the trigger state of key in window w (the caller
// passes trigger.WindowState.MarshalBinary's output).
func (st *Stage) PutWindowState(key []byte, w dataflow.Window, state []byte) error {
	s := st.s
	kg := s.KeyGroup(key)
	k := st.appendPrefix(s.kbuf[:0], kg, kindWindowState, "", w, key)
	s.kbuf = k
	if err := s.setPoint(st.scope(w), k, state, true /* writeBack */); err != nil {
		return err
	}
	if err := st.markWindow(kg, kindWindowState, "", w); err != nil {
		return err
	}
	return s.wrote()
}

// GetWindowState returns the trigger state of key in window w, and whether
// there is one. The bytes must not be modified; later writes do not change
// them.
func (st *Stage) GetWindowState(key []byte, w dataflow.Window) ([]byte, bool, error) {
	s := st.s
	k := st.appendPrefix(s.kbuf[:0], s.KeyGroup(key), kindWindowState, "", w, key)
	s.kbuf = k
	return s.getPoint(st.scope(w), k)
}

// DropWindow removes key's element buffer and trigger state in window w:
// what a GroupByKey does when a window is done, or after each firing in
// discarding mode (then storing the WindowState again), so that Elements
// returns only what arrived since. User state and timers stay until the
// window expires.
func (st *Stage) DropWindow(key []byte, w dataflow.Window) error {
	s := st.s
	if err := s.check(); err != nil {
		return err
	}
	kg := s.KeyGroup(key)
	sc := st.scope(w)
	k := st.appendPrefix(s.kbuf[:0], kg, kindWindowState, "", w, key)
	s.kbuf = k
	if err := s.deletePoint(sc, k, true /* writeBack */); err != nil {
		return err
	}
	p := st.appendPrefix(s.kbuf[:0], kg, kindElements, "", w, key)
	s.kbuf = p
	if err := s.bufDrop(sc, p); err != nil {
		return err
	}
	return s.wrote()
}

// ExpireWindows removes all state (element buffers, trigger state, user
// state and timers, of every key) of the stage's windows whose garbage-
// collection time (MaxTimestamp plus the stage's allowed lateness, capped
// at the end of the global window) is before watermark. It reads the
// window index, not the state: each expired window costs a range deletion
// per key group and kind of state it holds, plus a point deletion per
// timer it still has. It commits the batch (unless a checkpoint is
// pending). It returns the number of windows removed.
func (st *Stage) ExpireWindows(watermark dataflow.EventTime) (int, error) {
	s := st.s
	if err := s.check(); err != nil {
		return 0, err
	}
	if s.iters > 0 {
		return 0, fmt.Errorf("state: stage %q: ExpireWindows while an iterator over state is open", st.name)
	}
	lo := st.globalPrefix(nil, nsWindowIndex)
	hi := appendTime(append([]byte(nil), lo...), watermark)
	it, err := s.newIter(lo, hi)
	if err != nil {
		return 0, err
	}
	type span struct{ start, end []byte }
	var spans []span
	var timerSpans []span
	windows := map[dataflow.Window]bool{}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[len(lo):]
		if len(k) < 8+16+2+1 {
			s.closeIter(it)
			return 0, fmt.Errorf("state: stage %q: bad window index key %x", st.name, it.Key())
		}
		w := decodeWindow(k[8:])
		windows[w] = true
		kg := binary.BigEndian.Uint16(k[24:])
		start := appendKG(nil, kg)
		start = append(start, st.lpName...)
		start = append(start, k[26:]...) // kind [| lp(id)]
		start = appendWindow(start, w)
		sp := span{start, prefixEnd(start)}
		spans = append(spans, sp)
		if k[26] == kindTimer {
			timerSpans = append(timerSpans, sp)
		}
	}
	if err := s.closeIter(it); err != nil {
		return 0, err
	}
	if len(windows) == 0 {
		return 0, nil
	}
	// Timers are also in the time-ordered index and the hold counts, which
	// are ordered by time, not window: delete those entries one by one.
	// The records of a window the cache holds whole are found there;
	// otherwise its written-back records are spilled and the batch and
	// Pebble are read.
	cached := map[dataflow.Window]bool{}
	for _, sp := range timerSpans {
		w := decodeWindow(sp.start[len(sp.start)-16:])
		sc := st.scope(w)
		done, ok := cached[w]
		if !ok {
			done = s.cache.complete(sc)
			cached[w] = done
			var err error
			if done {
				err = st.dropCachedTimers(sc)
			} else {
				err = s.cache.spillScope(sc, st.isTimerKey)
			}
			if err != nil {
				return 0, err
			}
		}
		if done {
			continue
		}
		if err := st.dropTimerIndex(sp.start, sp.end); err != nil {
			return 0, err
		}
	}
	if !s.settle(false) {
		// A checkpoint is pending and Pebble must not be written
		// (invariant 9): the range deletions go to the batch, which then
		// re-fragments its tombstones once, on its next read, and commits
		// them in order with the rest once the checkpoint is done.
		for _, sp := range spans {
			if err := s.batch.DeleteRange(sp.start, sp.end, nil); err != nil {
				return 0, fmt.Errorf("state: stage %q: expire: %w", st.name, err)
			}
		}
		if err := s.batch.DeleteRange(lo, hi, nil); err != nil {
			return 0, fmt.Errorf("state: stage %q: expire: %w", st.name, err)
		}
		for w := range windows {
			s.cache.dropScope(st.scope(w))
		}
		return len(windows), s.wrote()
	}
	// The batch must reach Pebble before the range deletions, which go
	// straight to Pebble so the indexed batch never holds range tombstones
	// (each one makes the batch re-fragment them on its next read).
	if err := s.commit(); err != nil {
		return 0, err
	}
	rb := s.db.NewBatch()
	defer rb.Close()
	for _, sp := range spans {
		if err := rb.DeleteRange(sp.start, sp.end, nil); err != nil {
			return 0, fmt.Errorf("state: stage %q: expire: %w", st.name, err)
		}
	}
	if err := rb.DeleteRange(lo, hi, nil); err != nil {
		return 0, fmt.Errorf("state: stage %q: expire: %w", st.name, err)
	}
	if err := s.db.Apply(rb, pebble.NoSync); err != nil {
		s.err = fmt.Errorf("state: stage %q: expire: %w", st.name, err)
		return 0, s.err
	}
	for w := range windows {
		s.cache.dropScope(st.scope(w))
	}
	// Every iterator over the memtable fragments all of its range
	// tombstones again, and a job whose state is short-lived rarely fills
	// its memtable: flush it once it holds many, so that they sit in a
	// table, fragmented once.
	s.rangeDels += len(spans) + 1
	if s.rangeDels >= maxMemtableRangeDels {
		s.rangeDels = 0
		if _, err := s.db.AsyncFlush(); err != nil {
			s.err = fmt.Errorf("state: stage %q: flush: %w", st.name, err)
			return 0, s.err
		}
	}
	return len(windows), nil
}

// maxMemtableRangeDels is how many range deletions ExpireWindows lets
// accumulate in the memtable before it flushes it.
const maxMemtableRangeDels = 4096
