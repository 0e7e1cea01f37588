package dataflow

import (
	"fmt"
	"strings"
	"time"
)

// Trigger says when a window's contents are emitted, in processing time. It is
// a sealed interface of immutable values; the state machines that evaluate
// triggers live in the runners and key their state by the trigger's path in
// the tree (see TriggerPath), never by pointer.
type Trigger interface {
	String() string
	// Children returns the sub-triggers, in order.
	Children() []Trigger
	trigger()
}

// DefaultTrigger fires once when the watermark passes the end of the window,
// and again for every late element within the allowed lateness (Beam's default:
// Repeatedly(AfterWatermark) in effect).
type DefaultTrigger struct{}

// AfterWatermarkTrigger fires when the watermark passes the end of the window.
// Early fires repeatedly before that, Late repeatedly after it; either may be nil.
type AfterWatermarkTrigger struct {
	Early Trigger
	Late  Trigger
}

// AfterCountTrigger fires once when at least N elements have arrived in the pane.
type AfterCountTrigger struct{ N int }

// AfterProcessingTimeTrigger fires once, Delay of processing time after the first
// element of the pane arrived.
type AfterProcessingTimeTrigger struct{ Delay time.Duration }

// RepeatTrigger fires every time its sub-trigger fires, forever.
type RepeatTrigger struct{ Sub Trigger }

// AfterEachTrigger fires its sub-triggers one after the other, each until it finishes.
type AfterEachTrigger struct{ Subs []Trigger }

// AfterAnyTrigger fires once when any of its sub-triggers fires.
type AfterAnyTrigger struct{ Subs []Trigger }

// AfterAllTrigger fires once when all of its sub-triggers have fired.
type AfterAllTrigger struct{ Subs []Trigger }

// OrFinallyTrigger fires as Main does, until Finally fires, which fires a last
// pane and finishes the trigger.
type OrFinallyTrigger struct{ Main, Finally Trigger }

// AlwaysTrigger fires for every element: Repeatedly(AfterCount(1)).
type AlwaysTrigger struct{}

// NeverTrigger never fires on its own; the window's contents are emitted once
// when the window expires (at end of window plus allowed lateness).
type NeverTrigger struct{}

func (DefaultTrigger) trigger()             {}
func (AfterWatermarkTrigger) trigger()      {}
func (AfterCountTrigger) trigger()          {}
func (AfterProcessingTimeTrigger) trigger() {}
func (RepeatTrigger) trigger()              {}
func (AfterEachTrigger) trigger()           {}
func (AfterAnyTrigger) trigger()            {}
func (AfterAllTrigger) trigger()            {}
func (OrFinallyTrigger) trigger()           {}
func (AlwaysTrigger) trigger()              {}
func (NeverTrigger) trigger()               {}

// Default returns the default trigger.
func Default() Trigger { return DefaultTrigger{} }

// AfterWatermark returns a trigger that fires when the watermark passes the end of the window.
func AfterWatermark() AfterWatermarkTrigger { return AfterWatermarkTrigger{} }

// WithEarlyFirings returns t with early firings.
func (t AfterWatermarkTrigger) WithEarlyFirings(early Trigger) AfterWatermarkTrigger {
	t.Early = early
	return t
}

// WithLateFirings returns t with late firings.
func (t AfterWatermarkTrigger) WithLateFirings(late Trigger) AfterWatermarkTrigger {
	t.Late = late
	return t
}

// AfterCount returns a trigger that fires once after n elements.
func AfterCount(n int) Trigger { return AfterCountTrigger{N: n} }

// AfterProcessingTime returns a trigger that fires once, delay after the first element.
func AfterProcessingTime(delay time.Duration) Trigger {
	return AfterProcessingTimeTrigger{Delay: delay}
}

// Repeatedly returns a trigger that fires whenever sub fires, forever.
func Repeatedly(sub Trigger) Trigger { return RepeatTrigger{Sub: sub} }

// AfterEach returns a trigger that runs subs in sequence.
func AfterEach(subs ...Trigger) Trigger { return AfterEachTrigger{Subs: subs} }

// AfterAny returns a trigger that fires once when any of subs fires.
func AfterAny(subs ...Trigger) Trigger { return AfterAnyTrigger{Subs: subs} }

