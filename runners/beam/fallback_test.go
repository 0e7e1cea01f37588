package beam

import (
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

type fbNode struct {
	V    int
	next *fbNode
}

type fbValue struct {
	Name    string
	private []int8
	Tags    map[string][]float64
	At      time.Time
	Ptr     *fbNode
	Groups  iter.Seq[df.KV[string, int]]
	Nested  iter.Seq[iter.Seq[uint16]]
	Nil     iter.Seq[int]
	Raw     []byte
	Arr     [2]bool
	C       complex64
	_       int
}

// materialized is fbValue with its sequences collected, for comparison.
type materialized struct {
	Name    string
	Private []int8
	Tags    map[string][]float64
	At      time.Time
	Ptr     []int
	Groups  []df.KV[string, int]
	Nested  [][]uint16
	NilSeq  bool
	Raw     []byte
	Arr     [2]bool
	C       complex64
}

func materializeValue(v fbValue) materialized {
	m := materialized{Name: v.Name, Private: v.private, Tags: v.Tags, At: v.At, Raw: v.Raw, Arr: v.Arr, C: v.C, NilSeq: v.Nil == nil}
	for n := v.Ptr; n != nil; n = n.next {
		m.Ptr = append(m.Ptr, n.V)
	}
	if v.Groups != nil {
		m.Groups = slices.Collect(v.Groups)
	}
	if v.Nested != nil {
		for s := range v.Nested {
			m.Nested = append(m.Nested, slices.Collect(s))
		}
	}
	return m
}

// TestFallbackCodecRoundTrip encodes and decodes a type without a coder
// through the fallback codec, as the bridge's DoFns do, with the pipeline's
// coder for one of its parts.
func TestFallbackCodecRoundTrip(t *testing.T) {
	fb := newFallbacks()
	kc, err := df.CoderOf[df.KV[string, int]]()
	if err != nil {
		t.Fatal(err)
	}
	fb.know(df.Erase(kc))
	et := df.TypeOf[fbValue]()
	bc, err := fb.codec(et)
	if err != nil {
		t.Fatal(err)
	}
	loc := time.FixedZone("x", 3600)
	in := []df.Elem[fbValue]{
		{
			Value: fbValue{
				Name: "a", private: []int8{-1, 2}, Tags: map[string][]float64{"x": {1.5}, "y": nil},
				At: time.Date(2024, 5, 6, 7, 8, 9, 10, loc), Ptr: &fbNode{V: 1, next: &fbNode{V: 2}},
				Groups: slices.Values([]df.KV[string, int]{{Key: "k", Value: 1}, {Key: "l", Value: 2}}),
				Nested: slices.Values([]iter.Seq[uint16]{slices.Values([]uint16{1, 2}), slices.Values([]uint16{})}),
				Raw:    []byte("raw"), Arr: [2]bool{true, false}, C: complex(1, -2),
			},
			Time: 5, Window: df.IntervalWindow(0, 10), Pane: df.PaneInfo{Index: 1, Timing: df.PaneLate},
		},
		{Value: fbValue{}, Time: 7, Window: df.GlobalWindow, Pane: df.NoFiringPane},
	}
	var encoded [][]byte
	var metas []df.Elem[struct{}]
	enc, err := bc.NewByteEncoder(func(b []byte, t df.EventTime, w df.Window, p df.PaneInfo) error {
		encoded = append(encoded, b)
		metas = append(metas, df.Elem[struct{}]{Time: t, Window: w, Pane: p})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.(df.Consumer[fbValue]).Consume(in); err != nil {
		t.Fatal(err)
	}
	var out []df.Elem[fbValue]
	dec, err := bc.NewByteDecoder(df.ConsumerFunc[fbValue](func(b []df.Elem[fbValue]) error {
		out = append(out, b...)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range encoded {
		if err := dec(b, metas[i].Time, metas[i].Window, metas[i].Pane); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d elements, want %d", len(out), len(in))
	}
	for i := range in {
		want, got := materializeValue(in[i].Value), materializeValue(out[i].Value)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("element %d (-want +got):\n%s", i, diff)
		}
		if !out[i].Value.At.Equal(in[i].Value.At) {
			t.Errorf("element %d: time %v, want %v", i, out[i].Value.At, in[i].Value.At)
		}
		if out[i].Time != in[i].Time || out[i].Window != in[i].Window || out[i].Pane != in[i].Pane {
			t.Errorf("element %d: metadata %v %v %v, want %v %v %v", i, out[i].Time, out[i].Window, out[i].Pane, in[i].Time, in[i].Window, in[i].Pane)
		}
		// Decoded sequences can be iterated again.
		if out[i].Value.Groups != nil {
			if again := slices.Collect(out[i].Value.Groups); !slices.Equal(again, want.Groups) {
				t.Errorf("element %d: second iteration gave %v, want %v", i, again, want.Groups)
			}
		}
	}
	// Truncated input is an error, never a panic.
	for n := range len(encoded[0]) {
		if err := dec(encoded[0][:n], 0, df.GlobalWindow, df.NoFiringPane); err == nil {
			t.Errorf("decoding %d of %d bytes succeeded", n, len(encoded[0]))
		}
	}
}

func TestFallbackCodecRejects(t *testing.T) {
	type withChan struct {
		Seq iter.Seq[chan int]
	}
	_, err := newFallbacks().codec(df.TypeOf[withChan]())
	if err == nil || !strings.Contains(err.Error(), "Seq[]: chan int is not encodable") {
		t.Fatalf("got %v, want an error naming the part without a coder", err)
	}
}
