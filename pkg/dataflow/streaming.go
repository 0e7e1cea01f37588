package dataflow

import (
	"encoding/binary"
	"fmt"
	"runtime/debug"
	"time"
)

// This file holds the typed kernels a streaming runner needs beyond the
// batch ones: routing by encoded key (so that a key's state lives in one
// key group across restarts), filtering buffered elements, and a lifted
// Combine whose accumulators are encoded so that they can live in a state
// store between firings.

// Filter returns a Consumer[T] that passes to out (a Consumer[T]) the
// elements for which keep is true.
func (elemType[T]) Filter(out any, keep func(t EventTime, w Window) bool) any {
	c := out.(Consumer[T])
	var buf []Elem[T]
	return ConsumerFunc[T](func(b []Elem[T]) error {
		buf = buf[:0]
		for i := range b {
			if keep(b[i].Time, b[i].Window) {
				buf = append(buf, b[i])
			}
		}
		if len(buf) == 0 {
			return nil
		}
		err := c.Consume(buf)
		clear(buf)
		return err
	})
}

// Filterer is implemented by every ElemType.
type Filterer interface {
	Filter(out any, keep func(t EventTime, w Window) bool) any
}

// NewKeyRouter returns a Consumer[KV[K,V]] that appends each element to
// partition route(encoded key) of store.
func (k statefulKernel[K, V]) NewKeyRouter(store Store, route func(key []byte) int) any {
	parts := store.Partitions()
	apps := make([]Consumer[KV[K, V]], parts)
	for i := range apps {
		apps[i] = store.Appender(i).(Consumer[KV[K, V]])
	}
	bufs := make([][]Elem[KV[K, V]], parts)
	var kb []byte
	return ConsumerFunc[KV[K, V]](func(b []Elem[KV[K, V]]) error {
		for i := range b {
			kb = k.kc.Encode(kb[:0], b[i].Value.Key)
			p := route(kb)
			bufs[p] = append(bufs[p], b[i])
		}
		for p, pb := range bufs {
			if len(pb) > 0 {
				if err := apps[p].Consume(pb); err != nil {
					return err
				}
				clear(pb)
				bufs[p] = pb[:0]
			}
		}
		return nil
	})
}

// KeyRouter is implemented by every StatefulKernel.
type KeyRouter interface {
	NewKeyRouter(store Store, route func(key []byte) int) any
}

// StreamingCombine is a lifted Combine.PerKey whose accumulators are
// encoded: workers pre-combine in memory and flush encoded accumulators
// to the exchange; the keyed side merges them into stored accumulators and
// extracts outputs when windows fire.
type StreamingCombine interface {
	// NewPartial returns a Consumer[KV[K,I]] that combines in memory, and
	// flush, which sends each (key, window) accumulator, encoded, to sink
	// (with the combined timestamp) and empties the table.
	NewPartial(sink KVSink) (consumer any, flush func() error)
	// MergeEncoded appends to dst the encoding of a merged with b.
	MergeEncoded(dst, a, b []byte) ([]byte, error)
	// NewOutput returns an AccSink that extracts outputs of encoded
	// accumulators and sends them as KV[K,O] elements to out.
	NewOutput(out any) AccSink
}

// AccSink receives the accumulators of firing windows.
type AccSink interface {
	Emit(key, acc []byte, t EventTime, w Window, pane PaneInfo) error
	Flush() error
}

// StreamingCombiner is implemented by every CombineKernel.
type StreamingCombiner interface {
	// NewStreaming returns the streaming form of the combine, or an error
	// if its accumulator type has no coder (the runner then expands it).
	NewStreaming(transform string, tc TimestampCombiner) (StreamingCombine, error)
}

func (ck combineKernel[K, I, A, O]) NewStreaming(transform string, tc TimestampCombiner) (StreamingCombine, error) {
	kc, err := KeyCoderOf[K]()
	if err != nil {
		return nil, err
	}
	ac, err := CoderOf[A]()
	if err != nil {
		return nil, fmt.Errorf("accumulator: %w", err)
	}
	return &streamingCombine[K, I, A, O]{name: transform, fn: ck.fn, tc: tc, kc: kc, ac: ac}, nil
}

