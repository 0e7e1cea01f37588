package dataflow

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Types for the coder tests. They are local to this file so that the coders the
// tests register cannot affect any other test in the package.

type (
	coderUserID int64
	coderName   string
	coderFlag   bool
	coderScore  float32
	coderBytes  []byte

	coderInner struct {
		id    int32
		Label string
		tags  []string
	}
	coderOuter struct {
		coderInner // embedded
		At         time.Time
		When       EventTime
		Win        Window
		inner      coderInner
		Ptr        *coderInner
		Arr        [3]int16
		Raw        [4]byte
		M          map[string]int
		_          int // blank: not encoded
		Dur        time.Duration
		Empty      struct{}
	}
	coderList struct {
		Val  int
		Next *coderList
	}
	coderTree struct {
		Name string
		Kids []coderTree
		Attr map[string]coderTree
	}
	coderPrice struct {
		Sym   string
		Price float64
	}
	coderBenchRow struct {
		A int64
		B string
		C float64
	}
)

// roundTrip checks that every value of vs encodes and decodes to want(v), that
// decoding reads exactly the encoding (also with bytes after it), that Encode
// appends, that the erased coder agrees, and that every strict prefix of the
// encoding is an error.
func roundTrip[T any](t *testing.T, c Coder[T], want func(T) T, vs ...T) {
	t.Helper()
	if want == nil {
		want = func(v T) T { return v }
	}
	for _, v := range vs {
		enc := c.Encode(nil, v)
		got, n, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("%v: Decode(Encode(%v)) = %v", c, v, err)
		}
		if n != len(enc) {
			t.Errorf("%v: Decode(Encode(%v)) read %d bytes, want %d", c, v, n, len(enc))
		}
		if w := want(v); !reflect.DeepEqual(got, w) {
			t.Errorf("%v: Decode(Encode(%v)) = %#v, want %#v", c, v, got, w)
		}

		// Append to a prefix; decode with trailing bytes.
		prefixed := c.Encode([]byte("xyz"), v)
		if !bytes.Equal(prefixed[:3], []byte("xyz")) || !bytes.Equal(prefixed[3:], enc) {
			t.Errorf("%v: Encode does not append: % x", c, prefixed)
		}
		if _, n, err := c.Decode(append(slices.Clone(enc), 0xff, 0x01)); err != nil || n != len(enc) {
			t.Errorf("%v: Decode with trailing bytes = %d, %v; want %d, nil", c, n, err, len(enc))
		}

		ac := Erase(c)
		aenc, err := ac.EncodeAny(nil, v)
		if err != nil || !bytes.Equal(aenc, enc) {
			t.Errorf("%v: EncodeAny = % x, %v; want % x", c, aenc, err, enc)
		}
		if av, n, err := ac.DecodeAny(enc); err != nil || n != len(enc) || !reflect.DeepEqual(av, any(want(v))) {
			t.Errorf("%v: DecodeAny = %v, %d, %v", c, av, n, err)
		}

		checkPrefixes(t, c, enc)
	}
}

// checkPrefixes checks that decoding any strict prefix of enc fails without
// panicking. Of a long encoding it checks the first and last 256 prefixes and
// every 17th in between, to keep the test linear.
func checkPrefixes[T any](t *testing.T, c Coder[T], enc []byte) {
	t.Helper()
	for i := range len(enc) {
		if i >= 256 && i < len(enc)-256 && i%17 != 0 {
			continue
		}
		// A copy with no capacity beyond the prefix: a read past its end panics.
		prefix := slices.Clip(slices.Clone(enc[:i]))
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%v: Decode(% x) panicked: %v", c, prefix, r)
				}
			}()
			if v, n, err := c.Decode(prefix); err == nil {
				t.Fatalf("%v: Decode of %d-byte prefix of % x = %v, %d, nil; want an error", c, i, enc, v, n)
			}
		}()
	}
}

func mustCoder[T any](t testing.TB) Coder[T] {
	t.Helper()
	c, err := CoderOf[T]()
	if err != nil {
		t.Fatalf("CoderOf[%v]: %v", reflect.TypeFor[T](), err)
	}
	return c
}

func nilIfEmpty[E any](s []E) []E {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestVarint(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		want []byte
	}{
		{0, []byte{0x00}},
		{1, []byte{0x01}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{300, []byte{0xac, 0x02}},
		{1<<63 - 1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{math.MaxUint64, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	} {
		got := EncodeVarint(nil, tc.v)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("EncodeVarint(%d) = % x, want % x", tc.v, got, tc.want)
		}
		if std := binary.AppendUvarint(nil, tc.v); !bytes.Equal(got, std) {
			t.Errorf("EncodeVarint(%d) = % x, encoding/binary says % x", tc.v, got, std)
		}
		v, n, err := DecodeVarint(append(got, 0x42))
		if err != nil || v != tc.v || n != len(tc.want) {
			t.Errorf("DecodeVarint(% x) = %d, %d, %v; want %d, %d, nil", got, v, n, err, tc.v, len(tc.want))
		}
		for i := range len(got) {
			if _, _, err := DecodeVarint(got[:i]); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("DecodeVarint(% x) = %v, want a truncation error", got[:i], err)
			}
		}
	}
	for _, bad := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x00},
	} {
		if _, _, err := DecodeVarint(bad); err == nil || !strings.Contains(err.Error(), "overflows") {
			t.Errorf("DecodeVarint(% x) = %v, want an overflow error", bad, err)
		}
	}
}

