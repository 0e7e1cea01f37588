package state

import (
	"encoding/binary"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// cache is the bounded write-back cache in front of the write batch and
// Pebble. It holds three sorts of entries:
//
//   - clean point entries: a value read (or known absent), which may be
//     dropped at any time;
//   - dirty point entries: a value state or trigger state written but not
//     yet in the batch (doc.go, invariant 7 lists which state is written
//     back);
//   - buffers: the values appended to a bag or element buffer since its
//     last chunk was written.
//
// Dirty entries and buffers with pending values are spilled (written to the
// batch) when evicted, before a range they belong to is iterated, and on
// Flush, so the batch plus the cache always hold every write. A
// checkpoint's cut writes them to a batch of its own and leaves them
// unwritten here, marked with its epoch (doc.go, invariant 9).
//
// Entries are grouped by scope, the (stage, window) their key belongs to,
// so that expiring a window drops its entries in O(1) without scanning.
type cache struct {
	budget int64 // bytes; 0 disables the cache (everything is written through)
	used   int64
	// scopes holds the entries by scope and key. Entries are pointers, so
	// that updating one costs one lookup and no insertion; a pointer from
	// get is valid until the next call that may evict (put, appendValue)
	// or drop the entry.
	scopes map[scope]map[string]*entry
	// last and lastM memoize the scope looked up last (consecutive
	// operations mostly touch one window).
	last  scope
	lastM map[string]*entry
	// dirty lists the entries that became dirty (or got pending values)
	// since the last spillAll; some may since have been spilled or dropped.
	dirty []dirtyRef
	// fresh is set for a database the Store created: then a scope from
	// which nothing was ever evicted is complete in the cache, and a miss
	// in it means the key is absent (no read of Pebble). incomplete lists
	// the scopes evictions made incomplete.
	fresh      bool
	incomplete map[scope]bool
	// spill writes an entry's unwritten state to the batch.
	spill func(sc scope, k string, e *entry) error
	err   error // the first spill error (sticky in the Store)
}

// scope groups cache entries. global marks entries that belong to no window
// (watermark-hold counts), which are never dropped by ExpireWindows.
type scope struct {
	stage  uint32
	global bool
	w      dataflow.Window
}

type dirtyRef struct {
	sc scope
	k  string
}

// entry is a cached point value or a buffer's tail.
type entry struct {
	// val is the value of a point entry, or the pending values of a buffer
	// (each uvarint length-prefixed, as chunks store them).
	val     []byte
	pending uint32 // buffers: values in val not yet in the batch
	present bool   // point entries: a value exists
	dirty   bool   // point entries: val/present are not yet in the batch
	buffer  bool
	// chunks is set on a buffer some of whose values were written to the
	// batch as chunks: val holds only those appended since.
	chunks bool
	// cut is, for a dirty point entry, the epoch of the checkpoint whose
	// cut holds its value (doc.go, invariant 9): the entry stays dirty, as
	// that checkpoint's batch may not be in Pebble yet. 0: none. Epochs
	// wrap, but a dirty entry's cut is 0 or the latest cut's epoch: every
	// cut visits every dirty entry, and spilling resets it.
	cut uint8
}

func (e *entry) unwritten() bool { return e.dirty || e.pending > 0 }

// entryOverhead approximates the bytes a map entry costs beyond its key and
// value (map slot, string header, the entry itself, the dirty list).
const entryOverhead = 112

func newCache(budget int64) *cache {
	return &cache{budget: budget, scopes: map[scope]map[string]*entry{}}
}

// complete reports whether every key of sc with a value is in the cache.
func (c *cache) complete(sc scope) bool {
	return c.fresh && c.budget > 0 && !c.incomplete[sc]
}

// scope returns the entries of sc, nil if it has none (and create is not
// set).
func (c *cache) scope(sc scope, create bool) map[string]*entry {
	if c.lastM != nil && c.last == sc {
		return c.lastM
	}
	m := c.scopes[sc]
	if m == nil {
		if !create {
			return nil
		}
		m = map[string]*entry{}
		c.scopes[sc] = m
	}
	c.last, c.lastM = sc, m
	return m
}

// forget removes sc's (empty or dropped) entries.
func (c *cache) forget(sc scope) {
	delete(c.scopes, sc)
	if c.last == sc {
		c.lastM = nil
	}
}

// get returns the entry under k. The caller must not modify it.
func (c *cache) get(sc scope, k []byte) (*entry, bool) {
	e, ok := c.scope(sc, false)[string(k)]
	return e, ok
}

// put stores e under k, taking ownership of e.val. When the cache is off
// it does nothing: the caller must then have written e through itself.
func (c *cache) put(sc scope, k []byte, e entry) {
	if c.budget == 0 {
		return
	}
	m := c.scope(sc, true)
	if old, had := m[string(k)]; had {
		c.used += int64(cap(e.val)) - int64(cap(old.val))
		if e.unwritten() && !old.unwritten() {
			c.dirty = append(c.dirty, dirtyRef{sc, string(k)})
		}
		*old = e
	} else {
		ks := string(k)
		ne := new(entry)
		*ne = e
		m[ks] = ne
		c.used += int64(len(ks)) + entryOverhead + int64(cap(e.val))
		if e.unwritten() {
			c.dirty = append(c.dirty, dirtyRef{sc, ks})
		}
	}
	if c.used > c.budget {
		c.evict()
	}
}

// appendValue appends v, uvarint length-prefixed, to the pending values
// of the buffer under k, creating it. The cache must be on.
func (c *cache) appendValue(sc scope, k, v []byte) {
	m := c.scope(sc, true)
	e, had := m[string(k)]
	if !had {
		ks := string(k)
		e = &entry{buffer: true}
		m[ks] = e
		c.used += int64(len(ks)) + entryOverhead
		c.dirty = append(c.dirty, dirtyRef{sc, ks})
	} else if !e.unwritten() {
		c.dirty = append(c.dirty, dirtyRef{sc, string(k)})
	}
	e.buffer = true
	before := cap(e.val)
	e.val = grow(e.val, binary.MaxVarintLen64+len(v))
	e.val = binary.AppendUvarint(e.val, uint64(len(v)))
	e.val = append(e.val, v...)
	e.pending++
	c.used += int64(cap(e.val) - before)
	if c.used > c.budget {
		c.evict()
	}
}

// grow returns b with room for n more bytes. When it must grow it at least
// doubles b's capacity (append grows large slices by a quarter): a buffer
// appended to value by value copies each byte about once.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	return append(b[:len(b):len(b)], make([]byte, max(cap(b), n))...)[:len(b)]
}

