package state

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// KeyedBackend is the user state and timers of one key of a stage: the
// dataflow.StateBackend a stateful ParDo reads and writes while it
// processes that key. Reset points it at another key without allocating.
type KeyedBackend struct {
	st  *Stage
	key []byte
	kg  uint16
}

var _ dataflow.StateBackend = (*KeyedBackend)(nil)

// Backend returns the state of the encoded user key key.
func (st *Stage) Backend(key []byte) *KeyedBackend {
	b := &KeyedBackend{st: st}
	b.Reset(key)
	return b
}

// Reset points b at the state of key.
func (b *KeyedBackend) Reset(key []byte) {
	b.key = append(b.key[:0], key...)
	b.kg = b.st.s.KeyGroup(key)
}

// Key returns the encoded user key b is pointed at.
func (b *KeyedBackend) Key() []byte { return b.key }

// userPrefix builds, in the store's key buffer, the prefix of the key's
// user state id in w.
func (b *KeyedBackend) userPrefix(w dataflow.Window, id string) []byte {
	s := b.st.s
	s.kbuf = b.st.appendPrefix(s.kbuf[:0], b.kg, kindUser, id, w, b.key)
	return s.kbuf
}

func (b *KeyedBackend) mapKey(w dataflow.Window, id string, sub []byte) []byte {
	k := append(b.userPrefix(w, id), tagMap)
	k = append(k, sub...)
	b.st.s.kbuf = k
	return k
}

// Get returns the value under sub of state id in w. The bytes must not be
// modified; later writes do not change them.
func (b *KeyedBackend) Get(w dataflow.Window, id string, sub []byte) ([]byte, bool, error) {
	return b.st.s.getPoint(b.st.scope(w), b.mapKey(w, id, sub))
}

// Put sets the value under sub of state id in w. A value without sub-key
// (value and combining state, written per element) is written back: it
// stays in the cache until evicted, scanned or flushed. Map entries are
// written through, so that Scan finds them in the batch.
func (b *KeyedBackend) Put(w dataflow.Window, id string, sub, value []byte) error {
	s := b.st.s
	if err := s.setPoint(b.st.scope(w), b.mapKey(w, id, sub), value, len(sub) == 0); err != nil {
		return err
	}
	if err := b.st.markWindow(b.kg, kindUser, id, w); err != nil {
		return err
	}
	return s.wrote()
}

// Delete removes sub of state id in w.
func (b *KeyedBackend) Delete(w dataflow.Window, id string, sub []byte) error {
	s := b.st.s
	if err := s.deletePoint(b.st.scope(w), b.mapKey(w, id, sub), len(sub) == 0); err != nil {
		return err
	}
	return s.wrote()
}

// Append adds value to the bag id in w. Values are numbered in the order
// they are added, so Scan returns them in that order.
func (b *KeyedBackend) Append(w dataflow.Window, id string, value []byte) error {
	s := b.st.s
	if err := s.check(); err != nil {
		return err
	}
	p := append(b.userPrefix(w, id), tagBag)
	s.kbuf = p
	if err := s.bufAppend(b.st.scope(w), p, value); err != nil {
		return fmt.Errorf("state: stage %q: append: %w", b.st.name, err)
	}
	if err := b.st.markWindow(b.kg, kindUser, id, w); err != nil {
		return err
	}
	return s.wrote()
}