// TestCoderEncodings pins the bytes of the basic encodings: they are Beam's, and
// runners and checkpoints depend on them.
func TestCoderEncodings(t *testing.T) {
	minus1 := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}
	for _, tc := range []struct {
		name string
		enc  func() []byte
		want []byte
	}{
		{"bool true", func() []byte { return mustCoder[bool](t).Encode(nil, true) }, []byte{1}},
		{"bool false", func() []byte { return mustCoder[bool](t).Encode(nil, false) }, []byte{0}},
		{"int -1", func() []byte { return mustCoder[int](t).Encode(nil, -1) }, minus1},
		{"int8 -1", func() []byte { return mustCoder[int8](t).Encode(nil, -1) }, minus1},
		{"int32 -1", func() []byte { return mustCoder[int32](t).Encode(nil, -1) }, minus1},
		{"uint8 255", func() []byte { return mustCoder[uint8](t).Encode(nil, 255) }, []byte{0xff, 0x01}},
		{"named int64 300", func() []byte { return mustCoder[coderUserID](t).Encode(nil, 300) }, []byte{0xac, 0x02}},
		{"float64 1", func() []byte { return mustCoder[float64](t).Encode(nil, 1) }, []byte{0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
		{"float32 1", func() []byte { return mustCoder[float32](t).Encode(nil, 1) }, []byte{0x3f, 0x80, 0, 0}},
		{"named float32 1", func() []byte { return mustCoder[coderScore](t).Encode(nil, 1) }, []byte{0x3f, 0x80, 0, 0}},
		{"string", func() []byte { return mustCoder[string](t).Encode(nil, "abc") }, []byte{3, 'a', 'b', 'c'}},
		{"named string", func() []byte { return mustCoder[coderName](t).Encode(nil, "abc") }, []byte{3, 'a', 'b', 'c'}},
		{"bytes", func() []byte { return mustCoder[[]byte](t).Encode(nil, []byte("ab")) }, []byte{2, 'a', 'b'}},
		{"named bytes", func() []byte { return mustCoder[coderBytes](t).Encode(nil, coderBytes("ab")) }, []byte{2, 'a', 'b'}},
		{"EventTime", func() []byte { return mustCoder[EventTime](t).Encode(nil, 300) }, []byte{0xac, 0x02}},
		{"Duration", func() []byte { return mustCoder[time.Duration](t).Encode(nil, time.Nanosecond) }, []byte{1}},
		{"time", func() []byte { return mustCoder[time.Time](t).Encode(nil, time.Unix(300, 5)) }, []byte{0xac, 0x02, 5}},
		{"time before 1970", func() []byte { return mustCoder[time.Time](t).Encode(nil, time.Unix(-1, 0)) }, append(slices.Clone(minus1), 0)},
		{"Window", func() []byte { return mustCoder[Window](t).Encode(nil, Window{1, 300}) }, []byte{1, 0xac, 0x02}},
		{"derived Window", func() []byte {
			return mustCoder[struct{ W Window }](t).Encode(nil, struct{ W Window }{Window{1, 300}})
		}, []byte{1, 0xac, 0x02}},
		{"KV", func() []byte { return mustCoder[KV[string, int64]](t).Encode(nil, KV[string, int64]{"k", 2}) }, []byte{1, 'k', 2}},
		{"slice", func() []byte { return mustCoder[[]int16](t).Encode(nil, []int16{1, 2}) }, []byte{2, 1, 2}},
		{"array", func() []byte { return mustCoder[[2]int16](t).Encode(nil, [2]int16{1, 2}) }, []byte{1, 2}},
		{"byte array", func() []byte { return mustCoder[[3]byte](t).Encode(nil, [3]byte{1, 2, 3}) }, []byte{1, 2, 3}},
		{"nil pointer", func() []byte { return mustCoder[*int](t).Encode(nil, nil) }, []byte{0}},
		{"pointer", func() []byte { v := 7; return mustCoder[*int](t).Encode(nil, &v) }, []byte{1, 7}},
		{"map", func() []byte {
			return mustCoder[map[string]int](t).Encode(nil, map[string]int{"b": 2, "a": 1})
		}, []byte{2, 1, 'a', 1, 1, 'b', 2}},
		{"seq", func() []byte {
			return SeqCoder(mustCoder[int](t)).Encode(nil, slices.Values([]int{5, 6}))
		}, []byte{2, 5, 6}},
	} {
		if got := tc.enc(); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: encoding = % x, want % x", tc.name, got, tc.want)
		}
	}
}

func TestCoderFastPaths(t *testing.T) {
	for _, tc := range []struct {
		c    any
		want any
	}{
		{mustCoder[bool](t), boolCoder{}},
		{mustCoder[int](t), varintCoder[int]{}},
		{mustCoder[uint16](t), varintCoder[uint16]{}},
		{mustCoder[EventTime](t), varintCoder[EventTime]{}},
		{mustCoder[float64](t), float64Coder{}},
		{mustCoder[string](t), stringCoder{}},
		{mustCoder[[]byte](t), bytesCoder{}},
		{mustCoder[time.Time](t), timeCoder{}},
		{mustCoder[Window](t), windowCoder{}},
	} {
		if reflect.TypeOf(tc.c) != reflect.TypeOf(tc.want) {
			t.Errorf("coder %v is a %T, want the specialised %T", tc.c, tc.c, tc.want)
		}
	}
}

func TestCoderRoundTripBasic(t *testing.T) {
	roundTrip(t, mustCoder[bool](t), nil, false, true)
	roundTrip(t, mustCoder[int](t), nil, 0, 1, -1, 127, 128, math.MaxInt, math.MinInt)
	roundTrip(t, mustCoder[int8](t), nil, 0, -1, math.MaxInt8, math.MinInt8)
	roundTrip(t, mustCoder[int16](t), nil, 0, -1, math.MaxInt16, math.MinInt16)
	roundTrip(t, mustCoder[int32](t), nil, 0, -1, math.MaxInt32, math.MinInt32)
	roundTrip(t, mustCoder[int64](t), nil, 0, -1, math.MaxInt64, math.MinInt64)
	roundTrip(t, mustCoder[uint](t), nil, 0, 1, math.MaxUint)
	roundTrip(t, mustCoder[uint8](t), nil, 0, 1, math.MaxUint8)
	roundTrip(t, mustCoder[uint16](t), nil, 0, 1, math.MaxUint16)
	roundTrip(t, mustCoder[uint32](t), nil, 0, 1, math.MaxUint32)
	roundTrip(t, mustCoder[uint64](t), nil, 0, 1, math.MaxUint64)
	roundTrip(t, mustCoder[float32](t), nil, 0, 1.5, -2.25, math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Inf(-1)))
	roundTrip(t, mustCoder[float64](t), nil, 0, 1.5, -2.25, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1))
	roundTrip(t, mustCoder[string](t), nil, "", "a", "héllo, 世界", strings.Repeat("x", 127), strings.Repeat("y", 128), strings.Repeat("z", 129))
	roundTrip(t, mustCoder[[]byte](t), nilIfEmpty, nil, []byte{}, []byte{0}, bytes.Repeat([]byte{7}, 128))
	roundTrip(t, mustCoder[EventTime](t), nil, 0, -1, MinTime, MaxTime, EndOfGlobalWindow)
	roundTrip(t, mustCoder[time.Duration](t), nil, 0, -time.Hour, time.Duration(math.MaxInt64))
	roundTrip(t, mustCoder[Window](t), nil, Window{}, GlobalWindow, Window{Start: -5, End: 10})

	// Named types of the basic kinds take the derived path.
	roundTrip(t, mustCoder[coderUserID](t), nil, 0, -1, math.MaxInt64, math.MinInt64)
	roundTrip(t, mustCoder[coderName](t), nil, "", "name")
	roundTrip(t, mustCoder[coderFlag](t), nil, false, true)
	roundTrip(t, mustCoder[coderScore](t), nil, 0, -1.5)
	roundTrip(t, mustCoder[coderBytes](t), func(b coderBytes) coderBytes { return coderBytes(nilIfEmpty(b)) }, nil, coderBytes("abc"))

	// Floats keep their bits: -0.0 and NaN.
	for _, f := range []float64{math.Copysign(0, -1), math.NaN()} {
		c := mustCoder[float64](t)
		got, _, err := c.Decode(c.Encode(nil, f))
		if err != nil || math.Float64bits(got) != math.Float64bits(f) {
			t.Errorf("float64 %v round trip = %v, %v", f, got, err)
		}
	}
}

func TestCoderTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("UTC-5", -5*60*60)
	}
	local := time.Date(2024, 3, 10, 1, 59, 59, 123456789, ny)
	want := func(v time.Time) time.Time { return v.UTC() }
	for _, c := range []Coder[time.Time]{mustCoder[time.Time](t), timeAsDerived(t)} {
		roundTrip(t, c, want,
			time.Time{}, local, time.Unix(0, 0), time.Unix(-1, 999999999),
			time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			time.Now()) // monotonic reading dropped, instant kept
		got, _, err := c.Decode(c.Encode(nil, local))
		if err != nil || !got.Equal(local) || got.Location() != time.UTC {
			t.Errorf("%v: %v decodes to %v (%v), %v; want the same instant in UTC", c, local, got, got.Location(), err)
		}
	}
	// A type defined from time.Time encodes as a time, not as its fields.
	type stamp time.Time
	c := mustCoder[stamp](t)
	if got, want := c.Encode(nil, stamp(time.Unix(300, 5))), []byte{0xac, 0x02, 5}; !bytes.Equal(got, want) {
		t.Errorf("stamp encodes to % x, want % x", got, want)
	}
	if err := c.Deterministic(); err != nil {
		t.Errorf("stamp: Deterministic() = %v", err)
	}
	bad := mustCoder[time.Time](t).Encode(nil, time.Unix(1, 0))
	bad = EncodeVarint(bad[:1], uint64(time.Second))
	if _, _, err := mustCoder[time.Time](t).Decode(bad); err == nil || !strings.Contains(err.Error(), "nanoseconds") {
		t.Errorf("decode with nanoseconds out of range: %v", err)
	}
}

// timeAsDerived returns the derived (not the specialised) coder of time.Time, the
// one used inside structs.
func timeAsDerived(t *testing.T) Coder[time.Time] {
	c := mustCoder[struct{ T time.Time }](t)
	return coderFunc[time.Time]{
		name: "derived time",
		enc:  func(dst []byte, v time.Time) []byte { return c.Encode(dst, struct{ T time.Time }{v}) },
		dec: func(src []byte) (time.Time, int, error) {
			v, n, err := c.Decode(src)
			return v.T, n, err
		},
	}
}

// coderFunc is a Coder made of functions, for tests.
type coderFunc[T any] struct {
	name string
	enc  func(dst []byte, v T) []byte
	dec  func(src []byte) (T, int, error)
	det  error
}

func (c coderFunc[T]) Encode(dst []byte, v T) []byte     { return c.enc(dst, v) }
func (c coderFunc[T]) Decode(src []byte) (T, int, error) { return c.dec(src) }
func (c coderFunc[T]) Deterministic() error              { return c.det }
func (c coderFunc[T]) String() string                    { return c.name }
func (c coderFunc[T]) withDet(err error) coderFunc[T]    { c.det = err; return c }
func (c coderFunc[T]) named(name string) coderFunc[T]    { c.name = name; return c }

func TestCoderSlicesAcrossSizes(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 129, 1023, 1024, 1025} {
		ints := make([]int64, n)
		strs := make([]string, n)
		rows := make([]coderPrice, n)
		ptrs := make([]*int, n)
		nested := make([][]string, n)
		empties := make([]struct{}, n)
		for i := range n {
			ints[i] = int64(i) - 64
			strs[i] = strings.Repeat("s", i%5)
			rows[i] = coderPrice{Sym: fmt.Sprint(i), Price: float64(i) / 3}
			if i%2 == 0 {
				ptrs[i] = &n
			}
			nested[i] = nilIfEmpty(strs[:i%4])
		}
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			roundTrip(t, mustCoder[[]int64](t), nilIfEmpty, ints)
			roundTrip(t, mustCoder[[]coderUserID](t), nilIfEmpty, make([]coderUserID, n))
			roundTrip(t, mustCoder[[]string](t), nilIfEmpty, strs)
			roundTrip(t, mustCoder[[]coderPrice](t), nilIfEmpty, rows)
			roundTrip(t, mustCoder[[]*int](t), nilIfEmpty, ptrs)
			roundTrip(t, mustCoder[[][]string](t), nilIfEmpty, nested)
			roundTrip(t, mustCoder[[]struct{}](t), nilIfEmpty, empties)
			roundTrip(t, mustCoder[[]byte](t), nilIfEmpty, bytes.Repeat([]byte{0x80}, n))
			enc := mustCoder[[]int64](t).Encode(nil, ints)
			if l, _, _ := DecodeVarint(enc); l != uint64(n) {
				t.Errorf("[]int64 of %d encodes length %d", n, l)
			}
		})
	}
	// A nil and an empty slice encode the same; both decode to nil.
	c := mustCoder[[]int](t)
	if a, b := c.Encode(nil, nil), c.Encode(nil, []int{}); !bytes.Equal(a, b) {
		t.Errorf("nil slice encodes to % x, empty slice to % x", a, b)
	}
}

func TestCoderArrays(t *testing.T) {
	roundTrip(t, mustCoder[[3]int16](t), nil, [3]int16{}, [3]int16{-1, 0, math.MaxInt16})
	roundTrip(t, mustCoder[[4]byte](t), nil, [4]byte{1, 2, 3, 4})
	roundTrip(t, mustCoder[[2][2]string](t), nil, [2][2]string{{"a", ""}, {"", "d"}})
	roundTrip(t, mustCoder[[0]int](t), nil, [0]int{})
	roundTrip(t, mustCoder[[2]*coderPrice](t), nil, [2]*coderPrice{nil, {"x", 1}})
}

