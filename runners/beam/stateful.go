package beam

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// A StatefulParDo runs in stateFn, whose Beam state and timers are a fixed
// set: one map state cell holds every Sluice state (keys "<id>\x00<sub>"),
// and two timer families, one per time domain, carry every Sluice timer
// with the dynamic tag "<family>\x00<tag>". Beam scopes both by key and
// window, as Sluice's StateBackend is scoped.
//
// Keys of the map cell:
//
//	"\x00" id "\x00" sub      value, bag entry (sub: 8-byte sequence number) or map entry
//	"\x01" id                 next sequence number of bag id
//	"\x02" family "\x00" tag  fire time and output timestamp of a set timer
type stateFn struct {
	fnBase
	Cells state.Map[string, []byte] `json:"cells"`
}

// stateTimerFn, stateEventFn and stateProcFn are stateFn with timers, in
// both time domains or one. Beam wants timer families declared only by
// DoFns with an OnTimer, and on Prism v2.77.0 a bundle of a DoFn that
// declares a family it never sets does not finish, so each DoFn declares
// only the domains its Sluice DoFn uses.
type stateTimerFn struct {
	fnBase
	Cells state.Map[string, []byte] `json:"cells"`
	Event timers.EventTime          `json:"event"`
	Proc  timers.ProcessingTime     `json:"proc"`
}

type stateEventFn struct {
	fnBase
	Cells state.Map[string, []byte] `json:"cells"`
	Event timers.EventTime          `json:"event"`
}

type stateProcFn struct {
	fnBase
	Cells state.Map[string, []byte] `json:"cells"`
	Proc  timers.ProcessingTime     `json:"proc"`
}

const (
	eventFamily = "sluice-event"
	procFamily  = "sluice-proc"
)

func newStateFn(b fnBase, spec *df.StatefulSpec, sides bool) any {
	cells := state.MakeMapState[string, []byte]("sluice")
	var ev, pr bool
	for _, t := range spec.Timers {
		if t.Domain() == df.ProcessingTimeDomain {
			pr = true
		} else {
			ev = true
		}
	}
	if sides {
		switch {
		case ev && pr:
			return &stateTimerSideFn{fnBase: b, Cells: cells, Event: timers.InEventTime(eventFamily), Proc: timers.InProcessingTime(procFamily)}
		case ev:
			return &stateEventSideFn{fnBase: b, Cells: cells, Event: timers.InEventTime(eventFamily)}
		case pr:
			return &stateProcSideFn{fnBase: b, Cells: cells, Proc: timers.InProcessingTime(procFamily)}
		}
		return &stateSideFn{fnBase: b, Cells: cells}
	}
	switch {
	case ev && pr:
		return &stateTimerFn{fnBase: b, Cells: cells, Event: timers.InEventTime(eventFamily), Proc: timers.InProcessingTime(procFamily)}
	case ev:
		return &stateEventFn{fnBase: b, Cells: cells, Event: timers.InEventTime(eventFamily)}
	case pr:
		return &stateProcFn{fnBase: b, Cells: cells, Proc: timers.InProcessingTime(procFamily)}
	}
	return &stateFn{fnBase: b, Cells: cells}
}

func (f *stateFn) StartBundle(ctx context.Context, _ emitFn) error {
	return f.start(ctx)
}

func (f *stateFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, sp state.Provider, key []byte, v []byte, emit emitFn) error {
	f.inst.stateful.SetBackend(&beamState{cells: &f.Cells, sp: sp})
	return f.inst.processElem(ctx, pn, w, t, v, nil, emit)
}

