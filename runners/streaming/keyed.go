package streaming

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"sync"
	"unsafe"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/internal/trigger"
	"github.com/sluicedata/sluice/runners/streaming/internal/state"
)

// exchange carries the encoded (key, value) records of one round to the
// partitions of a GroupByKey or lifted Combine. Each producing instance
// has its own writer, so producers never contend; a partition reads the
// records of every writer, in writer order, each in arrival order.
type exchange struct {
	parts   int
	mu      sync.Mutex
	writers []*exWriter
}

type exWriter struct {
	route func([]byte) int
	bufs  []recBuf
}

// recBuf holds records in byte blocks: no allocation per record, and none
// copied as the round's records grow. Blocks double from minExBlock up to
// maxExBlock (a larger record gets a block of its own), and are kept for
// the next round.
type recBuf struct {
	blocks [][]byte // blocks[:used] hold the round's records
	used   int
	recs   []rec
	size   int // bytes of the round's records
}

type rec struct {
	blk, off, klen, vlen int32
	t                    df.EventTime
	w                    df.Window
}

const (
	minExBlock = 4 << 10
	maxExBlock = 256 << 10
	// maxExKept bounds the memory a buffer keeps between rounds.
	maxExKept = 64 << 20
)

func newExchange(parts int) *exchange { return &exchange{parts: parts} }

func (e *exchange) writer(route func([]byte) int) *exWriter {
	w := &exWriter{route: route, bufs: make([]recBuf, e.parts)}
	e.mu.Lock()
	e.writers = append(e.writers, w)
	e.mu.Unlock()
	return w
}

func (w *exWriter) Add(key, value []byte, t df.EventTime, win df.Window) error {
	w.bufs[w.route(key)].add(key, value, t, win)
	return nil
}

func (b *recBuf) add(key, value []byte, t df.EventTime, win df.Window) {
	n := len(key) + len(value)
	if b.used == 0 || cap(b.blocks[b.used-1])-len(b.blocks[b.used-1]) < n {
		b.nextBlock(n)
	}
	i := b.used - 1
	off := len(b.blocks[i])
	b.blocks[i] = append(append(b.blocks[i], key...), value...)
	b.recs = append(b.recs, rec{blk: int32(i), off: int32(off), klen: int32(len(key)), vlen: int32(len(value)), t: t, w: win})
	b.size += n
}

// nextBlock starts a block with room for n bytes.
func (b *recBuf) nextBlock(n int) {
	if b.used < len(b.blocks) && cap(b.blocks[b.used]) >= n {
		b.blocks[b.used] = b.blocks[b.used][:0]
		b.used++
		return
	}
	size := minExBlock
	if b.used > 0 {
		size = min(2*cap(b.blocks[b.used-1]), maxExBlock)
	}
	blk := make([]byte, 0, max(size, n))
	if b.used < len(b.blocks) {
		b.blocks[b.used] = blk
	} else {
		b.blocks = append(b.blocks, blk)
	}
	b.used++
}

// bytes is about the memory the writer's records of the round hold.
func (w *exWriter) bytes() int {
	n := 0
	for i := range w.bufs {
		n += w.bufs[i].size + len(w.bufs[i].recs)*int(unsafe.Sizeof(rec{}))
	}
	return n
}

// records yields partition p's records of the round.
func (e *exchange) records(p int) iter.Seq2[*recBuf, *rec] {
	return func(yield func(*recBuf, *rec) bool) {
		for _, w := range e.writers {
			b := &w.bufs[p]
			for i := range b.recs {
				if !yield(b, &b.recs[i]) {
					return
				}
			}
		}
	}
}

func (b *recBuf) key(r *rec) []byte { return b.blocks[r.blk][r.off : r.off+r.klen] }
func (b *recBuf) value(r *rec) []byte {
	return b.blocks[r.blk][r.off+r.klen : r.off+r.klen+r.vlen]
}

