package dataflow

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestElemCodecRoundTrip checks that elements survive ElemCodec whole:
// values, extreme timestamps, windows and every pane field.
func TestElemCodecRoundTrip(t *testing.T) {
	type rec struct {
		Name string
		N    []int64
	}
	in := []Elem[rec]{
		{Value: rec{"a", []int64{1, 2}}, Time: MinTime, Window: GlobalWindow, Pane: NoFiringPane},
		{Value: rec{"", nil}, Time: EndOfGlobalWindow, Window: IntervalWindow(-5, 1_000), Pane: PaneInfo{Index: 3, NonSpeculativeIndex: -1, Timing: PaneEarly}},
		{Value: rec{"long " + string(make([]byte, 300)), []int64{-1}}, Time: 42, Window: IntervalWindow(0, 10), Pane: PaneInfo{Index: 7, NonSpeculativeIndex: 2, Timing: PaneLate, IsLast: true}},
	}
	typ := TypeOf[rec]().(ElemCodec)
	var enc [][]byte
	c, err := typ.NewElemEncoder(func(b []byte) { enc = append(enc, b) })
	if err != nil {
		t.Fatal(err)
	}
	if err := c.(Consumer[rec]).Consume(in); err != nil {
		t.Fatal(err)
	}
	var out []Elem[rec]
	if err := typ.DecodeElems(enc, ConsumerFunc[rec](func(b []Elem[rec]) error {
		out = append(out, b...)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, out); d != "" {
		t.Fatalf("round trip (-want +got):\n%s", d)
	}
	if err := typ.DecodeElems([][]byte{{1, 2, 3}}, ConsumerFunc[rec](func([]Elem[rec]) error { return nil })); err == nil {
		t.Fatal("garbage decoded without an error")
	}
}
