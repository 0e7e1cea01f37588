package direct

import (
	"context"
	"fmt"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// maxTimerFirings bounds the timers one key may fire in a run, so a DoFn
// that keeps re-setting its timer fails instead of looping forever.
const maxTimerFirings = 10_000_000

// statefulPartition runs one partition of a StatefulParDo with Beam's
// semantics for bounded input: each key's elements in arrival order with the
// watermark at -inf, then the watermark and processing time jump to +inf and
// the key's timers fire, earliest first (event-time timers before
// processing-time ones), including timers set while firing. State lives in
// memory and is dropped when the partition is done (every window expired).
func (r *run) statefulPartition(ctx context.Context, t *df.Transform, spec *df.StatefulSpec, part int, op df.StatefulOp) error {
	groups := spec.Kernel.Groups(r.stores[t].Chunks(part))
	backends := make([]*memBackend, len(groups))
	for i, g := range groups {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		be := newMemBackend()
		backends[i] = be
		op.SetBackend(be)
		if err := g.Replay(op.Input()); err != nil {
			return err
		}
	}
	for i, g := range groups {
		be := backends[i]
		op.SetBackend(be)
		for n := 0; ; n++ {
			td, ok := be.popTimer()
			if !ok {
				break
			}
			if n == maxTimerFirings {
				return &df.TransformError{Transform: t.Name, Err: fmt.Errorf("a key fired %d timers; is a timer re-set forever?", n)}
			}
			if err := op.FireTimer(g.Key, td); err != nil {
				return err
			}
		}
		backends[i] = nil // the key's windows have expired: drop its state
	}
	op.SetBackend(nil)
	return nil
}

type windowState struct {
	w  df.Window
	id string
}

type timerKey struct {
	w           df.Window
	family, tag string
}

// memBackend is one key's state in memory.
type memBackend struct {
	maps   map[windowState]map[string][]byte
	bags   map[windowState][][]byte
	timers map[timerKey]df.TimerData
}

var _ df.StateBackend = (*memBackend)(nil)

func newMemBackend() *memBackend {
	return &memBackend{maps: map[windowState]map[string][]byte{}, bags: map[windowState][][]byte{}, timers: map[timerKey]df.TimerData{}}
}

func (b *memBackend) Get(w df.Window, id string, sub []byte) ([]byte, bool, error) {
	v, ok := b.maps[windowState{w, id}][string(sub)]
	return v, ok, nil
}

func (b *memBackend) Put(w df.Window, id string, sub, value []byte) error {
	k := windowState{w, id}
	m := b.maps[k]
	if m == nil {
		m = map[string][]byte{}
		b.maps[k] = m
	}
	m[string(sub)] = append([]byte(nil), value...)
	return nil
}

func (b *memBackend) Delete(w df.Window, id string, sub []byte) error {
	delete(b.maps[windowState{w, id}], string(sub))
	return nil
}

func (b *memBackend) Append(w df.Window, id string, value []byte) error {
	k := windowState{w, id}
	b.bags[k] = append(b.bags[k], append([]byte(nil), value...))
	return nil
}

func (b *memBackend) Scan(w df.Window, id string, fn func(sub, value []byte) error) error {
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

func (b *memBackend) Clear(w df.Window, id string) error {
	k := windowState{w, id}
	delete(b.maps, k)
	delete(b.bags, k)
	return nil
}

func (b *memBackend) SetTimer(t df.TimerData) error {
	b.timers[timerKey{t.Window, t.Family, t.Tag}] = t
	return nil
}

func (b *memBackend) ClearTimer(w df.Window, family, tag string) error {
	delete(b.timers, timerKey{w, family, tag})
	return nil
}

// popTimer removes and returns the next timer to fire: the earliest
// event-time timer, else the earliest processing-time timer.
func (b *memBackend) popTimer() (df.TimerData, bool) {
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