func (e *exchange) reset() {
	for _, w := range e.writers {
		for i := range w.bufs {
			b := &w.bufs[i]
			kept := 0
			for k, blk := range b.blocks {
				if kept += cap(blk); kept > maxExKept {
					clear(b.blocks[k:]) // do not keep a burst's memory
					b.blocks = b.blocks[:k]
					break
				}
			}
			if cap(b.recs)*int(unsafe.Sizeof(rec{})) > maxExKept {
				b.recs = nil
			}
			b.used, b.recs, b.size = 0, b.recs[:0], 0
		}
	}
}

// Timer families the runner itself sets in a stage's state.
const (
	gbkEventTimer = "\x00gbk"
	gbkProcTimer  = "\x00gbk-pt"
	combTimer     = "\x00comb"
	activeWindows = "\x00windows" // merging GroupByKey: a key's active windows
)

// keyedPart is one partition of a keyed stage: its state, and the
// operator that receives what fires.
type keyedPart struct {
	j    *job
	sr   *stageRun
	p    int
	inst *instance
	stg  *state.Stage
	be   *state.KeyedBackend

	// GroupByKey
	sink   df.GroupSink
	late   df.LateSink      // GroupByKeyWithLateData: where dropped elements go
	wins   map[string]*gwin // this round's windows, by key and window
	order  []*gwin          // in first-touched order, for writing back
	active map[string]*sessions
	// Combine
	acc      df.AccSink
	combWins map[df.Window]bool // windows whose firing timer is set
	// Stateful ParDo
	sop df.StatefulOp

	kbuf, vbuf, sbuf []byte
}

func newKeyedPart(j *job, sr *stageRun, p int, inst *instance) *keyedPart {
	kp := &keyedPart{j: j, sr: sr, p: p, inst: inst, stg: sr.states[p]}
	kp.be = kp.stg.Backend(nil)
	t := sr.st.root
	switch sr.st.kind {
	case kindGBK:
		spec := t.Spec.(*df.GroupByKeySpec)
		kp.sink = spec.Kernel.NewDecoder(inst.consumerFor(t.Outputs[0]))
		if spec.LateOutput {
			kp.late = spec.Kernel.NewLateDecoder(inst.consumerFor(t.Outputs[1]))
		}
		kp.wins = map[string]*gwin{}
		kp.active = map[string]*sessions{}
	case kindCombine:
		kp.acc = sr.comb.NewOutput(inst.consumerFor(t.Outputs[0]))
		kp.combWins = map[df.Window]bool{}
	case kindStateful:
		kp.sop = inst.op(t).(df.StatefulOp)
	}
	return kp
}

// round processes the partition's input of the round at the old input
// watermark, then advances it to wm and fires what is due. It returns the
// partition's watermark hold.
func (kp *keyedPart) round(ctx context.Context, wm df.EventTime) (df.EventTime, error) {
	var err error
	switch kp.sr.st.kind {
	case kindGBK:
		err = kp.gbkRound(ctx, wm)
	case kindCombine:
		err = kp.combineRound(ctx, wm)
	case kindStateful:
		err = kp.statefulRound(ctx, wm)
	}
	if err != nil {
		return 0, err
	}
	if _, err := kp.stg.ExpireWindows(wm); err != nil {
		return 0, &df.TransformError{Transform: kp.sr.st.root.Name, Err: err}
	}
	hold, ok, err := kp.stg.WatermarkHold()
	if err != nil {
		return 0, &df.TransformError{Transform: kp.sr.st.root.Name, Err: err}
	}
	if !ok {
		hold = df.MaxTime
	}
	return hold, nil
}

func (kp *keyedPart) fail(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*df.TransformError); ok {
		return err
	}
	if _, ok := err.(*df.ElementError); ok {
		return err
	}
	return &df.TransformError{Transform: kp.sr.st.root.Name, Err: err}
}

// ---- lifted Combine ----

