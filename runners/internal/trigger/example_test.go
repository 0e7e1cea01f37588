package trigger_test

import (
	"fmt"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/trigger"
)

// Bounded input, as the direct runner drives it: every element arrives with
// the watermark at -inf, then the watermark jumps to +inf.
func ExampleReducer() {
	r, err := trigger.NewReducer(dataflow.WindowingStrategy{
		Fn:      dataflow.Global(),
		Trigger: dataflow.Repeatedly(dataflow.AfterCount(2)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	values := []string{"a", "b", "c", "d", "e"}
	now := time.Now() // processing time stands still for bounded input
	s := r.NewState(dataflow.GlobalWindow)
	var kept []string
	show := func(panes []trigger.Pane) {
		for _, p := range panes {
			fmt.Println(p.Info.Timing, p.Info.Index, kept[p.From:p.To], p.Info.IsLast)
		}
	}
	for i, v := range values {
		ok, panes := r.OnElement(&s, dataflow.EventTime(i), dataflow.MinTime, now)
		if ok {
			kept = append(kept, v)
		}
		show(panes)
	}
	show(r.OnWatermark(&s, dataflow.MaxTime, now))
	fmt.Println("expired:", r.Expired(&s))
	// Output:
	// EARLY 0 [a b] false
	// EARLY 1 [c d] false
	// ON_TIME 2 [e] true
	// expired: true
}