type streamingCombine[K comparable, I, A, O any] struct {
	name string
	fn   CombineFn[I, A, O]
	tc   TimestampCombiner
	kc   Coder[K]
	ac   Coder[A]
}

func (s *streamingCombine[K, I, A, O]) panicked(r any, what string) error {
	return &TransformError{Transform: s.name, Err: fmt.Errorf("CombineFn panicked while %s: %v\n%s", what, r, debug.Stack())}
}

func (s *streamingCombine[K, I, A, O]) NewPartial(sink KVSink) (any, func() error) {
	table := newPartialTable[K, A]()
	var kb, ab []byte
	flush := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = s.panicked(r, "encoding")
			}
		}()
		for _, w := range table.wins {
			wt := table.byWindow[w]
			for i, k := range wt.keys {
				kb = s.kc.Encode(kb[:0], k)
				ab = s.ac.Encode(ab[:0], wt.accs[i].acc)
				if err := sink.Add(kb, ab, wt.accs[i].t, w); err != nil {
					return err
				}
			}
		}
		table.reset()
		return nil
	}
	consume := ConsumerFunc[KV[K, I]](func(b []Elem[KV[K, I]]) error {
		return addInputs(table, s.name, s.fn, s.tc, b)
	})
	return Consumer[KV[K, I]](consume), flush
}

func (s *streamingCombine[K, I, A, O]) MergeEncoded(dst, a, b []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.panicked(r, "merging")
		}
	}()
	x, _, err := s.ac.Decode(a)
	if err != nil {
		return nil, &TransformError{Transform: s.name, Err: fmt.Errorf("decode accumulator: %w", err)}
	}
	y, _, err := s.ac.Decode(b)
	if err != nil {
		return nil, &TransformError{Transform: s.name, Err: fmt.Errorf("decode accumulator: %w", err)}
	}
	return s.ac.Encode(dst, s.fn.MergeAccumulators(x, y)), nil
}

// CombineTimes combines two timestamps of one accumulator as tc says.
func CombineTimes(tc TimestampCombiner, a, b EventTime) EventTime { return combineTime(tc, a, b) }

// CombinedOutputTime is the timestamp of a lifted combine's output for the
// combined input timestamp t in window w.
func CombinedOutputTime(tc TimestampCombiner, t EventTime, w Window) EventTime {
	return outputTime(tc, t, w)
}

func (s *streamingCombine[K, I, A, O]) NewOutput(out any) AccSink {
	return &accOutput[K, I, A, O]{s: s, out: out.(Consumer[KV[K, O]])}
}

type accOutput[K comparable, I, A, O any] struct {
	s   *streamingCombine[K, I, A, O]
	out Consumer[KV[K, O]]
	buf []Elem[KV[K, O]]
}

func (o *accOutput[K, I, A, O]) Emit(key, acc []byte, t EventTime, w Window, pane PaneInfo) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = o.s.panicked(r, "extracting")
		}
	}()
	k, _, err := o.s.kc.Decode(key)
	if err != nil {
		return &TransformError{Transform: o.s.name, Err: fmt.Errorf("decode key: %w", err)}
	}
	a, _, err := o.s.ac.Decode(acc)
	if err != nil {
		return &TransformError{Transform: o.s.name, Err: fmt.Errorf("decode accumulator: %w", err)}
	}
	o.buf = append(o.buf, Elem[KV[K, O]]{Value: KV[K, O]{k, o.s.fn.ExtractOutput(a)}, Time: t, Window: w, Pane: pane})
	if len(o.buf) >= BatchSize {
		return o.Flush()
	}
	return nil
}

func (o *accOutput[K, I, A, O]) Flush() error {
	if len(o.buf) == 0 {
		return nil
	}
	err := o.out.Consume(o.buf)
	clear(o.buf)
	o.buf = o.buf[:0]
	return err
}

// Deferred returns a Consumer[T] that passes each batch to the Consumer[T]
// that get returns at that moment: a runner uses it for a sink whose
// writer changes from one checkpoint epoch to the next.
func (elemType[T]) Deferred(get func() (any, error)) any {
	return ConsumerFunc[T](func(b []Elem[T]) error {
		c, err := get()
		if err != nil {
			return err
		}
		return c.(Consumer[T]).Consume(b)
	})
}