func (kp *keyedPart) combineRound(ctx context.Context, wm df.EventTime) error {
	sr := kp.sr
	tc := sr.st.root.Inputs[0].Windowing.TimestampCombiner
	in := sr.inWM
	for b, r := range sr.exch.records(kp.p) {
		if in > r.w.MaxTimestamp() { // past the end of the window, no allowed lateness
			sr.dropped.Add(1)
			continue
		}
		key, acc := b.key(r), b.value(r)
		old, ok, err := kp.stg.GetWindowState(key, r.w)
		if err != nil {
			return kp.fail(err)
		}
		t := r.t
		v := kp.vbuf[:0]
		if ok {
			t = df.CombineTimes(tc, df.EventTime(binary.BigEndian.Uint64(old)), t)
			v = binary.BigEndian.AppendUint64(v, uint64(t))
			if v, err = sr.comb.MergeEncoded(v, old[8:], acc); err != nil {
				return kp.fail(err)
			}
		} else {
			v = binary.BigEndian.AppendUint64(v, uint64(t))
			v = append(v, acc...)
		}
		kp.vbuf = v
		if err := kp.stg.PutWindowState(key, r.w, v); err != nil {
			return kp.fail(err)
		}
		if !kp.combWins[r.w] {
			hold := r.w.MaxTimestamp()
			if tc != df.EndOfWindow {
				hold = r.w.Start
			}
			kp.be.Reset(nil)
			if err := kp.be.SetTimer(df.TimerData{Family: combTimer, Window: r.w, Domain: df.EventTimeDomain, FireAt: r.w.MaxTimestamp(), Hold: hold}); err != nil {
				return kp.fail(err)
			}
			kp.combWins[r.w] = true
		}
	}
	pane := df.PaneInfo{Timing: df.PaneOnTime, IsFirst: true, IsLast: true}
	for t, err := range kp.stg.DueTimers(df.EventTimeDomain, wm) {
		if err != nil {
			return kp.fail(err)
		}
		w := t.Window
		err := kp.stg.WindowStates(w, func(key, v []byte) error {
			ts := df.CombinedOutputTime(tc, df.EventTime(binary.BigEndian.Uint64(v)), w)
			return kp.acc.Emit(key, v[8:], ts, w, pane)
		})
		if err != nil {
			return kp.fail(err)
		}
		delete(kp.combWins, w)
	}
	return kp.acc.Flush()
}

// ---- stateful ParDo ----

func (kp *keyedPart) statefulRound(ctx context.Context, wm df.EventTime) error {
	sr := kp.sr
	spec := sr.st.root.Spec.(*df.ParDoSpec).Stateful
	in := sr.inWM
	lateness := spec.AllowedLateness
	keep := func(_ df.EventTime, w df.Window) bool {
		gc := w.MaxTimestamp()
		if gc < df.EndOfGlobalWindow-lateness {
			gc += lateness
		}
		if in > gc {
			sr.dropped.Add(1)
			return false
		}
		return true
	}
	typ := sr.st.root.Inputs[0].Type
	input := typ.(df.Filterer).Filter(kp.sop.Input(), keep)
	for _, g := range spec.Kernel.Groups(sr.store.Chunks(kp.p)) {
		kp.be.Reset(g.Key)
		kp.sop.SetBackend(kp.be)
		if err := g.Replay(input); err != nil {
			return kp.fail(err)
		}
	}
	sr.store.(df.Resetter).Reset(kp.p)
	fire := func(d df.TimeDomain, upTo df.EventTime) error {
		for t, err := range kp.stg.DueTimers(d, upTo) {
			if err != nil {
				return kp.fail(err)
			}
			kp.be.Reset(t.Key)
			kp.sop.SetBackend(kp.be)
			if err := kp.sop.FireTimer(t.Key, t.TimerData); err != nil {
				return kp.fail(err)
			}
		}
		return nil
	}
	if err := fire(df.EventTimeDomain, wm); err != nil {
		return err
	}
	if err := fire(df.ProcessingTimeDomain, df.EventTime(kp.j.now.UnixMilli())); err != nil {
		return err
	}
	kp.sop.SetBackend(nil)
	return nil
}

// ---- GroupByKey ----

