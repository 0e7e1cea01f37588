package state

import (
	"slices"
	"strings"
)

// memIndex holds the entries of a stage's timer index (one domain) that
// are not in the batch: the timers set since the index was last spilled
// (doc.go, invariant 5). A timer set and fired, cleared or expired before
// the next Flush or checkpoint never reaches the batch or Pebble. Keys are
// whole index keys; values are holds (8 bytes), as in the batch.
type memIndex struct {
	live map[string][8]byte
	// keys holds every key of live, and maybe keys removed since (tidy
	// drops them): keys[:sorted] in order, then those added since, which
	// tidy sorts and merges in.
	keys   []string
	sorted int
	spare  []string // tidy's merge target, kept
	bytes  int64    // about the memory live and keys take
}

// memIndexOverhead approximates what an entry costs beyond its key (map
// slot, value, string headers).
const memIndexOverhead = 64

// memEntry is an entry of a memIndex.
type memEntry struct {
	k string
	v [8]byte
}

func (m *memIndex) len() int { return len(m.live) }

// add sets k to v (an 8-byte hold). k must not be live.
func (m *memIndex) add(k, v []byte) {
	if m.live == nil {
		m.live = map[string][8]byte{}
	}
	ks := string(k)
	m.live[ks] = [8]byte(v)
	if m.sorted == len(m.keys) && (len(m.keys) == 0 || ks > m.keys[len(m.keys)-1]) {
		m.sorted++ // in order: timers are mostly set in time order
	}
	m.keys = append(m.keys, ks)
	m.bytes += int64(len(ks)) + memIndexOverhead
}

// remove deletes k and reports whether it was there.
func (m *memIndex) remove(k []byte) bool {
	if _, ok := m.live[string(k)]; !ok {
		return false
	}
	delete(m.live, string(k))
	m.bytes -= int64(len(k)) + memIndexOverhead
	return true
}

// tidy puts keys in order: it sorts the keys added since it last ran and
// merges them in (no map lookups: a key removed and added again is kept
// once), and drops the removed keys when they are the majority.
func (m *memIndex) tidy() {
	if m.sorted < len(m.keys) {
		head, tail := m.keys[:m.sorted], m.keys[m.sorted:]
		slices.Sort(tail)
		out := m.spare[:0]
		keep := func(k string) {
			if len(out) == 0 || out[len(out)-1] != k {
				out = append(out, k)
			}
		}
		for len(head) > 0 && len(tail) > 0 {
			if head[0] <= tail[0] {
				keep(head[0])
				head = head[1:]
			} else {
				keep(tail[0])
				tail = tail[1:]
			}
		}
		for _, k := range head {
			keep(k)
		}
		for _, k := range tail {
			keep(k)
		}
		clear(m.keys)
		m.keys, m.spare = out, m.keys[:0]
		m.sorted = len(m.keys)
	}
	if len(m.keys) > 2*len(m.live)+64 {
		out := m.keys[:0]
		for _, k := range m.keys {
			if _, ok := m.live[k]; ok {
				out = append(out, k)
			}
		}
		clear(m.keys[len(out):])
		m.keys = out
		m.sorted = len(m.keys)
	}
}

// seek appends to dst, in key order, up to n live entries with
// lo <= key < hi, and returns it.
func (m *memIndex) seek(lo, hi []byte, n int, dst []memEntry) []memEntry {
	if len(m.live) == 0 {
		return dst
	}
	m.tidy()
	i, _ := slices.BinarySearchFunc(m.keys, lo, func(k string, lo []byte) int { return strings.Compare(k, string(lo)) })
	for ; i < len(m.keys) && len(dst) < n; i++ {
		k := m.keys[i]
		if k >= string(hi) {
			break
		}
		if v, ok := m.live[k]; ok {
			dst = append(dst, memEntry{k, v})
		}
	}
	return dst
}

// reset forgets every entry (after they were written to the batch).
func (m *memIndex) reset() {
	clear(m.live)
	clear(m.keys)
	m.keys, m.spare = m.keys[:0], nil
	m.sorted = 0
	m.bytes = 0
}
