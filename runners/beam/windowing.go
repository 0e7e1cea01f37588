package beam

import (
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/protox"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// checkWindowing reports what of a windowing strategy the bridge cannot
// express, so that Run fails before submitting. Triggers, accumulation,
// lateness, timestamp combiners and the on-time behavior are written into
// the pipeline proto (see protopatch.go); window fns are the SDK's, or
// assigned by the bridge (bridgeAssigns).
func checkWindowing(ws df.WindowingStrategy) error {
	_, err := beamWindowFn(ws.Fn)
	return err
}

// bridgeAssigns reports whether the bridge assigns fn's windows itself:
// fixed and sliding windows with an offset. Beam's Go SDK window fns have
// no offset (window.Fn; and the harness ignores the offset of a
// FixedWindowsPayload or SlidingWindowsPayload: exec.unmarshalWindowFn), so
// a WindowInto with an offset runs Sluice's window-assigning operator in a
// bridge DoFn, whose emitter puts each element into the windows it assigns
// (see emitFn), and the collection's windowing strategy in the pipeline
// proto gets the offset (see windowFnProto).
func bridgeAssigns(fn df.WindowFn) bool {
	switch f := fn.(type) {
	case df.FixedWindows:
		return f.Offset != 0
	case df.SlidingWindows:
		return f.Offset != 0
	}
	return false
}

// beamWindowFn returns Beam's window fn for fn. For the window fns the
// bridge assigns itself, it is fixed windows of the same size: the Beam
// WindowInto in front of the bridge's DoFn, which gives the collection
// interval windows (and their coder) in Beam's graph, with windows the
// DoFn then replaces.
func beamWindowFn(fn df.WindowFn) (*window.Fn, error) {
	switch f := fn.(type) {
	case df.GlobalWindows:
		return window.NewGlobalWindows(), nil
	case df.FixedWindows:
		return window.NewFixedWindows(f.Size), nil
	case df.SlidingWindows:
		if f.Offset != 0 {
			return window.NewFixedWindows(f.Size), nil
		}
		return window.NewSlidingWindows(f.Period, f.Size), nil
	case df.SessionWindows:
		return window.NewSessions(f.Gap), nil
	}
	return nil, fmt.Errorf("window fn %v has no Beam translation", fn)
}

// windowInto assigns a Sluice window fn's windows to a Beam collection
// with Beam's WindowInto, for the window fns the bridge does not assign.
func windowInto(s beam.Scope, ws df.WindowingStrategy, in beam.PCollection) (beam.PCollection, error) {
	fn, err := beamWindowFn(ws.Fn)
	if err != nil {
		return beam.PCollection{}, err
	}
	// The trigger and the rest of the strategy are written into the proto.
	return beam.TryWindowInto(s, fn, in, beam.Trigger(trigger.Default()))
}

// windowFnProto is the window fn of a strategy in the pipeline proto, for
// the window fns that Beam's Go SDK cannot marshal (those with an offset),
// and whether it assigns each element to one window.
func windowFnProto(fn df.WindowFn) (spec *pipepb.FunctionSpec, oneWindow bool) {
	offset := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(time.UnixMilli(d.Milliseconds())) }
	switch f := fn.(type) {
	case df.FixedWindows:
		if f.Offset != 0 {
			return &pipepb.FunctionSpec{Urn: graphx.URNFixedWindowsWindowFn, Payload: protox.MustEncode(&pipepb.FixedWindowsPayload{
				Size: durationpb.New(f.Size), Offset: offset(f.Offset)})}, true
		}
	case df.SlidingWindows:
		if f.Offset != 0 {
			return &pipepb.FunctionSpec{Urn: graphx.URNSlidingWindowsWindowFn, Payload: protox.MustEncode(&pipepb.SlidingWindowsPayload{
				Size: durationpb.New(f.Size), Period: durationpb.New(f.Period), Offset: offset(f.Offset)})}, false
		}
	}
	return nil, false
}
