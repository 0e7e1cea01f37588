package beam

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// checkWindowing reports what of a windowing strategy the bridge cannot
// express, so that Run fails before submitting. Triggers, accumulation,
// lateness, timestamp combiners and the on-time behavior are written into
// the pipeline proto (see protopatch.go); window fns must be the SDK's.
func checkWindowing(ws df.WindowingStrategy) error {
	_, err := beamWindowFn(ws.Fn)
	return err
}

func beamWindowFn(fn df.WindowFn) (*window.Fn, error) {
	switch f := fn.(type) {
	case df.GlobalWindows:
		return window.NewGlobalWindows(), nil
	case df.FixedWindows:
		if f.Offset != 0 {
			return nil, fmt.Errorf("%v: window offsets are not expressible through Beam's Go SDK", f)
		}
		return window.NewFixedWindows(f.Size), nil
	case df.SlidingWindows:
		if f.Offset != 0 {
			return nil, fmt.Errorf("%v: window offsets are not expressible through Beam's Go SDK", f)
		}
		return window.NewSlidingWindows(f.Period, f.Size), nil
	case df.SessionWindows:
		return window.NewSessions(f.Gap), nil
	}
	return nil, fmt.Errorf("window fn %v has no Beam translation", fn)
}

// windowInto assigns a Sluice window fn's windows to a Beam collection.
func windowInto(s beam.Scope, ws df.WindowingStrategy, in beam.PCollection) (beam.PCollection, error) {
	fn, err := beamWindowFn(ws.Fn)
	if err != nil {
		return beam.PCollection{}, err
	}
	// The trigger and the rest of the strategy are written into the proto.
	return beam.TryWindowInto(s, fn, in, beam.Trigger(trigger.Default()))
}