func TestCoderStructs(t *testing.T) {
	ny := time.FixedZone("EST", -5*60*60)
	v := coderOuter{
		coderInner: coderInner{id: -7, Label: "embedded", tags: []string{"a", "b"}},
		At:         time.Date(2024, 1, 2, 3, 4, 5, 6, ny),
		When:       EventTime(1234),
		Win:        Window{Start: 1000, End: 2000},
		inner:      coderInner{id: 42, Label: "unexported", tags: nil},
		Ptr:        &coderInner{id: 1, Label: "ptr"},
		Arr:        [3]int16{1, -2, 3},
		Raw:        [4]byte{0xde, 0xad, 0xbe, 0xef},
		M:          map[string]int{"x": 1, "y": -1},
		Dur:        time.Minute,
	}
	want := func(o coderOuter) coderOuter {
		o.At = o.At.UTC()
		return o
	}
	c := mustCoder[coderOuter](t)
	roundTrip(t, c, want, v, coderOuter{At: time.Unix(0, 0).UTC()})

	// The blank field is not encoded: setting it (through a copy of the struct
	// with the field named) changes nothing.
	type withBlank struct {
		A int
		_ int
		B int
	}
	if got, want := mustCoder[withBlank](t).Encode(nil, withBlank{A: 1, B: 2}), []byte{1, 2}; !bytes.Equal(got, want) {
		t.Errorf("struct with blank field encodes to % x, want % x", got, want)
	}

	roundTrip(t, mustCoder[KV[string, int64]](t), nil, KV[string, int64]{"k", -1}, KV[string, int64]{})
	roundTrip(t, mustCoder[KV[coderUserID, []coderPrice]](t), nil, KV[coderUserID, []coderPrice]{1, []coderPrice{{"a", 1}}})
	roundTrip(t, mustCoder[KV[KV[string, bool], *coderInner]](t), nil,
		KV[KV[string, bool], *coderInner]{KV[string, bool]{"a", true}, &coderInner{id: 3, tags: []string{"t"}}})
	roundTrip(t, mustCoder[struct{}](t), nil, struct{}{})
	roundTrip(t, mustCoder[coderBenchRow](t), nil, coderBenchRow{A: math.MinInt64, B: "b", C: math.Pi})
}

func TestCoderRecursiveTypes(t *testing.T) {
	list := &coderList{Val: 1, Next: &coderList{Val: 2, Next: &coderList{Val: 3}}}
	roundTrip(t, mustCoder[*coderList](t), nil, nil, list)
	roundTrip(t, mustCoder[coderList](t), nil, *list)

	tree := coderTree{Name: "root", Kids: []coderTree{
		{Name: "a"},
		{Name: "b", Kids: []coderTree{{Name: "c"}}, Attr: map[string]coderTree{"x": {Name: "d"}}},
	}}
	roundTrip(t, mustCoder[coderTree](t), nil, tree)
	if err := mustCoder[coderTree](t).Deterministic(); err != nil {
		t.Errorf("coderTree: Deterministic() = %v, want nil", err)
	}
}

func TestCoderPointers(t *testing.T) {
	i, s := 5, "str"
	ps := &s
	roundTrip(t, mustCoder[*int](t), nil, nil, &i)
	roundTrip(t, mustCoder[**string](t), nil, nil, &ps, new(*string))
	roundTrip(t, mustCoder[*coderPrice](t), nil, nil, &coderPrice{"x", 2})
	roundTrip(t, mustCoder[*[]int](t), nil, nil, &[]int{1})

	// Decoding allocates: the result does not alias the input value.
	c := mustCoder[*coderPrice](t)
	in := &coderPrice{"x", 2}
	out, _, _ := c.Decode(c.Encode(nil, in))
	if out == in {
		t.Error("decoded pointer aliases the encoded one")
	}
}

func TestCoderMaps(t *testing.T) {
	roundTrip(t, mustCoder[map[string]int](t), func(m map[string]int) map[string]int {
		if len(m) == 0 {
			return nil
		}
		return m
	}, nil, map[string]int{}, map[string]int{"a": 1}, map[string]int{"": 0, "b": -2, "ccc": 3})
	roundTrip(t, mustCoder[map[int64][]string](t), nil, map[int64][]string{-1: {"x"}, 2: nil})
	roundTrip(t, mustCoder[map[KV[string, int]]coderPrice](t), nil,
		map[KV[string, int]]coderPrice{{"a", 1}: {"s", 1.5}, {"a", 2}: {"t", -1}})
	roundTrip(t, mustCoder[map[string]map[string]bool](t), nil,
		map[string]map[string]bool{"x": {"t": true, "f": false}, "y": nil})
	roundTrip(t, mustCoder[map[struct{}]int](t), nil, map[struct{}]int{{}: 4})
	roundTrip(t, mustCoder[struct{ M map[coderUserID]*int }](t), nil, struct{ M map[coderUserID]*int }{map[coderUserID]*int{1: nil}})

	// Equal maps encode equally, whatever their insertion order and Go's
	// iteration order.
	for _, n := range []int{1, 2, 127, 128, 129, 1000} {
		up, down := map[string]int{}, map[string]int{}
		for i := range n {
			up[fmt.Sprint(i)] = i
		}
		for i := n - 1; i >= 0; i-- {
			down[fmt.Sprint(i)] = i
		}
		c := mustCoder[map[string]int](t)
		a := c.Encode(nil, up)
		for range 5 {
			if b := c.Encode(nil, down); !bytes.Equal(a, b) {
				t.Fatalf("map of %d: equal maps encode differently", n)
			}
		}
		roundTrip(t, c, nil, up)
	}

	// Keys are sorted by their encoded bytes: varint 1 < varint 2 < varint -1 (0xff...).
	got := mustCoder[map[int]bool](t).Encode(nil, map[int]bool{-1: true, 2: false, 1: true})
	want := slices.Concat([]byte{3, 1, 1, 2, 0}, EncodeVarint(nil, math.MaxUint64), []byte{1})
	if !bytes.Equal(got, want) {
		t.Errorf("map[int]bool encodes to % x, want % x", got, want)
	}
}