// spillEntry writes the unwritten state of the entry under k and marks it
// written.
func (c *cache) spillEntry(sc scope, k []byte) error {
	e, ok := c.get(sc, k)
	if !ok || !e.unwritten() {
		return nil
	}
	return c.spillFound(sc, string(k), e)
}

func (c *cache) spillFound(sc scope, k string, e *entry) error {
	before := cap(e.val)
	if err := c.spill(sc, k, e); err != nil {
		return err
	}
	c.used += int64(cap(e.val) - before)
	return nil
}

// spillAll writes every unwritten entry to the batch.
func (c *cache) spillAll() error {
	for _, r := range c.dirty {
		if e, ok := c.scopes[r.sc][r.k]; ok && e.unwritten() {
			if err := c.spillFound(r.sc, r.k, e); err != nil {
				return err
			}
		}
	}
	clear(c.dirty)
	c.dirty = c.dirty[:0]
	return nil
}

// spillCut takes a checkpoint's cut of the cache: it spills the pending
// values of every buffer to the batch, and calls write for every dirty
// point entry, which writes it to the cut, marking the entry with epoch;
// these stay dirty, and are all that remains on the dirty list. It returns
// them, for markWritten.
func (c *cache) spillCut(epoch uint8, write func(k string, e *entry) error) ([]dirtyRef, error) {
	var refs []dirtyRef
	for _, r := range c.dirty {
		e, ok := c.scopes[r.sc][r.k]
		switch {
		case !ok || !e.unwritten() || e.dirty && e.cut == epoch: // gone, written, or listed twice
			continue
		case e.buffer:
			if err := c.spillFound(r.sc, r.k, e); err != nil {
				return nil, err
			}
			continue
		}
		if err := write(r.k, e); err != nil {
			return nil, err
		}
		e.cut = epoch
		refs = append(refs, r)
	}
	clear(c.dirty)
	c.dirty = append(c.dirty[:0], refs...)
	return refs, nil
}

