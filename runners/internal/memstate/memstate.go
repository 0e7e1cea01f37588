// Package memstate keeps one key's user state and timers in memory behind
// dataflow.StateBackend. It is the direct runner's state and the reference
// the streaming runner's Pebble state is tested against. Not safe for
// concurrent use; one Backend serves one key.
package memstate

import (
	df "github.com/sluicedata/sluice/pkg/dataflow"
)

type windowState struct {
	w  df.Window
	id string
}

type timerKey struct {
	w           df.Window
	family, tag string
}

// Backend is one key's state in memory: the reference semantics of
// dataflow.StateBackend, used by the direct runner and as the oracle of the
// streaming runner's Pebble state tests.
type Backend struct {
	maps   map[windowState]map[string][]byte
	bags   map[windowState][][]byte
	timers map[timerKey]df.TimerData
}

var _ df.StateBackend = (*Backend)(nil)

// New returns an empty Backend.
func New() *Backend {
	return &Backend{maps: map[windowState]map[string][]byte{}, bags: map[windowState][][]byte{}, timers: map[timerKey]df.TimerData{}}
}

func (b *Backend) Get(w df.Window, id string, sub []byte) ([]byte, bool, error) {
	v, ok := b.maps[windowState{w, id}][string(sub)]
	return v, ok, nil
}

func (b *Backend) Put(w df.Window, id string, sub, value []byte) error {
	k := windowState{w, id}
	m := b.maps[k]
	if m == nil {
		m = map[string][]byte{}
		b.maps[k] = m
	}
	m[string(sub)] = append([]byte(nil), value...)
	return nil
}

func (b *Backend) Delete(w df.Window, id string, sub []byte) error {
	delete(b.maps[windowState{w, id}], string(sub))
	return nil
}

func (b *Backend) Append(w df.Window, id string, value []byte) error {
	k := windowState{w, id}
	b.bags[k] = append(b.bags[k], append([]byte(nil), value...))
	return nil
}

func (b *Backend) Scan(w df.Window, id string, fn func(sub, value []byte) error) error {
	k := windowState{w, id}
	for _, v := range b.bags[k] {
		if err := fn(nil, v); err != nil {
			return err
		}
	}
	for sub, v := range b.maps[k] {
		if err := fn([]byte(sub), v); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) Clear(w df.Window, id string) error {
	k := windowState{w, id}
	delete(b.maps, k)
	delete(b.bags, k)
	return nil
}

func (b *Backend) SetTimer(t df.TimerData) error {
	b.timers[timerKey{t.Window, t.Family, t.Tag}] = t
	return nil
}

func (b *Backend) ClearTimer(w df.Window, family, tag string) error {
	delete(b.timers, timerKey{w, family, tag})
	return nil
}

// PopTimer removes and returns the next timer to fire: the earliest
// event-time timer, else the earliest processing-time timer.
func (b *Backend) PopTimer() (df.TimerData, bool) {
	var best df.TimerData
	var bestKey timerKey
	found := false
	for k, t := range b.timers {
		if !found || t.Domain < best.Domain || (t.Domain == best.Domain && (t.FireAt < best.FireAt ||
			t.FireAt == best.FireAt && (k.family < bestKey.family || k.family == bestKey.family && k.tag < bestKey.tag))) {
			best, bestKey, found = t, k, true
		}
	}
	if found {
		delete(b.timers, bestKey)
	}
	return best, found
}

// Timers returns the pending timers, in no particular order.
func (b *Backend) Timers() []df.TimerData {
	out := make([]df.TimerData, 0, len(b.timers))
	for _, t := range b.timers {
		out = append(out, t)
	}
	return out
}

// DropWindows removes all state and timers of the windows for which expired is true.
func (b *Backend) DropWindows(expired func(df.Window) bool) {
	for k := range b.maps {
		if expired(k.w) {
			delete(b.maps, k)
		}
	}
	for k := range b.bags {
		if expired(k.w) {
			delete(b.bags, k)
		}
	}
	for k, t := range b.timers {
		if expired(t.Window) {
			delete(b.timers, k)
		}
	}
}
