package beam

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Beam's Go SDK expresses fewer windowing strategies than Beam's model (and
// Sluice): no timestamp combiners but end-of-window, the on-time behavior
// always FIRE_IF_NONEMPTY, no AfterProcessingTime without a delay, and no
// continuation triggers after a GroupByKey. Triggers are evaluated by the
// runner, never by the SDK harness, so the bridge builds the Go graph with
// the default trigger and then writes each collection's Sluice strategy
// into the pipeline proto: trigger, accumulation mode, allowed lateness,
// timestamp combiner and on-time behavior. Window fns stay the SDK's, but
// for the offsets of fixed and sliding windows, which the bridge assigns
// itself (see bridgeAssigns) and writes here.

// record notes the Sluice windowing strategy a Beam collection carries.
func (tr *translator) record(pc beam.PCollection, ws df.WindowingStrategy) beam.PCollection {
	if id, ok := nodeID(pc); ok {
		tr.strategies[id] = ws
	}
	return pc
}

// nodeID is the proto id of a Beam collection: graphx names it "n<id>"
// after the graph node, whose id PCollection.String prints first.
func nodeID(pc beam.PCollection) (string, bool) {
	s := strings.TrimPrefix(pc.String(), "{")
	n, _, ok := strings.Cut(s, ":")
	if !ok {
		return "", false
	}
	if _, err := strconv.Atoi(n); err != nil {
		return "", false
	}
	return "n" + n, true
}

// patchStrategies rewrites the windowing strategies of the recorded
// collections in p.
func patchStrategies(p *pipepb.Pipeline, strategies map[string]df.WindowingStrategy) error {
	comps := p.GetComponents()
	byContent := map[string]string{}
	n := 0
	for id, ws := range strategies {
		pc := comps.GetPcollections()[id]
		if pc == nil {
			continue
		}
		old := comps.GetWindowingStrategies()[pc.GetWindowingStrategyId()]
		if old == nil {
			return fmt.Errorf("beam bridge: collection %s has no windowing strategy", id)
		}
		nws := proto.Clone(old).(*pipepb.WindowingStrategy)
		if fn, oneWindow := windowFnProto(ws.Fn); fn != nil {
			// Window fns with an offset: the Go graph has windows of the
			// same size and kind of coder; the bridge assigns the windows.
			nws.WindowFn = fn
			nws.AssignsToOneWindow = oneWindow
		}
		nws.Trigger = triggerProto(ws.Trigger)
		nws.AllowedLateness = ws.AllowedLateness.Milliseconds()
		nws.AccumulationMode = pipepb.AccumulationMode_DISCARDING
		if ws.Accumulation == df.Accumulating {
			nws.AccumulationMode = pipepb.AccumulationMode_ACCUMULATING
		}
		switch ws.TimestampCombiner {
		case df.Earliest:
			nws.OutputTime = pipepb.OutputTime_EARLIEST_IN_PANE
		case df.Latest:
			nws.OutputTime = pipepb.OutputTime_LATEST_IN_PANE
		default:
			nws.OutputTime = pipepb.OutputTime_END_OF_WINDOW
		}
		nws.OnTimeBehavior = pipepb.OnTimeBehavior_FIRE_ALWAYS
		if ws.OnTime == df.FireIfNonEmpty {
			nws.OnTimeBehavior = pipepb.OnTimeBehavior_FIRE_IF_NONEMPTY
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(nws)
		if err != nil {
			return err
		}
		wsID, ok := byContent[string(b)]
		if !ok {
			wsID = fmt.Sprintf("sluice_ws%d", n)
			n++
			byContent[string(b)] = wsID
			comps.WindowingStrategies[wsID] = nws
		}
		pc.WindowingStrategyId = wsID
	}
	return nil
}

func triggerProto(t df.Trigger) *pipepb.Trigger {
	subs := func(ts []df.Trigger) []*pipepb.Trigger {
		out := make([]*pipepb.Trigger, len(ts))
		for i, s := range ts {
			out[i] = triggerProto(s)
		}
		return out
	}
	switch t := t.(type) {
	case df.AfterWatermarkTrigger:
		// Beam's Go SDK always sets the early firings, to the default
		// trigger when there are none; Prism's AfterEndOfWindow behaves as
		// Beam's model says only with that encoding, so the bridge keeps it.
		aw := &pipepb.Trigger_AfterEndOfWindow{EarlyFirings: triggerProto(df.DefaultTrigger{})}
		if t.Early != nil {
			aw.EarlyFirings = triggerProto(t.Early)
		}
		if t.Late != nil {
			aw.LateFirings = triggerProto(t.Late)
		}
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterEndOfWindow_{AfterEndOfWindow: aw}}
	case df.AfterCountTrigger:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_ElementCount_{ElementCount: &pipepb.Trigger_ElementCount{ElementCount: int32(t.N)}}}
	case df.AfterProcessingTimeTrigger:
		apt := &pipepb.Trigger_AfterProcessingTime{}
		if t.Delay > 0 {
			apt.TimestampTransforms = []*pipepb.TimestampTransform{{TimestampTransform: &pipepb.TimestampTransform_Delay_{
				Delay: &pipepb.TimestampTransform_Delay{DelayMillis: int64(t.Delay / time.Millisecond)}}}}
		}
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterProcessingTime_{AfterProcessingTime: apt}}
	case df.RepeatTrigger:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_Repeat_{Repeat: &pipepb.Trigger_Repeat{Subtrigger: triggerProto(t.Sub)}}}
	case df.AfterEachTrigger:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterEach_{AfterEach: &pipepb.Trigger_AfterEach{Subtriggers: subs(t.Subs)}}}
	case df.AfterAnyTrigger:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterAny_{AfterAny: &pipepb.Trigger_AfterAny{Subtriggers: subs(t.Subs)}}}
	case df.AfterAllTrigger:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_AfterAll_{AfterAll: &pipepb.Trigger_AfterAll{Subtriggers: subs(t.Subs)}}}
	case df.OrFinallyTrigger:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_OrFinally_{OrFinally: &pipepb.Trigger_OrFinally{Main: triggerProto(t.Main), Finally: triggerProto(t.Finally)}}}
	case df.AlwaysTrigger:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_Always_{Always: &pipepb.Trigger_Always{}}}
	case df.NeverTrigger:
		return &pipepb.Trigger{Trigger: &pipepb.Trigger_Never_{Never: &pipepb.Trigger_Never{}}}
	}
	return &pipepb.Trigger{Trigger: &pipepb.Trigger_Default_{Default: &pipepb.Trigger_Default{}}}
}