// markWritten marks as written the point entries of refs that are
// unchanged since the cut of checkpoint epoch, once Pebble holds that cut
// and the batch holds nothing older of them.
func (c *cache) markWritten(epoch uint8, refs []dirtyRef) {
	for _, r := range refs {
		if e, ok := c.scopes[r.sc][r.k]; ok && e.dirty && e.cut == epoch {
			e.dirty, e.cut = false, 0
		}
	}
}

// spillIfCut writes the entry under k to the batch if a checkpoint's cut
// holds its unwritten state: a deletion of its range must find it there,
// as Pebble may not hold the cut yet.
func (c *cache) spillIfCut(sc scope, k []byte) error {
	e, ok := c.get(sc, k)
	if !ok || !e.dirty || e.cut == 0 {
		return nil
	}
	return c.spillFound(sc, string(k), e)
}

// spillScope writes the unwritten entries of sc for which keep (if not
// nil) returns true to the batch, before an iteration over their range.
func (c *cache) spillScope(sc scope, keep func(k string) bool) error {
	for k, e := range c.scopes[sc] {
		if e.unwritten() && (keep == nil || keep(k)) {
			if err := c.spillFound(sc, k, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropScope forgets every entry of sc, unwritten ones included: ExpireWindows
// calls it for windows whose state is gone. Their dirty-list references
// find nothing and are skipped.
func (c *cache) dropScope(sc scope) {
	for k, e := range c.scopes[sc] {
		c.used -= int64(len(k)) + entryOverhead + int64(cap(e.val))
	}
	c.forget(sc)
	// The scope's state is gone from the database too: what is written
	// to it from now on is all in the cache again.
	delete(c.incomplete, sc)
}

// evict removes entries, spilling unwritten ones, until the cache uses at
// most 7/8 of its budget. Go's randomized map iteration makes this random
// eviction, which needs no per-access bookkeeping on the hot path.
func (c *cache) evict() {
	target := c.budget - c.budget/8
	for sc, m := range c.scopes {
		for k, e := range m {
			size := int64(len(k)) + entryOverhead + int64(cap(e.val))
			if e.unwritten() {
				if err := c.spill(sc, k, e); err != nil {
					if c.err == nil {
						c.err = err
					}
					return
				}
			}
			c.used -= size
			delete(m, k)
			if c.fresh {
				if c.incomplete == nil {
					c.incomplete = map[scope]bool{}
				}
				c.incomplete[sc] = true
			}
			if c.used <= target {
				break
			}
		}
		if len(m) == 0 {
			c.forget(sc)
		}
		if c.used <= target {
			break
		}
	}
	// Keep the dirty list from outgrowing the cache across evictions.
	if len(c.dirty) > 1024 && int64(len(c.dirty))*entryOverhead > c.budget {
		live := c.dirty[:0]
		for _, r := range c.dirty {
			if e, ok := c.scopes[r.sc][r.k]; ok && e.unwritten() {
				live = append(live, r)
			}
		}
		clear(c.dirty[len(live):])
		c.dirty = live
	}
}