func TestCoderSeq(t *testing.T) {
	c := SeqCoder(mustCoder[string](t))
	for _, n := range []int{0, 1, 127, 128, 129} {
		in := make([]string, n)
		for i := range in {
			in[i] = fmt.Sprint(i)
		}
		enc := c.Encode([]byte("pre"), slices.Values(in))
		if !bytes.HasPrefix(enc, []byte("pre")) {
			t.Fatalf("Encode does not append")
		}
		enc = enc[3:]
		seq, m, err := c.Decode(enc)
		if err != nil || m != len(enc) {
			t.Fatalf("seq of %d: Decode = %d, %v", n, m, err)
		}
		for pass := range 2 { // re-iterable
			if got := slices.Collect(seq); !slices.Equal(got, in) {
				t.Fatalf("seq of %d, pass %d: got %v", n, pass, got)
			}
		}
		// Early break works.
		for range seq {
			break
		}
		checkPrefixes(t, c, enc)
	}
	if got := c.Encode(nil, nil); !bytes.Equal(got, []byte{0}) {
		t.Errorf("nil seq encodes to % x", got)
	}
	if err := c.Deterministic(); err == nil {
		t.Error("SeqCoder is deterministic, want not")
	}
	// A count larger than the input can hold is an error, not an allocation.
	if _, _, err := c.Decode(EncodeVarint(nil, 1<<60)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("huge count: %v", err)
	}
	// Elements that encode to nothing may outnumber the bytes.
	ec := SeqCoder(mustCoder[struct{}](t))
	seq, _, err := ec.Decode(ec.Encode(nil, slices.Values(make([]struct{}, 300))))
	if err != nil || len(slices.Collect(seq)) != 300 {
		t.Errorf("seq of 300 empty structs: %v", err)
	}
	var _ Coder[iter.Seq[int]] = SeqCoder(mustCoder[int](t))
}

func TestCoderDecodeErrors(t *testing.T) {
	type item struct {
		Name string
		Qty  int
	}
	type order struct {
		ID    int
		Items []item
	}
	oc := mustCoder[order](t)
	enc := oc.Encode(nil, order{ID: 1, Items: []item{{"apple", 1}, {"a long item name", 2}}})
	// Cut inside the second item's name.
	cut := enc[:len(enc)-8]
	_, _, err := oc.Decode(cut)
	wantMsg := "decode dataflow.order: field Items[1].Name: decode string: truncated: need 16 bytes, have 9"
	if err == nil || err.Error() != wantMsg {
		t.Errorf("truncated order: error %q, want %q", err, wantMsg)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated order: error %v does not match io.ErrUnexpectedEOF", err)
	}

	_, _, err = mustCoder[string](t).Decode([]byte{12, 'a', 'b', 'c'})
	if want := "decode string: truncated: need 12 bytes, have 3"; err == nil || err.Error() != want {
		t.Errorf("truncated string: %q, want %q", err, want)
	}

	for _, tc := range []struct {
		name   string
		decode func() error
		want   string
	}{
		{"bool 2", func() error { _, _, err := mustCoder[bool](t).Decode([]byte{2}); return err }, "decode bool: malformed"},
		{"named bool 2", func() error { _, _, err := mustCoder[coderFlag](t).Decode([]byte{2}); return err }, "decode dataflow.coderFlag: malformed"},
		{"int8 out of range", func() error { _, _, err := mustCoder[int8](t).Decode([]byte{0x80, 0x01}); return err }, "decode int8: malformed: varint 0x80 is out of range"},
		{"uint8 negative", func() error {
			_, _, err := mustCoder[uint8](t).Decode(EncodeVarint(nil, math.MaxUint64))
			return err
		}, "decode uint8: malformed"},
		{"named int16 out of range", func() error {
			_, _, err := mustCoder[struct{ X int16 }](t).Decode(EncodeVarint(nil, 1<<20))
			return err
		}, "field X: decode int16: malformed"},
		{"varint overflow", func() error { _, _, err := mustCoder[int64](t).Decode(bytes.Repeat([]byte{0xff}, 11)); return err }, "decode int64: malformed varint: overflows 64 bits"},
		{"pointer flag", func() error { _, _, err := mustCoder[*int](t).Decode([]byte{2, 1}); return err }, "decode *int: malformed: nil flag 0x2"},
		{"huge slice", func() error { _, _, err := mustCoder[[]int](t).Decode(EncodeVarint(nil, 1<<62)); return err }, "decode []int: truncated: count 4611686018427387904 is more than the 0 bytes left can hold"},
		{"huge slice of structs", func() error {
			_, _, err := mustCoder[[]coderPrice](t).Decode(append(EncodeVarint(nil, 2), 1, 'a'))
			return err
		}, "truncated: count 2 is more than the 2 bytes left can hold"},
		{"huge map", func() error { _, _, err := mustCoder[map[string]int](t).Decode(EncodeVarint(nil, 1<<40)); return err }, "decode map[string]int: truncated: count"},
		{"map with empty keys", func() error { _, _, err := mustCoder[map[struct{}]struct{}](t).Decode([]byte{2}); return err }, "2 entries with equal keys"},
		{"map value", func() error { _, _, err := mustCoder[map[string]int](t).Decode([]byte{1, 1, 'a'}); return err }, "element [value]: decode int: truncated"},
		{"float", func() error { _, _, err := mustCoder[float64](t).Decode([]byte{1, 2, 3}); return err }, "decode float64: truncated: need 8 bytes, have 3"},
		{"byte array", func() error { _, _, err := mustCoder[[4]byte](t).Decode([]byte{1, 2}); return err }, "decode [4]uint8: truncated: need 4 bytes, have 2"},
		{"window", func() error { _, _, err := mustCoder[Window](t).Decode([]byte{1}); return err }, "decode dataflow.Window: field End: truncated"},
	} {
		err := tc.decode()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// TestCoderCorruptInput decodes random corruptions of valid encodings: the
// decoders may succeed or fail, but must not panic.
func TestCoderCorruptInput(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	c := mustCoder[coderOuter](t)
	tc := mustCoder[coderTree](t)
	valid := c.Encode(nil, coderOuter{
		coderInner: coderInner{Label: "x", tags: []string{"a", "b", "c"}},
		Ptr:        &coderInner{id: 5},
		M:          map[string]int{"a": 1, "b": 2},
	})
	validTree := tc.Encode(nil, coderTree{Name: "r", Kids: []coderTree{{Name: "k"}}, Attr: map[string]coderTree{"a": {}}})
	for range 20000 {
		for _, v := range [][]byte{valid, validTree} {
			b := slices.Clone(v)
			for range 1 + rng.IntN(3) {
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("seed %d: decoding % x panicked: %v", seed, b, r)
					}
				}()
				_, _, _ = c.Decode(b)
				_, _, _ = tc.Decode(b)
			}()
		}
	}
}

func TestCoderTruncationEveryKind(t *testing.T) {
	// roundTrip checks every prefix; this covers the kinds roundTrip is not run on above.
	checkPrefixes(t, mustCoder[[]*coderList](t), mustCoder[[]*coderList](t).Encode(nil, []*coderList{{Val: 1, Next: &coderList{Val: 300}}, nil}))
	checkPrefixes(t, mustCoder[map[string][]float32](t), mustCoder[map[string][]float32](t).Encode(nil, map[string][]float32{"a": {1, 2}, "b": nil}))
}

