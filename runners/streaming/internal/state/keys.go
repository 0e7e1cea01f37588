package state

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Key encoding. doc.go describes the layout and its invariants; this file is
// the only place that builds or parses keys.

// Kinds of state under a stage (the byte after the stage name).
const (
	kindElements    byte = 1 // GroupByKey window buffers: tail = seq:8
	kindWindowState byte = 2 // trigger state of one key and window: tail = ""
	kindTimer       byte = 3 // timers by identity: tail = lp(family) lp(tag)
	kindUser        byte = 4 // user state: lp(id) follows the kind; tail = tagBag seq:8 | tagMap sub
)

// Tags after the user key of user state: a bag's values sort before the
// value/map entries of the same id, as memBackend's Scan yields them.
const (
	tagBag byte = 1
	tagMap byte = 2
)

// Global (not key-grouped) namespaces: first byte 0xFF, which no key group
// prefix can have because MaxParallelism <= 1<<15.
const (
	globalPrefix  byte = 0xFF
	nsMeta        byte = 1 // name -> value
	nsTimerIndex  byte = 2 // lp(stage) domain:1 fireAt:8 kg:2 lp(key) window:16 lp(family) lp(tag) -> hold:8
	nsWindowIndex byte = 3 // lp(stage) gc:8 window:16 kg:2 kindid -> ""
	nsHolds       byte = 4 // lp(stage) hold:8 -> count (uvarint)
)

// maxKeyGroups bounds MaxParallelism so that key-group prefixes (two bytes,
// big-endian) stay below the 0xFF global prefix.
const maxKeyGroups = 1 << 15

// KeyGroup returns the key group of an encoded user key: a stable 64-bit
// FNV-1a hash, finalized with SplitMix64's mixer, mod maxParallelism.
// The result is persisted in every key, so this function must never change.
func KeyGroup(key []byte, maxParallelism int) uint16 {
	h := uint64(14695981039346656037)
	for _, c := range key {
		h ^= uint64(c)
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return uint16(h % uint64(maxParallelism))
}

// appendTime encodes t in 8 bytes whose byte order is t's numeric order:
// big-endian with the sign bit flipped.
func appendTime(b []byte, t dataflow.EventTime) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t)^(1<<63))
}

func decodeTime(b []byte) dataflow.EventTime {
	return dataflow.EventTime(binary.BigEndian.Uint64(b) ^ (1 << 63))
}

// appendWindow encodes w as start then end (16 bytes, time order).
func appendWindow(b []byte, w dataflow.Window) []byte {
	return appendTime(appendTime(b, w.Start), w.End)
}

func decodeWindow(b []byte) dataflow.Window {
	return dataflow.Window{Start: decodeTime(b), End: decodeTime(b[8:])}
}

// appendLP appends s length-prefixed (uvarint length): prefix-free, so the
// keys of one user key (or stage, id, family) form one contiguous range.
func appendLP[S string | []byte](b []byte, s S) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// readLP splits a length-prefixed field off b.
func readLP(b []byte) (field, rest []byte, err error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, fmt.Errorf("state: bad length-prefixed field in key %x", b)
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}

func appendKG(b []byte, kg uint16) []byte { return binary.BigEndian.AppendUint16(b, kg) }

// prefixEnd returns the smallest key greater than every key with prefix p
// (nil if there is none).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// stateKey is a parsed key-grouped key, for tests and debugging.
type stateKey struct {
	KG     uint16
	Stage  string
	Kind   byte
	ID     string // kindUser only
	Window dataflow.Window
	Key    string
	Tail   []byte
}

// parseStateKey parses a key-grouped key.
func parseStateKey(k []byte) (stateKey, error) {
	var sk stateKey
	if len(k) < 3 || k[0] == globalPrefix {
		return sk, fmt.Errorf("state: %x is not a key-grouped key", k)
	}
	sk.KG = binary.BigEndian.Uint16(k)
	stage, rest, err := readLP(k[2:])
	if err != nil {
		return sk, err
	}
	sk.Stage = string(stage)
	if len(rest) == 0 {
		return sk, fmt.Errorf("state: key %x has no kind", k)
	}
	sk.Kind, rest = rest[0], rest[1:]
	if sk.Kind == kindUser {
		id, r, err := readLP(rest)
		if err != nil {
			return sk, err
		}
		sk.ID, rest = string(id), r
	}
	if len(rest) < 16 {
		return sk, fmt.Errorf("state: key %x has no window", k)
	}
	sk.Window, rest = decodeWindow(rest), rest[16:]
	key, rest, err := readLP(rest)
	if err != nil {
		return sk, err
	}
	sk.Key, sk.Tail = string(key), rest
	return sk, nil
}
