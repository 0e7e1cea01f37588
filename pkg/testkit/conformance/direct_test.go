package conformance_test

import (
	"testing"

	"github.com/sluicedata/sluice/pkg/testkit/conformance"
	"github.com/sluicedata/sluice/runners/direct"
)

// TestDirect runs the suite on the direct runner in several configurations,
// so that both the lifted and the unlifted Combine paths, one worker and
// several, and GroupByKey spilling all run every case.
func TestDirect(t *testing.T) {
	for _, cfg := range []struct {
		name string
		opts direct.Options
	}{
		{"Parallelism1", direct.Options{Parallelism: 1}},
		{"Parallelism4", direct.Options{Parallelism: 4}},
		{"Unlifted", direct.Options{Parallelism: 4, DisableCombinerLifting: true}},
		{"Spilling", direct.Options{Parallelism: 4, Partitions: 3, MemoryBudget: 64 << 10}},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			opts := cfg.opts
			if opts.MemoryBudget != 0 {
				opts.SpillDir = t.TempDir()
			}
			conformance.Run(t, direct.New(opts), conformance.BoundedOnly())
		})
	}
}