// gwin is a window of a key while a round processes it.
type gwin struct {
	key    []byte
	w      df.Window
	st     trigger.WindowState
	dirty  bool
	gone   bool     // merged away or expired: not written back
	sess   *session // merging windows: the session's element buffers
	evAt   df.EventTime
	evHold df.EventTime
	hasEv  bool
	ptAt   df.EventTime
	hasPt  bool
}

func winMapKey(b, key []byte, w df.Window) []byte {
	b = append(b[:0], key...)
	b = binary.BigEndian.AppendUint64(b, uint64(w.Start))
	return binary.BigEndian.AppendUint64(b, uint64(w.End))
}

func (kp *keyedPart) load(key []byte, w df.Window) (*gwin, error) {
	kp.kbuf = winMapKey(kp.kbuf, key, w)
	if g, ok := kp.wins[string(kp.kbuf)]; ok && !g.gone {
		return g, nil
	}
	red := kp.sr.red
	g := &gwin{key: bytes.Clone(key), w: w}
	b, ok, err := kp.stg.GetWindowState(key, w)
	if err != nil {
		return nil, kp.fail(err)
	}
	if ok {
		if err := g.st.UnmarshalBinary(b); err != nil {
			return nil, kp.fail(fmt.Errorf("window state of %v: %w", w, err))
		}
		if err := red.Check(&g.st); err != nil {
			return nil, kp.fail(err)
		}
	} else {
		g.st = red.NewState(w)
	}
	g.evAt, g.evHold, g.hasEv, g.ptAt, g.hasPt = kp.timersOf(&g.st)
	kp.wins[string(kp.kbuf)] = g
	kp.order = append(kp.order, g)
	return g, nil
}

// timersOf is the timers the runner keeps set for a window state.
func (kp *keyedPart) timersOf(s *trigger.WindowState) (evAt, evHold df.EventTime, hasEv bool, ptAt df.EventTime, hasPt bool) {
	red := kp.sr.red
	if nw, ok := red.NextWatermark(s); ok {
		evAt, hasEv = nw-1, true
		evHold = df.MaxTime
		if h, ok := red.OutputHold(s); ok {
			evHold = h
		}
	}
	if dl, ok := red.NextDeadline(s); ok {
		ptAt, hasPt = df.EventTime(dl.UnixMilli()-1), true
	}
	return
}

// writeBack stores the round's changed windows and their timers.
func (kp *keyedPart) writeBack() error {
	for _, g := range kp.order {
		if err := kp.writeWindow(g); err != nil {
			return err
		}
	}
	return kp.writeSessions()
}

// writeWindow stores a window's state and timers if they changed.
func (kp *keyedPart) writeWindow(g *gwin) error {
	{
		if g.gone || !g.dirty {
			return nil
		}
		if kp.sr.red.Expired(&g.st) {
			return nil // ExpireWindows removes its state
		}
		v, err := g.st.AppendBinary(kp.vbuf[:0])
		if err != nil {
			return kp.fail(err)
		}
		kp.vbuf = v
		if err := kp.stg.PutWindowState(g.key, g.w, v); err != nil {
			return kp.fail(err)
		}
		evAt, evHold, hasEv, ptAt, hasPt := kp.timersOf(&g.st)
		kp.be.Reset(g.key)
		if hasEv != g.hasEv || evAt != g.evAt || evHold != g.evHold {
			if hasEv {
				err = kp.be.SetTimer(df.TimerData{Family: gbkEventTimer, Window: g.w, Domain: df.EventTimeDomain, FireAt: evAt, Hold: evHold})
			} else {
				err = kp.be.ClearTimer(g.w, gbkEventTimer, "")
			}
			if err != nil {
				return kp.fail(err)
			}
		}
		if hasPt != g.hasPt || ptAt != g.ptAt {
			if hasPt {
				err = kp.be.SetTimer(df.TimerData{Family: gbkProcTimer, Window: g.w, Domain: df.ProcessingTimeDomain, FireAt: ptAt, Hold: df.MaxTime})
			} else {
				err = kp.be.ClearTimer(g.w, gbkProcTimer, "")
			}
			if err != nil {
				return kp.fail(err)
			}
		}
		g.evAt, g.evHold, g.hasEv, g.ptAt, g.hasPt = evAt, evHold, hasEv, ptAt, hasPt
		g.dirty = false
	}
	return nil
}