func TestCoderDeterministic(t *testing.T) {
	const floatMsg = "float64 is not a deterministic key encoding (NaN, -0.0); use an integer or string key"
	type withFloat struct {
		ID    int
		Price float64
	}
	type nested struct {
		Name  string
		Inner struct{ Scores []float32 }
	}
	type floatTree struct {
		Kids []floatTree
		W    float64
	}
	for _, tc := range []struct {
		name string
		det  error
		want string // "" for deterministic
	}{
		{"bool", mustCoder[bool](t).Deterministic(), ""},
		{"int", mustCoder[int](t).Deterministic(), ""},
		{"string", mustCoder[string](t).Deterministic(), ""},
		{"bytes", mustCoder[[]byte](t).Deterministic(), ""},
		{"time", mustCoder[time.Time](t).Deterministic(), ""},
		{"EventTime", mustCoder[EventTime](t).Deterministic(), ""},
		{"Window", mustCoder[Window](t).Deterministic(), ""},
		{"KV", mustCoder[KV[string, coderUserID]](t).Deterministic(), ""},
		{"struct", mustCoder[coderInner](t).Deterministic(), ""},
		{"slice", mustCoder[[]string](t).Deterministic(), ""},
		{"array", mustCoder[[2]int](t).Deterministic(), ""},
		{"map", mustCoder[map[string]int](t).Deterministic(), ""},
		{"recursive", mustCoder[coderTree](t).Deterministic(), ""},
		{"float64", mustCoder[float64](t).Deterministic(), floatMsg},
		{"float32", mustCoder[float32](t).Deterministic(), "float32 is not a deterministic key encoding"},
		{"named float", mustCoder[coderScore](t).Deterministic(), "dataflow.coderScore is not a deterministic key encoding"},
		{"pointer", mustCoder[*int](t).Deterministic(), "*int is not a deterministic key encoding (Go compares pointers by address)"},
		{"recursive pointer", mustCoder[coderList](t).Deterministic(), "field Next: *dataflow.coderList is not"},
		{"struct with float", mustCoder[withFloat](t).Deterministic(), "field Price: " + floatMsg},
		{"nested", mustCoder[nested](t).Deterministic(), "field Inner.Scores[]: float32 is not"},
		{"map value", mustCoder[map[string]float64](t).Deterministic(), "element [value]: " + floatMsg},
		{"map key", mustCoder[map[float64]string](t).Deterministic(), "element [key]: " + floatMsg},
		{"KV value", mustCoder[KV[string, float64]](t).Deterministic(), "field Value: " + floatMsg},
		{"array", mustCoder[[2]float64](t).Deterministic(), "element []: " + floatMsg},
		{"recursive with float", mustCoder[floatTree](t).Deterministic(), "field W: " + floatMsg},
		{"seq", SeqCoder(mustCoder[int](t)).Deterministic(), "not deterministic"},
	} {
		switch {
		case tc.want == "" && tc.det != nil:
			t.Errorf("%s: Deterministic() = %v, want nil", tc.name, tc.det)
		case tc.want != "" && (tc.det == nil || !strings.Contains(tc.det.Error(), tc.want)):
			t.Errorf("%s: Deterministic() = %v, want an error containing %q", tc.name, tc.det, tc.want)
		}
	}
}

func TestKeyCoderOf(t *testing.T) {
	type withFloat struct {
		ID    int
		Price float64
	}
	check := func(name string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: KeyCoderOf error %v, want one containing %q", name, err, want)
		}
		if !errors.Is(err, ErrNotDeterministic) {
			t.Errorf("%s: KeyCoderOf error %v does not match ErrNotDeterministic", name, err)
		}
	}
	_, err := KeyCoderOf[float64]()
	check("float64", err, "float64 cannot be a grouping key: float64 is not a deterministic key encoding (NaN, -0.0); use an integer or string key")
	_, err = KeyCoderOf[*coderInner]()
	check("pointer", err, "*dataflow.coderInner cannot be a grouping key: *dataflow.coderInner is not a deterministic key encoding")
	_, err = KeyCoderOf[map[string]float64]()
	check("map", err, "map[string]float64 cannot be a grouping key: element [value]: float64 is not")
	_, err = KeyCoderOf[withFloat]()
	check("struct", err, "dataflow.withFloat cannot be a grouping key: field Price: float64 is not")

	for name, f := range map[string]func() error{
		"string": func() error { _, err := KeyCoderOf[string](); return err },
		"KV":     func() error { _, err := KeyCoderOf[KV[string, int]](); return err },
		"time":   func() error { _, err := KeyCoderOf[time.Time](); return err },
		"struct": func() error { _, err := KeyCoderOf[coderInner](); return err },
	} {
		if err := f(); err != nil {
			t.Errorf("KeyCoderOf[%s]: %v", name, err)
		}
	}
	// No coder at all is ErrNoCoder, not a determinism problem.
	if _, err := KeyCoderOf[chan int](); !errors.Is(err, ErrNoCoder) || errors.Is(err, ErrNotDeterministic) {
		t.Errorf("KeyCoderOf[chan int]: %v", err)
	}
}

func TestCoderOfNotEncodable(t *testing.T) {
	type order struct {
		ID    int
		Items []struct {
			Name string
			Ch   chan int
		}
	}
	type withFunc struct{ F func(int) string }
	type withAny struct {
		Meta struct{ V any }
	}
	type withMap struct{ M map[string]func() }
	type withPtr struct{ P *struct{ E error } }
	for _, tc := range []struct {
		name string
		err  func() error
		want string
	}{
		{"chan field", func() error { _, err := CoderOf[order](); return err },
			"no coder for type dataflow.order: field Items[].Ch: chan int is not encodable; register one with dataflow.RegisterCoder"},
		{"func field", func() error { _, err := CoderOf[withFunc](); return err },
			"no coder for type dataflow.withFunc: field F: func(int) string is not encodable"},
		{"interface field", func() error { _, err := CoderOf[withAny](); return err },
			"no coder for type dataflow.withAny: field Meta.V: interface {} is not encodable"},
		{"map value", func() error { _, err := CoderOf[withMap](); return err },
			"field M[value]: func() is not encodable"},
		{"through a pointer", func() error { _, err := CoderOf[withPtr](); return err },
			"field P.E: error is not encodable"},
		{"top-level chan", func() error { _, err := CoderOf[chan int](); return err },
			"no coder for type chan int: chan int is not encodable; register one with dataflow.RegisterCoder"},
		{"top-level any", func() error { _, err := CoderOf[any](); return err }, "interface {} is not encodable"},
		{"slice of func", func() error { _, err := CoderOf[[]func()](); return err }, "element []: func() is not encodable"},
		{"complex", func() error { _, err := CoderOf[complex128](); return err }, "complex128 is not encodable"},
		{"uintptr", func() error { _, err := CoderOf[struct{ U uintptr }](); return err }, "field U: uintptr is not encodable"},
	} {
		err := tc.err()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: CoderOf error %v, want one containing %q", tc.name, err, tc.want)
		}
		if !errors.Is(err, ErrNoCoder) {
			t.Errorf("%s: CoderOf error %v does not match ErrNoCoder", tc.name, err)
		}
	}
}