// Deferrer is implemented by every ElemType.
type Deferrer interface {
	Deferred(get func() (any, error)) any
}

// Reset empties partition part of the store.
func (s *store[T]) Reset(part int) {
	p := &s.parts[part]
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.chunks)
	p.chunks, p.n = p.chunks[:0], 0
}

// Resetter is implemented by every Store.
type Resetter interface {
	Reset(part int)
}

// ClockDriver is an optional interface of an UnboundedReader that drives
// the runner's processing time, as a TestStream does: while it is open, the
// runner's processing time is what ProcessingTime returns.
type ClockDriver interface {
	ProcessingTime() time.Time
}

// ProcessingTime reports the reader's scripted processing time, if it
// drives the clock.
func (a *anyUnboundedReader[T]) ProcessingTime() (time.Time, bool) {
	if cd, ok := a.r.(ClockDriver); ok {
		return cd.ProcessingTime(), true
	}
	return time.Time{}, false
}

// ElemCodec encodes elements whole (value, timestamp, window, pane), for
// runners that keep buffered elements in checkpoints. Every ElemType is
// one; it is ByteCodec's encoding with the metadata appended.
type ElemCodec interface {
	// NewElemEncoder returns a Consumer[T] that calls emit with the
	// encoding of each element; the bytes are emit's to keep.
	NewElemEncoder(emit func([]byte)) (any, error)
	// DecodeElems decodes encodings made by an element encoder and passes
	// the elements to out, a Consumer[T].
	DecodeElems(encoded [][]byte, out any) error
}

func (e elemType[T]) NewElemEncoder(emit func([]byte)) (any, error) {
	return e.NewByteEncoder(func(b []byte, t EventTime, w Window, p PaneInfo) error {
		emit(appendElemMeta(b, t, w, p))
		return nil
	})
}

func (e elemType[T]) DecodeElems(encoded [][]byte, out any) error {
	dec, err := e.NewByteDecoder(out)
	if err != nil {
		return err
	}
	for _, b := range encoded {
		v, t, w, p, err := cutElemMeta(b)
		if err != nil {
			return err
		}
		if err := dec(v, t, w, p); err != nil {
			return err
		}
	}
	return nil
}

// appendElemMeta appends an element's timestamp, window and pane to its
// encoded value, followed by their length.
func appendElemMeta(b []byte, t EventTime, w Window, p PaneInfo) []byte {
	start := len(b)
	b = binary.AppendVarint(b, int64(t))
	b = binary.AppendVarint(b, int64(w.Start))
	b = binary.AppendVarint(b, int64(w.End))
	b = binary.AppendVarint(b, p.Index)
	b = binary.AppendVarint(b, p.NonSpeculativeIndex)
	flags := byte(p.Timing) << 2
	if p.IsFirst {
		flags |= 1
	}
	if p.IsLast {
		flags |= 2
	}
	b = append(b, flags)
	return append(b, byte(len(b)-start))
}

// cutElemMeta splits what appendElemMeta made.
func cutElemMeta(b []byte) (value []byte, t EventTime, w Window, p PaneInfo, err error) {
	bad := fmt.Errorf("decode element: bad metadata")
	if len(b) == 0 || int(b[len(b)-1]) > len(b)-1 {
		return nil, 0, w, p, bad
	}
	n := int(b[len(b)-1])
	value, meta := b[:len(b)-1-n], b[len(b)-1-n:len(b)-1]
	var f [5]int64
	for i := range f {
		x, m := binary.Varint(meta)
		if m <= 0 {
			return nil, 0, w, p, bad
		}
		f[i], meta = x, meta[m:]
	}
	if len(meta) != 1 {
		return nil, 0, w, p, bad
	}
	p = PaneInfo{Index: f[3], NonSpeculativeIndex: f[4], Timing: PaneTiming(meta[0] >> 2), IsFirst: meta[0]&1 != 0, IsLast: meta[0]&2 != 0}
	return value, EventTime(f[0]), Window{Start: EventTime(f[1]), End: EventTime(f[2])}, p, nil
}