func (f *stateFn) FinishBundle(ctx context.Context, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

func (f *fnBase) timerBackend(cells *state.Map[string, []byte], ev *timers.EventTime, pr *timers.ProcessingTime, sp state.Provider, tp timers.Provider) *beamState {
	return &beamState{cells: cells, sp: sp, tp: tp, event: ev, proc: pr, spec: f.inst.root.Spec.(*df.ParDoSpec).Stateful}
}

func (f *fnBase) processTimed(ctx context.Context, be *beamState, pn typex.PaneInfo, w typex.Window, t typex.EventTime, v []byte, emit emitFn) error {
	f.inst.stateful.SetBackend(be)
	return f.inst.processElem(ctx, pn, w, t, v, nil, emit)
}

// onTimer fires a Sluice timer. Beam gives the family and the dynamic tag
// ("<family>|<tag>"); the fire time, output timestamp and window were kept
// in state when the timer was set.
func (f *fnBase) onTimer(be *beamState, ts typex.EventTime, key []byte, timer timers.Context, emit emitFn) error {
	f.inst.stateful.SetBackend(be)
	family, tag, _ := strings.Cut(timer.Tag, "|")
	td := df.TimerData{Family: family, Tag: tag, Window: df.GlobalWindow, FireAt: df.EventTime(ts), Hold: df.EventTime(ts)}
	if timer.Family == procFamily {
		td.Domain = df.ProcessingTimeDomain
	}
	meta := timerKey(family, tag)
	b, ok, err := be.cells.Get(be.sp, meta)
	if err != nil {
		return err
	}
	if !ok {
		return nil // cleared after it was scheduled
	}
	var vs [4]int64
	for i := range vs {
		v, n := binary.Varint(b)
		if n <= 0 {
			return fmt.Errorf("beam bridge: malformed timer record")
		}
		vs[i], b = v, b[n:]
	}
	td.FireAt, td.Hold, td.Window = df.EventTime(vs[0]), df.EventTime(vs[1]), df.Window{Start: df.EventTime(vs[2]), End: df.EventTime(vs[3])}
	if err := be.cells.Remove(be.sp, meta); err != nil {
		return err
	}
	inst := f.inst
	inst.emit = emit
	inst.win = td.Window
	return inst.stateful.FireTimer(key, td)
}

func (f *stateTimerFn) StartBundle(ctx context.Context, _ emitFn) error {
	return f.start(ctx)
}

func (f *stateTimerFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, v []byte, emit emitFn) error {
	return f.processTimed(ctx, f.timerBackend(&f.Cells, &f.Event, &f.Proc, sp, tp), pn, w, t, v, emit)
}

func (f *stateTimerFn) OnTimer(ctx context.Context, ts typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, timer timers.Context, emit emitFn) error {
	return f.onTimer(f.timerBackend(&f.Cells, &f.Event, &f.Proc, sp, tp), ts, key, timer, emit)
}

func (f *stateTimerFn) FinishBundle(ctx context.Context, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

func (f *stateEventFn) StartBundle(ctx context.Context, _ emitFn) error {
	return f.start(ctx)
}

func (f *stateEventFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, v []byte, emit emitFn) error {
	return f.processTimed(ctx, f.timerBackend(&f.Cells, &f.Event, nil, sp, tp), pn, w, t, v, emit)
}

func (f *stateEventFn) OnTimer(ctx context.Context, ts typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, timer timers.Context, emit emitFn) error {
	return f.onTimer(f.timerBackend(&f.Cells, &f.Event, nil, sp, tp), ts, key, timer, emit)
}

func (f *stateEventFn) FinishBundle(ctx context.Context, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

func (f *stateProcFn) StartBundle(ctx context.Context, _ emitFn) error {
	return f.start(ctx)
}

func (f *stateProcFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, v []byte, emit emitFn) error {
	return f.processTimed(ctx, f.timerBackend(&f.Cells, nil, &f.Proc, sp, tp), pn, w, t, v, emit)
}

func (f *stateProcFn) OnTimer(ctx context.Context, ts typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, timer timers.Context, emit emitFn) error {
	return f.onTimer(f.timerBackend(&f.Cells, nil, &f.Proc, sp, tp), ts, key, timer, emit)
}

func (f *stateProcFn) FinishBundle(ctx context.Context, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

func timerKey(family, tag string) string { return "\x02" + family + "\x00" + tag }

// beamState is Sluice's StateBackend over the stateFn's Beam state of the
// current key and window.
type beamState struct {
	cells *state.Map[string, []byte]
	sp    state.Provider
	tp    timers.Provider        // nil without timers
	event *timers.EventTime      // nil without timers
	proc  *timers.ProcessingTime // nil without timers
	spec  *df.StatefulSpec
}

func cellKey(id string, sub []byte) string { return "\x00" + id + "\x00" + string(sub) }

func (b *beamState) Get(_ df.Window, id string, sub []byte) ([]byte, bool, error) {
	return b.cells.Get(b.sp, cellKey(id, sub))
}

func (b *beamState) Put(_ df.Window, id string, sub, value []byte) error {
	return b.cells.Put(b.sp, cellKey(id, sub), value)
}

func (b *beamState) Delete(_ df.Window, id string, sub []byte) error {
	return b.cells.Remove(b.sp, cellKey(id, sub))
}

func (b *beamState) Append(_ df.Window, id string, value []byte) error {
	seqKey := "\x01" + id
	var seq uint64
	if raw, ok, err := b.cells.Get(b.sp, seqKey); err != nil {
		return err
	} else if ok && len(raw) == 8 {
		seq = binary.BigEndian.Uint64(raw)
	}
	if err := b.cells.Put(b.sp, cellKey(id, binary.BigEndian.AppendUint64(nil, seq)), value); err != nil {
		return err
	}
	return b.cells.Put(b.sp, seqKey, binary.BigEndian.AppendUint64(nil, seq+1))
}

// keysOf returns the cell keys of state id, sorted (a bag's in order).
func (b *beamState) keysOf(id string) ([]string, error) {
	keys, _, err := b.cells.Keys(b.sp)
	if err != nil {
		return nil, err
	}
	prefix := cellKey(id, nil)
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (b *beamState) Scan(_ df.Window, id string, fn func(sub, value []byte) error) error {
	keys, err := b.keysOf(id)
	if err != nil {
		return err
	}
	prefix := len(cellKey(id, nil))
	for _, k := range keys {
		v, ok, err := b.cells.Get(b.sp, k)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if err := fn([]byte(k[prefix:]), v); err != nil {
			return err
		}
	}
	return nil
}

func (b *beamState) Clear(_ df.Window, id string) error {
	keys, err := b.keysOf(id)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.cells.Remove(b.sp, k); err != nil {
			return err
		}
	}
	return b.cells.Remove(b.sp, "\x01"+id)
}

func (b *beamState) SetTimer(t df.TimerData) error {
	if b.tp == nil {
		return fmt.Errorf("timer %q is not declared by the DoFn", t.Family)
	}
	var meta []byte
	for _, v := range []df.EventTime{t.FireAt, t.Hold, t.Window.Start, t.Window.End} {
		meta = binary.AppendVarint(meta, int64(v))
	}
	if err := b.cells.Put(b.sp, timerKey(t.Family, t.Tag), meta); err != nil {
		return err
	}
	tag, hold := timers.WithTag(t.Family+"|"+t.Tag), timers.WithOutputTimestamp(time.UnixMilli(int64(t.Hold)))
	if t.Domain == df.ProcessingTimeDomain && b.proc != nil {
		b.proc.Set(b.tp, time.UnixMilli(int64(t.FireAt)), tag, hold)
	} else if b.event != nil {
		b.event.Set(b.tp, time.UnixMilli(int64(t.FireAt)), tag, hold)
	}
	return nil
}

func (b *beamState) ClearTimer(_ df.Window, family, tag string) error {
	if b.tp == nil {
		return fmt.Errorf("timer family %q is not declared by the DoFn", family)
	}
	var domain df.TimeDomain
	found := false
	for _, ts := range b.spec.Timers {
		if ts.TimerFamily() == family {
			domain, found = ts.Domain(), true
		}
	}
	if !found {
		return fmt.Errorf("timer family %q is not declared by the DoFn", family)
	}
	if err := b.cells.Remove(b.sp, timerKey(family, tag)); err != nil {
		return err
	}
	if domain == df.ProcessingTimeDomain && b.proc != nil {
		b.proc.ClearTag(b.tp, family+"|"+tag)
	} else if b.event != nil {
		b.event.ClearTag(b.tp, family+"|"+tag)
	}
	return nil
}
