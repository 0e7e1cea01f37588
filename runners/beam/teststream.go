package beam

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/protox"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// maxScriptReads bounds how long the bridge reads an unbounded source while
// it translates it: only finite, scripted sources (a TestStream) become a
// Beam TestStream.
const maxScriptReads = 1_000_000

// testStream translates a ReadUnbounded of a finite, scripted source (the
// test kit's TestStream) into Beam's TestStream: the bridge reads the script
// at submission, one event per read, and records the elements (encoded, with
// their timestamps), the watermark advances and the processing-time advances
// in order. Prism runs the TestStream itself; no worker reads the source.
func (tr *translator) testStream(s beam.Scope, t *df.Transform, spec *df.ReadUnboundedSpec) error {
	ctx := context.Background()
	splits, err := spec.Source.Split(ctx, 1)
	if err != nil {
		return fmt.Errorf("split %v: %w", spec.Source, err)
	}
	if len(splits) != 1 {
		return fmt.Errorf("beam bridge: ReadUnbounded of %v: only a finite, scripted source in one split (a TestStream) is translated to Beam", spec.Source)
	}
	r, err := splits[0].Open(ctx, nil)
	if err != nil {
		return fmt.Errorf("open %v: %w", spec.Source, err)
	}
	defer r.Close()
	clock, scripted := r.(interface{ ProcessingTime() (time.Time, bool) })
	var pt time.Time
	if scripted {
		pt, scripted = clock.ProcessingTime()
	}
	if !scripted {
		return fmt.Errorf("beam bridge: ReadUnbounded of %v: only a scripted source with its own processing-time clock (a TestStream) is translated to Beam", spec.Source)
	}
	var events []*pipepb.TestStreamPayload_Event
	var pending []*pipepb.TestStreamPayload_TimestampedElement
	bc, err := tr.pl.codec(t.Outputs[0])
	if err != nil {
		return err
	}
	enc, err := bc.NewByteEncoder(func(b []byte, ts df.EventTime, _ df.Window, _ df.PaneInfo) error {
		var buf bytes.Buffer
		if err := beam.NewElementEncoder(bytesType).Encode(b, &buf); err != nil {
			return err
		}
		pending = append(pending, &pipepb.TestStreamPayload_TimestampedElement{EncodedElement: buf.Bytes(), Timestamp: int64(ts)})
		return nil
	})
	if err != nil {
		return err
	}
	wm := df.MinTime
	for i := 0; ; i++ {
		if i == maxScriptReads {
			return fmt.Errorf("beam bridge: ReadUnbounded of %v did not end after %d reads; only finite scripted sources (TestStream) are translated to Beam", spec.Source, i)
		}
		_, rerr := r.ReadTo(ctx, enc, 1<<16)
		if rerr != nil && !errors.Is(rerr, df.ErrEndOfInput) {
			return fmt.Errorf("read %v: %w", spec.Source, rerr)
		}
		if len(pending) > 0 {
			events = append(events, &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ElementEvent{
				ElementEvent: &pipepb.TestStreamPayload_Event_AddElements{Elements: pending}}})
			pending = nil
		}
		if now, ok := clock.ProcessingTime(); ok && now.After(pt) {
			events = append(events, &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_ProcessingTimeEvent{
				ProcessingTimeEvent: &pipepb.TestStreamPayload_Event_AdvanceProcessingTime{AdvanceDuration: now.Sub(pt).Milliseconds()}}})
			pt = now
		}
		next, _ := r.Watermark(pt)
		if errors.Is(rerr, df.ErrEndOfInput) {
			next = df.MaxTime
		}
		if next > wm {
			events = append(events, &pipepb.TestStreamPayload_Event{Event: &pipepb.TestStreamPayload_Event_WatermarkEvent{
				WatermarkEvent: &pipepb.TestStreamPayload_Event_AdvanceWatermark{NewWatermark: int64(next)}}})
			wm = next
		}
		if rerr != nil {
			break
		}
	}
	payload := protox.MustEncode(&pipepb.TestStreamPayload{CoderId: "c0", Events: events, Endpoint: &pipepb.ApiServiceDescriptor{}})
	out := beam.External(s, "beam:transform:teststream:v1", payload, nil, []beam.FullType{typex.New(bytesType)}, false)
	tr.pcs[t.Outputs[0]] = tr.record(out[0], t.Outputs[0].Windowing)
	return nil
}