// coderCelsius is given a registered coder by TestRegisterCoder.
type coderCelsius float64

// coderHandle is an interface type given a registered coder by TestRegisterCoder.
type coderHandle interface{ Handle() string }

type coderHandleImpl string

func (h coderHandleImpl) Handle() string { return string(h) }

// keepRegistry restores the coder registrations when the test ends, so that it
// can run again (-count) and other tests never see its coders.
func keepRegistry(t *testing.T) {
	old := registry.Load()
	t.Cleanup(func() {
		registryMu.Lock()
		defer registryMu.Unlock()
		registry.Store(old)
	})
}

func TestRegisterCoder(t *testing.T) {
	keepRegistry(t)
	type reading struct {
		Where string
		Temp  coderCelsius
	}
	// Before registration: derived, as a float.
	before := mustCoder[reading](t)
	if err := before.Deterministic(); err == nil {
		t.Fatal("reading with a float field is deterministic before registration")
	}

	// A coder that stores tenths of a degree as a varint: deterministic.
	tenths := coderFunc[coderCelsius]{
		name: "tenths",
		enc: func(dst []byte, v coderCelsius) []byte {
			return EncodeVarint(dst, uint64(int64(math.Round(float64(v)*10))))
		},
		dec: func(src []byte) (coderCelsius, int, error) {
			u, n, err := DecodeVarint(src)
			return coderCelsius(float64(int64(u)) / 10), n, err
		},
	}
	RegisterCoder[coderCelsius](tenths)

	c := mustCoder[coderCelsius](t)
	if c.String() != "tenths" {
		t.Errorf("CoderOf[coderCelsius] = %v, want the registered coder", c)
	}
	if got, want := c.Encode(nil, 21.5), []byte{215, 1}; !bytes.Equal(got, want) {
		t.Errorf("registered coder encodes 21.5 as % x, want % x", got, want)
	}
	rc := mustCoder[reading](t)
	if got, want := rc.Encode(nil, reading{"x", 21.5}), []byte{1, 'x', 215, 1}; !bytes.Equal(got, want) {
		t.Errorf("struct with registered field encodes as % x, want % x", got, want)
	}
	roundTrip(t, rc, nil, reading{"lab", -3.5})
	roundTrip(t, mustCoder[[]coderCelsius](t), nil, []coderCelsius{1, 2.5})
	if err := rc.Deterministic(); err != nil {
		t.Errorf("reading with a registered deterministic field: Deterministic() = %v", err)
	}
	// The coder handed out before registration keeps working as it was.
	if got := before.Encode(nil, reading{"x", 1}); len(got) != 2+8 {
		t.Errorf("coder derived before registration changed: % x", got)
	}

	// A later registration replaces, and its verdict on determinism is used.
	RegisterCoder[coderCelsius](tenths.named("tenths v2").withDet(errors.New("tenths v2 is not deterministic")))
	if c := mustCoder[coderCelsius](t); c.String() != "tenths v2" {
		t.Errorf("after re-registration CoderOf = %v", c)
	}
	if _, err := KeyCoderOf[reading](); err == nil || !strings.Contains(err.Error(), "field Temp: tenths v2 is not deterministic") {
		t.Errorf("KeyCoderOf[reading] after re-registration: %v", err)
	}

	// A coder for an interface type makes fields of that type encodable.
	type holder struct {
		ID int
		H  coderHandle
	}
	if _, err := CoderOf[holder](); !errors.Is(err, ErrNoCoder) {
		t.Fatalf("holder before registration: %v", err)
	}
	sc := mustCoder[string](t)
	RegisterCoder[coderHandle](coderFunc[coderHandle]{
		name: "handle",
		enc: func(dst []byte, h coderHandle) []byte {
			if h == nil {
				return append(dst, 0)
			}
			return sc.Encode(append(dst, 1), h.Handle())
		},
		dec: func(src []byte) (coderHandle, int, error) {
			if len(src) == 0 {
				return nil, 0, io.ErrUnexpectedEOF
			}
			if src[0] == 0 {
				return nil, 1, nil
			}
			s, n, err := sc.Decode(src[1:])
			return coderHandleImpl(s), n + 1, err
		},
	})
	roundTrip(t, mustCoder[holder](t), nil, holder{1, coderHandleImpl("h")}, holder{2, nil})
	ac := Erase(mustCoder[coderHandle](t))
	if b, err := ac.EncodeAny(nil, nil); err != nil || !bytes.Equal(b, []byte{0}) {
		t.Errorf("EncodeAny(nil) for an interface type = % x, %v", b, err)
	}
}

