package direct

import (
	"context"
	"fmt"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/memstate"
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
	backends := make([]*memstate.Backend, len(groups))
	for i, g := range groups {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		be := memstate.New()
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
			td, ok := be.PopTimer()
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
