package beam

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
)

// The stateful DoFns with the chain's side inputs: the same as in
// stateful.go, with the one Beam side input (see reifyFn) after the main
// input. Beam's Go SDK wants the side input in every bundle method too.

type stateSideFn struct {
	fnBase
	Cells state.Map[string, []byte] `json:"cells"`
}

func (f *stateSideFn) StartBundle(ctx context.Context, _ func(*[]byte) bool, _ emitFn) error {
	return f.start(ctx)
}

func (f *stateSideFn) FinishBundle(ctx context.Context, _ func(*[]byte) bool, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

func (f *stateSideFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, sp state.Provider, key []byte, v []byte, side func(*[]byte) bool, emit emitFn) error {
	f.inst.stateful.SetBackend(&beamState{cells: &f.Cells, sp: sp})
	return f.inst.processElem(ctx, pn, w, t, v, side, emit)
}

type stateTimerSideFn struct {
	fnBase
	Cells state.Map[string, []byte] `json:"cells"`
	Event timers.EventTime          `json:"event"`
	Proc  timers.ProcessingTime     `json:"proc"`
}

func (f *stateTimerSideFn) StartBundle(ctx context.Context, _ func(*[]byte) bool, _ emitFn) error {
	return f.start(ctx)
}

func (f *stateTimerSideFn) FinishBundle(ctx context.Context, _ func(*[]byte) bool, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

func (f *stateTimerSideFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, v []byte, side func(*[]byte) bool, emit emitFn) error {
	f.inst.stateful.SetBackend(f.timerBackend(&f.Cells, &f.Event, &f.Proc, sp, tp))
	return f.inst.processElem(ctx, pn, w, t, v, side, emit)
}

func (f *stateTimerSideFn) OnTimer(ctx context.Context, ts typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, timer timers.Context, side func(*[]byte) bool, emit emitFn) error {
	if err := f.inst.ensureSides(side); err != nil {
		return err
	}
	return f.onTimer(f.timerBackend(&f.Cells, &f.Event, &f.Proc, sp, tp), ts, key, timer, emit)
}

type stateEventSideFn struct {
	fnBase
	Cells state.Map[string, []byte] `json:"cells"`
	Event timers.EventTime          `json:"event"`
}

func (f *stateEventSideFn) StartBundle(ctx context.Context, _ func(*[]byte) bool, _ emitFn) error {
	return f.start(ctx)
}

func (f *stateEventSideFn) FinishBundle(ctx context.Context, _ func(*[]byte) bool, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

func (f *stateEventSideFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, v []byte, side func(*[]byte) bool, emit emitFn) error {
	f.inst.stateful.SetBackend(f.timerBackend(&f.Cells, &f.Event, nil, sp, tp))
	return f.inst.processElem(ctx, pn, w, t, v, side, emit)
}

func (f *stateEventSideFn) OnTimer(ctx context.Context, ts typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, timer timers.Context, side func(*[]byte) bool, emit emitFn) error {
	if err := f.inst.ensureSides(side); err != nil {
		return err
	}
	return f.onTimer(f.timerBackend(&f.Cells, &f.Event, nil, sp, tp), ts, key, timer, emit)
}

type stateProcSideFn struct {
	fnBase
	Cells state.Map[string, []byte] `json:"cells"`
	Proc  timers.ProcessingTime     `json:"proc"`
}

func (f *stateProcSideFn) StartBundle(ctx context.Context, _ func(*[]byte) bool, _ emitFn) error {
	return f.start(ctx)
}

func (f *stateProcSideFn) FinishBundle(ctx context.Context, _ func(*[]byte) bool, emit emitFn) error {
	return f.inst.finishBundle(ctx, emit)
}

func (f *stateProcSideFn) ProcessElement(ctx context.Context, pn typex.PaneInfo, w typex.Window, t typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, v []byte, side func(*[]byte) bool, emit emitFn) error {
	f.inst.stateful.SetBackend(f.timerBackend(&f.Cells, nil, &f.Proc, sp, tp))
	return f.inst.processElem(ctx, pn, w, t, v, side, emit)
}

func (f *stateProcSideFn) OnTimer(ctx context.Context, ts typex.EventTime, sp state.Provider, tp timers.Provider, key []byte, timer timers.Context, side func(*[]byte) bool, emit emitFn) error {
	if err := f.inst.ensureSides(side); err != nil {
		return err
	}
	return f.onTimer(f.timerBackend(&f.Cells, nil, &f.Proc, sp, tp), ts, key, timer, emit)
}