func TestRegisterCoderConcurrent(t *testing.T) {
	keepRegistry(t)
	type concurrentKey struct{ A, B int }
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				if (i+j)%10 == 0 {
					RegisterCoder[coderBytes](bytesCoderFor[coderBytes]())
				}
				c := mustCoder[KV[concurrentKey, coderBytes]](t)
				v := KV[concurrentKey, coderBytes]{concurrentKey{i, j}, coderBytes("v")}
				got, _, err := c.Decode(c.Encode(nil, v))
				if err != nil || !reflect.DeepEqual(got, v) {
					t.Errorf("concurrent round trip: %v, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// bytesCoderFor is a registered-style coder for a named byte slice.
func bytesCoderFor[B ~[]byte]() Coder[B] {
	return coderFunc[B]{
		name: "named bytes",
		enc:  func(dst []byte, v B) []byte { return appendBytes(dst, v) },
		dec: func(src []byte) (B, int, error) {
			b, n, err := decodeBytes("named bytes", src)
			return B(b), n, err
		},
	}
}

func TestErase(t *testing.T) {
	ac := Erase(mustCoder[KV[string, int]](t))
	if ac.Type() != reflect.TypeFor[KV[string, int]]() {
		t.Errorf("Type() = %v", ac.Type())
	}
	if _, err := ac.EncodeAny(nil, "not a KV"); err == nil {
		t.Error("EncodeAny of a string into a KV coder succeeded")
	}
	if _, err := ac.EncodeAny(nil, nil); err == nil {
		t.Error("EncodeAny of nil into a KV coder succeeded")
	}
	if _, _, err := ac.DecodeAny([]byte{5}); err == nil {
		t.Error("DecodeAny of truncated input succeeded")
	}
	if ac.Deterministic() != nil || ac.String() == "" {
		t.Errorf("Deterministic() = %v, String() = %q", ac.Deterministic(), ac.String())
	}
}

func TestCoderEncodeAllocs(t *testing.T) {
	row := coderBenchRow{A: 1 << 40, B: "some string", C: 2.5}
	prices := []coderPrice{{"a", 1}}
	buf := make([]byte, 0, 256)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"struct", func() { buf = mustCoderNoT[coderBenchRow]().Encode(buf[:0], row) }},
		{"KV", func() { buf = mustCoderNoT[KV[string, int64]]().Encode(buf[:0], KV[string, int64]{"k", 1}) }},
		{"named int", func() { buf = mustCoderNoT[coderUserID]().Encode(buf[:0], 5) }},
		{"slice", func() { buf = mustCoderNoT[[]coderPrice]().Encode(buf[:0], prices) }},
		{"time", func() { buf = mustCoderNoT[time.Time]().Encode(buf[:0], time.Unix(1, 1)) }},
	} {
		c := tc.f
		c() // derive outside the measurement
		if n := testing.AllocsPerRun(100, c); n != 0 {
			t.Errorf("%s: Encode into a reused buffer allocates %v times, want 0", tc.name, n)
		}
	}
	// Decoding a struct of basic fields allocates only its string.
	c := mustCoder[coderBenchRow](t)
	enc := c.Encode(nil, row)
	if n := testing.AllocsPerRun(100, func() { _, _, _ = c.Decode(enc) }); n > 1 {
		t.Errorf("Decode allocates %v times, want at most 1 (the string)", n)
	}
}

var coderCache sync.Map // reflect.Type -> coder, so that AllocsPerRun measures Encode only

func mustCoderNoT[T any]() Coder[T] {
	if c, ok := coderCache.Load(reflect.TypeFor[T]()); ok {
		return c.(Coder[T])
	}
	c, err := CoderOf[T]()
	if err != nil {
		panic(err)
	}
	coderCache.Store(reflect.TypeFor[T](), c)
	return c
}

func BenchmarkCoderStruct(b *testing.B) {
	rows := make([]coderBenchRow, 1024)
	for i := range rows {
		rows[i] = coderBenchRow{A: int64(i) * 7919, B: fmt.Sprint("row-", i), C: float64(i) / 7}
	}
	b.Run("derived", func(b *testing.B) {
		c := mustCoder[coderBenchRow](b)
		buf := make([]byte, 0, 64)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			buf = c.Encode(buf[:0], rows[i%len(rows)])
			v, _, err := c.Decode(buf)
			if err != nil {
				b.Fatal(err)
			}
			benchSink = v
			i++
		}
		b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("encode-only", func(b *testing.B) {
		c := mustCoder[coderBenchRow](b)
		buf := make([]byte, 0, 64)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			buf = c.Encode(buf[:0], rows[i%len(rows)])
			i++
		}
		b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
	})
	// The baselines: the same encoding written by hand.
	b.Run("hand-written", func(b *testing.B) {
		buf := make([]byte, 0, 64)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			buf = handEncode(buf[:0], &rows[i%len(rows)])
			benchSink = handDecode(buf)
			i++
		}
		b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("hand-written-encode-only", func(b *testing.B) {
		buf := make([]byte, 0, 64)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			buf = handEncode(buf[:0], &rows[i%len(rows)])
			i++
		}
		b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "events/s")
	})
}

var benchSink coderBenchRow

func handEncode(buf []byte, r *coderBenchRow) []byte {
	buf = binary.AppendUvarint(buf, uint64(r.A))
	buf = binary.AppendUvarint(buf, uint64(len(r.B)))
	buf = append(buf, r.B...)
	return binary.BigEndian.AppendUint64(buf, math.Float64bits(r.C))
}

func handDecode(buf []byte) coderBenchRow {
	var out coderBenchRow
	a, n := binary.Uvarint(buf)
	out.A = int64(a)
	l, m := binary.Uvarint(buf[n:])
	out.B = string(buf[n+m : n+m+int(l)])
	out.C = math.Float64frombits(binary.BigEndian.Uint64(buf[n+m+int(l):]))
	return out
}

// coderDeep is given a registered coder that grows the goroutine stack and
// runs the garbage collector, by TestCoderStackGrowth.
type coderDeep int

//go:noinline
func growStack(n int) int {
	var pad [256]byte
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return growStack(n-1) + int(pad[n%len(pad)])
}

// TestCoderStackGrowth checks derived coders while the stack they point into
// moves: they hand their codecs a pointer to their own argument (noescape), so
// a codec that kept it anywhere but on the stack would read a stale copy.
func TestCoderStackGrowth(t *testing.T) {
	keepRegistry(t)
	ic := mustCoder[int](t)
	RegisterCoder[coderDeep](coderFunc[coderDeep]{
		name: "deep",
		enc: func(dst []byte, v coderDeep) []byte {
			growStack(2000)
			runtime.GC()
			return ic.Encode(dst, int(v))
		},
		dec: func(src []byte) (coderDeep, int, error) {
			growStack(2000)
			runtime.GC()
			v, n, err := ic.Decode(src)
			return coderDeep(v), n, err
		},
	})
	type row struct {
		A    string
		M    map[string]coderDeep
		D    coderDeep
		S    []coderDeep
		Arr  [2]coderDeep
		P    *coderDeep
		B    string
		Tail int64
	}
	d := coderDeep(9)
	v := row{
		A: "a", M: map[string]coderDeep{"x": 1, "y": 2}, D: 3, S: []coderDeep{4, 5},
		Arr: [2]coderDeep{6, 7}, P: &d, B: strings.Repeat("b", 100), Tail: -1,
	}
	c := mustCoder[row](t)
	want := c.Encode(nil, v)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { // a new goroutine starts with a small stack
			for range 3 {
				if got := c.Encode(nil, v); !bytes.Equal(got, want) {
					t.Errorf("encoding changed: % x, want % x", got, want)
				}
				got, _, err := c.Decode(want)
				if err != nil || !reflect.DeepEqual(got, v) {
					t.Errorf("Decode = %+v, %v; want %+v", got, err, v)
				}
			}
		})
	}
	wg.Wait()
}