// Scan calls fn for the bag values of id in w, in the order they were
// added (with a nil sub-key), then for its value and map entries in sub-key
// order. sub and value are valid until fn returns; writes fn makes are not
// seen by this Scan.
func (b *KeyedBackend) Scan(w dataflow.Window, id string, fn func(sub, value []byte) error) error {
	s := b.st.s
	sc := b.st.scope(w)
	p := bytes.Clone(b.userPrefix(w, id))
	// The bag's pending values and a written-back value must be in the
	// batch for the iteration to see them.
	if err := s.cache.spillEntry(sc, append(p, tagBag)); err != nil {
		return err
	}
	if err := s.cache.spillEntry(sc, append(p, tagMap)); err != nil {
		return err
	}
	it, err := s.newIter(p, prefixEnd(p))
	if err != nil {
		return err
	}
	n := len(p)
	for ok := it.First(); ok && err == nil; ok = it.Next() {
		tail := it.Key()[n:]
		var v []byte
		v, err = it.ValueAndErr()
		switch {
		case err != nil:
		case len(tail) == 0:
			err = fmt.Errorf("state: stage %q: bad state key %x", b.st.name, it.Key())
		case tail[0] == tagBag:
			if cerr := chunkValues(v, func(x []byte) bool { err = fn(nil, x); return err == nil }); err == nil {
				err = cerr
			}
		default:
			err = fn(tail[1:], v)
		}
	}
	if cerr := s.closeIter(it); err == nil {
		err = cerr
	}
	return err
}

// Clear removes every value, entry and bag value of id in w.
func (b *KeyedBackend) Clear(w dataflow.Window, id string) error {
	s := b.st.s
	if err := s.check(); err != nil {
		return err
	}
	sc := b.st.scope(w)
	p := bytes.Clone(b.userPrefix(w, id))
	// Pending bag values and a written-back value are superseded: forget
	// them, then delete what the batch and Pebble hold. A value that a
	// pending checkpoint's cut holds, which Pebble may not hold yet, is
	// spilled first so that the deletion finds it.
	if err := s.cache.spillIfCut(sc, append(p, tagMap)); err != nil {
		return err
	}
	s.cache.put(sc, append(p, tagBag), entry{buffer: true})
	s.cache.put(sc, append(p, tagMap), entry{})
	err := s.deleteRange(p, func(k []byte) {
		if _, ok := s.cache.get(sc, k); ok {
			s.cache.put(sc, k, entry{}) // a cached map entry
		}
	})
	if err != nil {
		return err
	}
	return s.wrote()
}

// timerKey builds, in the store's key buffer, the key of the key's timer
// family/tag in w.
func (b *KeyedBackend) timerKey(w dataflow.Window, family, tag string) []byte {
	s := b.st.s
	k := b.st.appendPrefix(s.kbuf[:0], b.kg, kindTimer, "", w, b.key)
	k = appendLP(appendLP(k, family), tag)
	s.kbuf = k
	return k
}

// SetTimer sets (or replaces) the key's timer t.Family/t.Tag in t.Window.
func (b *KeyedBackend) SetTimer(t dataflow.TimerData) error {
	st, s := b.st, b.st.s
	sc := st.scope(t.Window)
	pk := b.timerKey(t.Window, t.Family, t.Tag)
	if err := st.unindexTimer(sc, pk, b.kg, b.key, t.Window, t.Family, t.Tag); err != nil {
		return err
	}
	var v [17]byte
	v[0] = byte(t.Domain)
	binary.BigEndian.PutUint64(v[1:], uint64(t.FireAt))
	binary.BigEndian.PutUint64(v[9:], uint64(t.Hold))
	pk = b.timerKey(t.Window, t.Family, t.Tag)
	if err := s.setPoint(sc, pk, v[:], true /* writeBack */); err != nil {
		return err
	}
	ik := st.timerIndexKey(t.Domain, t.FireAt, b.kg, b.key, t.Window, t.Family, t.Tag)
	if err := st.indexTimer(t.Domain, ik, v[9:]); err != nil {
		return err
	}
	st.lowerFloor(t.Domain, ik)
	if err := st.adjustHold(t.Hold, +1); err != nil {
		return err
	}
	if err := st.markWindow(b.kg, kindTimer, "", t.Window); err != nil {
		return err
	}
	s.timerGen++
	return s.wrote()
}

// ClearTimer removes the key's timer family/tag in w, if it is set.
func (b *KeyedBackend) ClearTimer(w dataflow.Window, family, tag string) error {
	st, s := b.st, b.st.s
	sc := st.scope(w)
	pk := b.timerKey(w, family, tag)
	if err := st.unindexTimer(sc, pk, b.kg, b.key, w, family, tag); err != nil {
		return err
	}
	s.timerGen++
	return s.wrote()
}