// emit sends the panes that fired in g.
func (kp *keyedPart) emit(g *gwin, panes []trigger.Pane) error {
	if g.sess != nil {
		return kp.emitSession(g, panes)
	}
	for _, p := range panes {
		// The values stay valid: the sink may keep them until it flushes.
		vals, err := kp.stg.AppendElements(make(encValues, 0, p.To-p.From), g.key, g.w, p.From, p.To)
		if err != nil {
			return kp.fail(err)
		}
		if len(vals) != p.To-p.From {
			return kp.fail(fmt.Errorf("window %v of a key holds %d elements, the pane needs [%d, %d)", g.w, p.From+len(vals), p.From, p.To))
		}
		if err := kp.sink.Emit(g.key, encValues(vals), p.Timestamp, g.w, p.Info); err != nil {
			return err
		}
	}
	return nil
}

func (kp *keyedPart) gbkRound(ctx context.Context, wm df.EventTime) error {
	sr := kp.sr
	red := sr.red
	merging := red.Strategy().Fn.IsMerging()
	in, now := sr.inWM, kp.j.now
	clear(kp.wins)
	clear(kp.active)
	kp.order = kp.order[:0]
	for b, r := range sr.exch.records(kp.p) {
		key, value := b.key(r), b.value(r)
		var (
			g   *gwin
			err error
		)
		if merging {
			g, err = kp.mergeInto(key, r.w)
		} else {
			g, err = kp.load(key, r.w)
		}
		if err != nil {
			return err
		}
		ok, panes := red.OnElement(&g.st, r.t, in, now)
		g.dirty = true
		if !ok {
			sr.dropped.Add(1)
			if kp.late != nil {
				if err := kp.late.Add(key, value, r.t, r.w); err != nil {
					return kp.fail(err)
				}
			}
			continue
		}
		if merging {
			err = kp.appendToSession(g, value)
		} else {
			err = kp.stg.AppendElement(key, g.w, value)
		}
		if err != nil {
			return kp.fail(err)
		}
		if err := kp.emit(g, panes); err != nil {
			return err
		}
	}
	if err := kp.writeBack(); err != nil {
		return err
	}
	// Advance the input watermark and processing time: fire due windows.
	fire := func(d df.TimeDomain, upTo df.EventTime) error {
		for t, err := range kp.stg.DueTimers(d, upTo) {
			if err != nil {
				return kp.fail(err)
			}
			var g *gwin
			if merging {
				g, err = kp.loadSession(t.Key, t.Window)
			} else {
				g, err = kp.load(t.Key, t.Window)
			}
			if err != nil {
				return err
			}
			if d == df.EventTimeDomain {
				g.hasEv = false
			} else {
				g.hasPt = false
			}
			panes := red.OnWatermark(&g.st, wm, now)
			g.dirty = true
			if err := kp.emit(g, panes); err != nil {
				return err
			}
			if red.Expired(&g.st) && merging {
				if err := kp.expireSession(g); err != nil {
					return err
				}
			}
			if err := kp.writeWindow(g); err != nil {
				return err
			}
		}
		return nil
	}
	if err := fire(df.EventTimeDomain, wm); err != nil {
		return err
	}
	if err := fire(df.ProcessingTimeDomain, df.EventTime(now.UnixMilli())); err != nil {
		return err
	}
	if kp.late != nil {
		if err := kp.late.Flush(); err != nil {
			return err
		}
	}
	return kp.sink.Flush()
}

// encValues are the encoded values of one pane.
type encValues [][]byte

func (v encValues) Len() int { return len(v) }

func (v encValues) All() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, b := range v {
			if !yield(b) {
				return
			}
		}
	}
}
