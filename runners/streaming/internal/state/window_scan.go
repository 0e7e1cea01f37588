package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// WindowStates calls fn for every key that holds window state (what
// PutWindowState stored) in window w, key group by key group and in key
// order within one. It finds the key groups through the window index, so
// it reads only the state of w. key and value are valid until fn returns;
// fn must not write state of the stage.
func (st *Stage) WindowStates(w dataflow.Window, fn func(key, value []byte) error) error {
	s := st.s
	if err := s.check(); err != nil {
		return err
	}
	sc := st.scope(w)
	if s.cache.complete(sc) {
		return st.cachedWindowStates(sc, fn)
	}
	// Written-back window states of w must be in the batch to be seen.
	for k, e := range s.cache.scopes[sc] {
		if e.unwritten() {
			if err := s.cache.spillEntry(sc, []byte(k)); err != nil {
				return err
			}
		}
	}
	idx := st.globalPrefix(nil, nsWindowIndex)
	idx = appendTime(idx, st.gcTime(w))
	idx = appendWindow(idx, w)
	it, err := s.newIter(idx, prefixEnd(idx))
	if err != nil {
		return err
	}
	var kgs []uint16
	for ok := it.First(); ok; ok = it.Next() {
		tail := it.Key()[len(idx):]
		if len(tail) < 3 {
			s.closeIter(it)
			return fmt.Errorf("state: stage %q: bad window index key %x", st.name, it.Key())
		}
		if tail[2] == kindWindowState {
			kgs = append(kgs, binary.BigEndian.Uint16(tail))
		}
	}
	if err := s.closeIter(it); err != nil {
		return err
	}
	for _, kg := range kgs {
		p := appendKG(nil, kg)
		p = append(p, st.lpName...)
		p = append(p, kindWindowState)
		p = appendWindow(p, w)
		it, err := s.newIter(p, prefixEnd(p))
		if err != nil {
			return err
		}
		for ok := it.First(); ok && err == nil; ok = it.Next() {
			var key, rest, v []byte
			key, rest, err = readLP(bytes.Clone(it.Key()[len(p):]))
			if err == nil && len(rest) != 0 {
				err = fmt.Errorf("state: stage %q: bad window state key %x", st.name, it.Key())
			}
			if err == nil {
				if v, err = it.ValueAndErr(); err == nil {
					err = fn(key, v)
				}
			}
		}
		if cerr := s.closeIter(it); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// cachedWindowStates is WindowStates for a window whose state is all in
// the cache: no write to the batch, no read of Pebble.
func (st *Stage) cachedWindowStates(sc scope, fn func(key, value []byte) error) error {
	// Keys of one scope differ only in their key group and what follows
	// the window (lp(key)): ordering by those two is key order.
	type kv struct {
		kg   uint16
		tail string
		v    []byte
	}
	var found []kv
	n := len(st.lpName)
	for k, e := range st.s.cache.scopes[sc] {
		if !e.present || e.buffer || len(k) < 2+n+1+16 || k[2:2+n] != string(st.lpName) || k[2+n] != kindWindowState {
			continue
		}
		found = append(found, kv{uint16(k[0])<<8 | uint16(k[1]), k[2+n+1+16:], e.val})
	}
	slices.SortFunc(found, func(a, b kv) int {
		if a.kg != b.kg {
			return int(a.kg) - int(b.kg)
		}
		return strings.Compare(a.tail, b.tail)
	})
	var kb []byte
	for _, f := range found {
		kb = append(kb[:0], f.tail...)
		key, rest, err := readLP(kb)
		if err != nil || len(rest) != 0 {
			return fmt.Errorf("state: stage %q: bad window state key of key group %d: %x", st.name, f.kg, f.tail)
		}
		if err := fn(key, f.v); err != nil {
			return err
		}
	}
	return nil
}