// AfterAll returns a trigger that fires once when all subs have fired.
func AfterAll(subs ...Trigger) Trigger { return AfterAllTrigger{Subs: subs} }

// OrFinally returns a trigger that fires as main does until finally fires.
func OrFinally(main, finally Trigger) Trigger { return OrFinallyTrigger{Main: main, Finally: finally} }

// Always returns a trigger that fires for every element.
func Always() Trigger { return AlwaysTrigger{} }

// Never returns a trigger that only fires when the window expires.
func Never() Trigger { return NeverTrigger{} }

func (DefaultTrigger) Children() []Trigger { return nil }
func (t AfterWatermarkTrigger) Children() []Trigger {
	var c []Trigger
	if t.Early != nil {
		c = append(c, t.Early)
	}
	if t.Late != nil {
		c = append(c, t.Late)
	}
	return c
}
func (AfterCountTrigger) Children() []Trigger          { return nil }
func (AfterProcessingTimeTrigger) Children() []Trigger { return nil }
func (t RepeatTrigger) Children() []Trigger            { return []Trigger{t.Sub} }
func (t AfterEachTrigger) Children() []Trigger         { return t.Subs }
func (t AfterAnyTrigger) Children() []Trigger          { return t.Subs }
func (t AfterAllTrigger) Children() []Trigger          { return t.Subs }
func (t OrFinallyTrigger) Children() []Trigger         { return []Trigger{t.Main, t.Finally} }
func (AlwaysTrigger) Children() []Trigger              { return nil }
func (NeverTrigger) Children() []Trigger               { return nil }

func (DefaultTrigger) String() string { return "Default" }
func (t AfterWatermarkTrigger) String() string {
	s := "AfterWatermark"
	if t.Early != nil {
		s += ".Early(" + t.Early.String() + ")"
	}
	if t.Late != nil {
		s += ".Late(" + t.Late.String() + ")"
	}
	return s
}
func (t AfterCountTrigger) String() string { return fmt.Sprintf("AfterCount(%d)", t.N) }
func (t AfterProcessingTimeTrigger) String() string {
	return fmt.Sprintf("AfterProcessingTime(%v)", t.Delay)
}
func (t RepeatTrigger) String() string    { return "Repeatedly(" + t.Sub.String() + ")" }
func (t AfterEachTrigger) String() string { return "AfterEach(" + joinTriggers(t.Subs) + ")" }
func (t AfterAnyTrigger) String() string  { return "AfterAny(" + joinTriggers(t.Subs) + ")" }
func (t AfterAllTrigger) String() string  { return "AfterAll(" + joinTriggers(t.Subs) + ")" }
func (t OrFinallyTrigger) String() string {
	return t.Main.String() + ".OrFinally(" + t.Finally.String() + ")"
}
func (AlwaysTrigger) String() string { return "Always" }
func (NeverTrigger) String() string  { return "Never" }

func joinTriggers(ts []Trigger) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}

// ValidateTrigger checks a trigger tree: counts and delays in range, no nil
// sub-triggers, composite triggers with at least one child.
func ValidateTrigger(t Trigger) error {
	switch t := t.(type) {
	case nil:
		return fmt.Errorf("nil trigger")
	case AfterCountTrigger:
		if t.N < 1 {
			return fmt.Errorf("%v: count must be at least 1", t)
		}
	case AfterProcessingTimeTrigger:
		if t.Delay < 0 {
			return fmt.Errorf("%v: delay must not be negative", t)
		}
	case RepeatTrigger:
		if t.Sub == nil {
			return fmt.Errorf("Repeatedly: nil sub-trigger")
		}
	case AfterEachTrigger, AfterAnyTrigger, AfterAllTrigger:
		if len(t.Children()) == 0 {
			return fmt.Errorf("%v: needs at least one sub-trigger", t)
		}
	case OrFinallyTrigger:
		if t.Main == nil || t.Finally == nil {
			return fmt.Errorf("OrFinally: nil sub-trigger")
		}
	}
	for _, c := range t.Children() {
		if err := ValidateTrigger(c); err != nil {
			return err
		}
	}
	return nil
}
