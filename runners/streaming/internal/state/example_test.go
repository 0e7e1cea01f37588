package state_test

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/trigger"
	"github.com/sluicedata/sluice/runners/streaming/internal/state"
)

// A GroupByKey's per-element path: the trigger state and the element
// buffer of each key and window live in the store; after each firing in
// discarding mode the buffer is dropped, so it holds the next pane.
func ExampleStage_groupByKey() {
	s, err := state.Open("job/state", state.Options{FS: vfs.NewMem()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	st, err := s.Stage("CountWords/GroupByKey", state.StageOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := trigger.NewReducer(dataflow.WindowingStrategy{
		Fn:      dataflow.Global(),
		Trigger: dataflow.Repeatedly(dataflow.AfterCount(2)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	key, w, now := []byte("word"), dataflow.GlobalWindow, time.Now()

	process := func(v string, ts dataflow.EventTime) error {
		ws := r.NewState(w)
		raw, ok, err := st.GetWindowState(key, w)
		if err != nil {
			return err
		}
		if ok {
			if err := ws.UnmarshalBinary(raw); err != nil {
				return err
			}
		}
		accepted, panes := r.OnElement(&ws, ts, dataflow.MinTime, now)
		if accepted {
			if err := st.AppendElement(key, w, []byte(v)); err != nil {
				return err
			}
		}
		for _, p := range panes {
			var vals []string
			for e, err := range st.Elements(key, w) {
				if err != nil {
					return err
				}
				vals = append(vals, string(e))
			}
			fmt.Println(p.Info.Timing, p.Info.Index, vals)
			if err := st.DropWindow(key, w); err != nil {
				return err
			}
		}
		b, err := ws.MarshalBinary()
		if err != nil {
			return err
		}
		return st.PutWindowState(key, w, b)
	}
	for i, v := range []string{"a", "b", "c", "d", "e"} {
		if err := process(v, dataflow.EventTime(i)); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := s.Flush(); err != nil {
		fmt.Println(err)
		return
	}
	var left []string
	for e, err := range st.Elements(key, w) {
		if err != nil {
			fmt.Println(err)
			return
		}
		left = append(left, string(e))
	}
	fmt.Println("buffered:", left)
	// Output:
	// EARLY 0 [a b]
	// EARLY 1 [c d]
	// buffered: [e]
}
