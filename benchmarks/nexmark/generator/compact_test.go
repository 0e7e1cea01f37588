package generator

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompactKeepsValues(t *testing.T) {
	g, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	events := g.Events(0, 20_000)
	compact := Compact(events)
	if diff := cmp.Diff(events, compact); diff != "" {
		t.Fatalf("Compact changed events (-want +got):\n%s", diff)
	}
	for i := range events {
		if events[i].Hash() != compact[i].Hash() {
			t.Fatalf("event %d: hash %x, compacted %x", i, events[i].Hash(), compact[i].Hash())
		}
	}
}
