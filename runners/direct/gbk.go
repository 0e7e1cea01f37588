package direct

import (
	"cmp"
	"context"
	"iter"
	"slices"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/shuffle"
	"github.com/sluicedata/sluice/runners/internal/trigger"
)

// groupPartition forms the panes of one partition of a GroupByKey, with
// Beam's semantics for bounded input: every element arrives while the
// watermark is at -inf, in the order the partition received it, and then the
// watermark jumps to +inf, which fires on-time panes and expires every window.
func (r *run) groupPartition(ctx context.Context, t *df.Transform, part int, sink df.GroupSink) error {
	sh := r.shuffles[t]
	ws := t.Inputs[0].Windowing
	red := r.reducers[t]
	merging := ws.Fn.IsMerging()
	once := ws.IsDefaultTrigger() // one on-time pane per window: no trigger to run
	n := 0
	return sh.Groups(part, func(g *shuffle.Group) error {
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !merging {
			return r.firePanes(g.Key, g.Window, g.Records, ws, red, once, sink)
		}
		if !once {
			return r.fireMergingPanes(g.Key, g.Records, red, sink)
		}
		// Sessions under a trigger that fires once: merge the windows of the
		// key's elements, then fire each merged window.
		wins := make([]df.Window, len(g.Records))
		for i := range g.Records {
			wins[i] = g.Records[i].Window
		}
		merged, into := df.MergeWindows(wins)
		buckets := make([][]shuffle.Record, len(merged))
		for i, m := range into {
			buckets[m] = append(buckets[m], g.Records[i])
		}
		for i, w := range merged {
			if err := r.firePanes(g.Key, w, buckets[i], ws, red, once, sink); err != nil {
				return err
			}
		}
		return nil
	})
}

func (r *run) firePanes(key []byte, w df.Window, recs []shuffle.Record, ws df.WindowingStrategy, red *trigger.Reducer, once bool, sink df.GroupSink) error {
	if once {
		ts := w.MaxTimestamp()
		if ws.TimestampCombiner != df.EndOfWindow {
			ts = recs[0].Time
			for _, rec := range recs[1:] {
				if ws.TimestampCombiner == df.Earliest {
					ts = df.MinOf(ts, rec.Time)
				} else {
					ts = df.MaxOf(ts, rec.Time)
				}
			}
			ts = df.MinOf(ts, w.MaxTimestamp())
		}
		pane := df.PaneInfo{Timing: df.PaneOnTime, IsFirst: true, IsLast: true}
		return sink.Emit(key, newValues(recs), ts, w, pane)
	}
	st := red.NewState(w)
	accepted := make([]shuffle.Record, 0, len(recs))
	emit := func(panes []trigger.Pane) error {
		for _, p := range panes {
			if err := sink.Emit(key, newValues(accepted[p.From:p.To]), p.Timestamp, w, p.Info); err != nil {
				return err
			}
		}
		return nil
	}
	for _, rec := range recs {
		ok, panes := red.OnElement(&st, rec.Time, df.MinTime, r.now)
		if ok {
			accepted = append(accepted, rec)
		}
		if err := emit(panes); err != nil {
			return err
		}
	}
	return emit(red.OnWatermark(&st, df.MaxTime, r.now))
}

// values are the encoded values of one pane. They point into the shuffle's
// memory, which lives until the GroupByKey's stage is done.
type values [][]byte

func newValues(recs []shuffle.Record) values {
	v := make(values, len(recs))
	for i := range recs {
		v[i] = recs[i].Value
	}
	return v
}

func (v values) Len() int { return len(v) }

func (v values) All() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, b := range v {
			if !yield(b) {
				return
			}
		}
	}
}

// seqRecord is an element with its arrival position within its key.
type seqRecord struct {
	rec shuffle.Record
	seq int
}

// activeWindow is a session window of one key while its elements arrive.
type activeWindow struct {
	st   trigger.WindowState
	recs []seqRecord // accepted, in the reducer's numbering
}

// fireMergingPanes runs a key's elements through merging (session) windows
// one at a time, as Beam's ReduceFnRunner does: each element's window merges
// with the active windows it overlaps into a new window, whose trigger state
// is the merge of theirs, and then the element is added to it. Panes fire in
// the window as it is at that moment.
func (r *run) fireMergingPanes(key []byte, recs []shuffle.Record, red *trigger.Reducer, sink df.GroupSink) error {
	var active []*activeWindow
	emit := func(a *activeWindow, panes []trigger.Pane) error {
		for _, p := range panes {
			vals := make(values, 0, p.To-p.From)
			for _, sr := range a.recs[p.From:p.To] {
				vals = append(vals, sr.rec.Value)
			}
			if err := sink.Emit(key, vals, p.Timestamp, a.st.Window(), p.Info); err != nil {
				return err
			}
		}
		return nil
	}
	for seq, rec := range recs {
		w := rec.Window
		var merging []*activeWindow
		for changed := true; changed; {
			changed = false
			rest := active[:0]
			for _, a := range active {
				if a.st.Window().Intersects(w) {
					w = w.Span(a.st.Window())
					merging = append(merging, a)
					changed = true
				} else {
					rest = append(rest, a)
				}
			}
			active = rest
		}
		var a *activeWindow
		switch len(merging) {
		case 0:
			a = &activeWindow{st: red.NewState(w)}
		case 1:
			// The window grows: its elements are already numbered in order.
			a = merging[0]
			if a.st.Window() != w {
				a.st = red.Merge(w, &a.st)
			}
		default:
			states := make([]*trigger.WindowState, len(merging))
			var emitted, pending []seqRecord
			for i, m := range merging {
				states[i] = &m.st
				emitted = append(emitted, m.recs[:m.st.PaneStart()]...)
				pending = append(pending, m.recs[m.st.PaneStart():]...)
			}
			bySeq := func(x, y seqRecord) int { return x.seq - y.seq }
			slices.SortFunc(emitted, bySeq)
			slices.SortFunc(pending, bySeq)
			a = &activeWindow{st: red.Merge(w, states...), recs: append(emitted, pending...)}
		}
		active = append(active, a)
		ok, panes := red.OnElement(&a.st, rec.Time, df.MinTime, r.now)
		if ok {
			a.recs = append(a.recs, seqRecord{rec, seq})
		}
		if err := emit(a, panes); err != nil {
			return err
		}
	}
	slices.SortFunc(active, func(x, y *activeWindow) int { return cmp.Compare(x.st.Window().Start, y.st.Window().Start) })
	for _, a := range active {
		if err := emit(a, red.OnWatermark(&a.st, df.MaxTime, r.now)); err != nil {
			return err
		}
	}
	return nil
}
