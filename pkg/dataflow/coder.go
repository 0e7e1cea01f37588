package dataflow

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Coder encodes values of T to bytes and back.
//
// Encodings are self-delimiting, so values can be concatenated and decoded one
// after another. Coders are safe for concurrent use.
type Coder[T any] interface {
	// Encode appends the encoding of v to dst and returns the extended slice.
	Encode(dst []byte, v T) []byte
	// Decode decodes one value from the front of src and returns it with the number of bytes read.
	// The value never aliases src. Truncated or malformed input is an error, never a panic.
	Decode(src []byte) (v T, n int, err error)
	// Deterministic returns nil if equal values always have equal encodings and equal
	// encodings mean equal values (required of grouping keys), or an error saying why not.
	Deterministic() error
	String() string
}

// AnyCoder is the type-erased view of a Coder that runners use.
type AnyCoder interface {
	// EncodeAny appends the encoding of v, which must be a T, to dst.
	EncodeAny(dst []byte, v any) ([]byte, error)
	// DecodeAny decodes one T from the front of src.
	DecodeAny(src []byte) (any, int, error)
	Deterministic() error
	// Type is T.
	Type() reflect.Type
	String() string
}

var (
	// ErrNoCoder is matched (errors.Is) by the error of CoderOf and KeyCoderOf
	// for a type that has no registered coder and cannot be derived.
	ErrNoCoder = errors.New("no coder")
	// ErrNotDeterministic is matched (errors.Is) by the error of KeyCoderOf for
	// a type whose encoding is not deterministic.
	ErrNotDeterministic = errors.New("encoding is not deterministic")
)

// Erase returns the type-erased view of c.
func Erase[T any](c Coder[T]) AnyCoder { return erased[T]{c} }

type erased[T any] struct{ c Coder[T] }

func (e erased[T]) EncodeAny(dst []byte, v any) ([]byte, error) {
	t, ok := v.(T)
	if !ok {
		var zero T
		// A nil interface is a valid value of an interface type T, but v.(T) rejects it.
		if v != nil || any(zero) != nil {
			return dst, fmt.Errorf("coder %v: cannot encode a %T, want %v", e.c, v, reflect.TypeFor[T]())
		}
	}
	return e.c.Encode(dst, t), nil
}

func (e erased[T]) DecodeAny(src []byte) (any, int, error) {
	v, n, err := e.c.Decode(src)
	if err != nil {
		return nil, 0, err
	}
	return v, n, nil
}

func (e erased[T]) Deterministic() error { return e.c.Deterministic() }
func (e erased[T]) Type() reflect.Type   { return reflect.TypeFor[T]() }
func (e erased[T]) String() string       { return e.c.String() }

// RegisterCoder makes c the coder of T: CoderOf[T] returns it, and derived coders
// use it wherever a T appears (a struct field, a slice element, a map key...).
// A later registration for the same T replaces an earlier one for coders derived
// after it. It is safe for concurrent use, but is usually called from init.
//
// When values of T appear as slice elements or map entries, c should encode every
// value in at least one byte: derived decoders reject element counts larger than
// the bytes that remain, so that corrupt input cannot make them allocate without bound.
func RegisterCoder[T any](c Coder[T]) {
	if c == nil {
		panic(fmt.Sprintf("dataflow.RegisterCoder: nil coder for %v", reflect.TypeFor[T]()))
	}
	t := reflect.TypeFor[T]()
	r := &registration{coder: c, codec: registeredCodec(c)}
	registryMu.Lock()
	defer registryMu.Unlock()
	old := registry.Load()
	coders := make(map[reflect.Type]*registration, len(old.coders)+1)
	for k, v := range old.coders {
		coders[k] = v
	}
	coders[t] = r
	// A fresh state drops every coder derived against the old registrations.
	registry.Store(&coderRegistry{coders: coders})
}

// CoderOf returns the coder of T: the registered one if there is one, otherwise
// one derived from T's structure, once; encoding and decoding then use no
// reflection for basic types and structs of them. The derived encodings are
// Beam's where Beam has one:
//
//   - bool: one byte, 0 or 1.
//   - integers of every size (EventTime and time.Duration among them): Beam's
//     varint, the unsigned LEB128 of the two's complement as a uint64, so negative
//     numbers take ten bytes. Decoding rejects values out of the type's range.
//   - float32, float64: the IEEE 754 bits, big-endian, in 4 or 8 bytes.
//   - string, []byte: a varint length, then the bytes.
//   - time.Time: varint Unix seconds (two's complement), then varint
//     nanoseconds; it decodes to the same instant in UTC.
//   - slices: a varint length, then the elements; an empty slice decodes to nil.
//   - arrays: the elements ([N]byte: the N bytes).
//   - maps: a varint count, then the key/value pairs sorted by the bytes of the
//     encoded keys, so that equal maps encode equally; an empty map decodes to nil.
//   - pointers: a byte, 0 for nil or 1, then the pointed-to value.
//   - structs (KV and Window among them): every field, exported or not, in
//     declaration order; blank (_) fields are skipped.
//   - named types: as their underlying type.
//
// A registered coder is used wherever its exact type appears, before any of these
// rules. Functions, channels, interfaces (any included), unsafe.Pointer, uintptr
// and complex numbers have no derived coder: register one. The error then names
// T and the path to the part without a coder ("field Items[].Ch: chan int is not
// encodable"), and matches ErrNoCoder.
//
// Determinism follows Beam: floats are not deterministic (-0.0 equals +0.0 but
// encodes differently, NaN equals nothing); pointers are not either (Go compares
// them by address, the encoding by what they point to); maps, structs, slices and
// arrays are deterministic when all their parts are; time.Time is (the encoding is
// the instant, as Time.Equal compares); registered coders say for themselves.
func CoderOf[T any]() (Coder[T], error) {
	reg := registry.Load()
	t := reflect.TypeFor[T]()
	if r, ok := reg.coders[t]; ok {
		return r.coder.(Coder[T]), nil
	}
	if c, ok := fastCoder[T](); ok {
		return c, nil
	}
	e, err := reg.derive(t)
	if err != nil {
		return nil, err
	}
	return &derivedCoder[T]{c: e.c, det: e.det}, nil
}

// KeyCoderOf is CoderOf for grouping keys: it also requires the coder to be
// deterministic, and its error says why T cannot be a grouping key (and matches
// ErrNotDeterministic).
func KeyCoderOf[T any]() (Coder[T], error) {
	c, err := CoderOf[T]()
	if err != nil {
		return nil, err
	}
	if err := c.Deterministic(); err != nil {
		return nil, &keyError{typ: reflect.TypeFor[T](), err: err}
	}
	return c, nil
}

type keyError struct {
	typ reflect.Type
	err error
}

func (e *keyError) Error() string {
	return fmt.Sprintf("%v cannot be a grouping key: %v", e.typ, e.err)
}

func (e *keyError) Unwrap() []error { return []error{ErrNotDeterministic, e.err} }

// registration is one registered coder and its pointer-based view for derived coders.
type registration struct {
	coder any // a Coder[T]
	codec *codec
}

// coderRegistry is an immutable snapshot of the registrations, with a cache of the
// coders derived against it. RegisterCoder replaces the whole snapshot, so readers
// need no lock.
type coderRegistry struct {
	coders  map[reflect.Type]*registration
	derived sync.Map // reflect.Type -> *codec
}

var (
	registryMu sync.Mutex // serializes RegisterCoder
	registry   = func() *atomic.Pointer[coderRegistry] {
		var p atomic.Pointer[coderRegistry]
		p.Store(&coderRegistry{coders: map[reflect.Type]*registration{}})
		return &p
	}()
)

// SeqCoder returns a coder for grouped values: it encodes a sequence by iterating
// it once (a varint count, then the elements), and decodes into a slice, returning
// a sequence over it that can be iterated any number of times. It is not
// deterministic: grouped values arrive in no particular order.
func SeqCoder[V any](c Coder[V]) Coder[iter.Seq[V]] { return seqCoder[V]{c} }

type seqCoder[V any] struct{ c Coder[V] }

func (s seqCoder[V]) Encode(dst []byte, seq iter.Seq[V]) []byte {
	// The count comes first but is known only at the end: encode the elements,
	// then shift them right by the length of the count's varint.
	start := len(dst)
	n := uint64(0)
	if seq != nil {
		for v := range seq {
			dst = s.c.Encode(dst, v)
			n++
		}
	}
	var tmp [maxVarintLen]byte
	cnt := EncodeVarint(tmp[:0], n)
	end := len(dst)
	dst = append(dst, cnt...) // grow by len(cnt)
	copy(dst[start+len(cnt):], dst[start:end])
	copy(dst[start:], cnt)
	return dst
}

func (s seqCoder[V]) Decode(src []byte) (iter.Seq[V], int, error) {
	n, off, err := DecodeVarint(src)
	if err != nil {
		return nil, 0, fmt.Errorf("decode %v: count: %w", s, err)
	}
	rest := len(src) - off
	if n > uint64(rest) {
		// Only values that encode to nothing can outnumber the bytes left.
		var zero V
		if len(s.c.Encode(nil, zero)) > 0 {
			return nil, 0, fmt.Errorf("decode %v: %w", s, &countError{n: n, have: rest})
		}
	}
	vs := make([]V, 0, min(n, uint64(rest)))
	for i := uint64(0); i < n; i++ {
		v, k, err := s.c.Decode(src[off:])
		if err != nil {
			return nil, 0, fmt.Errorf("decode %v: element %d: %w", s, i, err)
		}
		off += k
		vs = append(vs, v)
	}
	return slices.Values(vs), off, nil
}

func (s seqCoder[V]) Deterministic() error {
	return fmt.Errorf("%v is not deterministic: grouped values arrive in no particular order", s)
}

func (s seqCoder[V]) String() string { return "seq[" + s.c.String() + "]" }

// maxVarintLen is the longest varint of a uint64.
const maxVarintLen = 10

// EncodeVarint appends v as an unsigned LEB128 varint (Beam's VarInt): seven bits
// per byte, least significant first, the high bit set on every byte but the last.
// Signed integers are encoded as the uint64 of their two's complement, so negative
// numbers take ten bytes.
func EncodeVarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// DecodeVarint decodes a varint written by EncodeVarint from the front of src and
// returns it with the number of bytes read. Truncated input matches io.ErrUnexpectedEOF.
func DecodeVarint(src []byte) (uint64, int, error) {
	if len(src) > 0 && src[0] < 0x80 {
		return uint64(src[0]), 1, nil
	}
	var v uint64
	for i, b := range src {
		if i == maxVarintLen-1 && b > 1 {
			return 0, 0, errVarintOverflow
		}
		if b < 0x80 {
			return v | uint64(b)<<(7*i), i + 1, nil
		}
		v |= uint64(b&0x7f) << (7 * i)
	}
	return 0, 0, &truncatedError{have: len(src), varint: true}
}

var errVarintOverflow = errors.New("malformed varint: overflows 64 bits")

// truncatedError reports input that ends before the value does.
type truncatedError struct {
	need, have int
	varint     bool
}

func (e *truncatedError) Error() string {
	if e.varint {
		if e.have == 0 {
			return "truncated: need a varint, have 0 bytes"
		}
		return fmt.Sprintf("truncated: varint runs past the end of the input (%d bytes)", e.have)
	}
	return fmt.Sprintf("truncated: need %d bytes, have %d", e.need, e.have)
}

func (e *truncatedError) Is(target error) bool { return target == io.ErrUnexpectedEOF }

// countError reports an element count that the remaining input cannot hold.
type countError struct {
	n    uint64
	have int
}

func (e *countError) Error() string {
	return fmt.Sprintf("truncated: count %d is more than the %d bytes left can hold", e.n, e.have)
}

func (e *countError) Is(target error) bool { return target == io.ErrUnexpectedEOF }

// integer is the set of types encoded as varints.
type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// fastCoder returns a specialised coder, with no reflection and no boxing, for
// the common element types.
func fastCoder[T any]() (Coder[T], bool) {
	var c any
	switch any(*new(T)).(type) {
	case bool:
		c = boolCoder{}
	case int:
		c = varintCoder[int]{}
	case int8:
		c = varintCoder[int8]{}
	case int16:
		c = varintCoder[int16]{}
	case int32:
		c = varintCoder[int32]{}
	case int64:
		c = varintCoder[int64]{}
	case uint:
		c = varintCoder[uint]{}
	case uint8:
		c = varintCoder[uint8]{}
	case uint16:
		c = varintCoder[uint16]{}
	case uint32:
		c = varintCoder[uint32]{}
	case uint64:
		c = varintCoder[uint64]{}
	case EventTime:
		c = varintCoder[EventTime]{}
	case time.Duration:
		c = varintCoder[time.Duration]{}
	case float32:
		c = float32Coder{}
	case float64:
		c = float64Coder{}
	case string:
		c = stringCoder{}
	case []byte:
		c = bytesCoder{}
	case time.Time:
		c = timeCoder{}
	case Window:
		c = windowCoder{}
	default:
		return nil, false
	}
	return c.(Coder[T]), true
}

type boolCoder struct{}

func (boolCoder) Encode(dst []byte, v bool) []byte { return appendBool(dst, v) }
func (boolCoder) Decode(src []byte) (bool, int, error) {
	return decodeBool("bool", src)
}
func (boolCoder) Deterministic() error { return nil }
func (boolCoder) String() string       { return "bool" }

type varintCoder[T integer] struct{}

func (varintCoder[T]) Encode(dst []byte, v T) []byte { return EncodeVarint(dst, uint64(v)) }
func (varintCoder[T]) Decode(src []byte) (T, int, error) {
	v, n, err := decodeInt[T](src)
	if err != nil {
		return 0, 0, fmt.Errorf("decode %v: %w", reflect.TypeFor[T](), err)
	}
	return v, n, nil
}
func (varintCoder[T]) Deterministic() error { return nil }
func (varintCoder[T]) String() string       { return "varint[" + reflect.TypeFor[T]().String() + "]" }

type float32Coder struct{}

func (float32Coder) Encode(dst []byte, v float32) []byte { return appendFloat32(dst, v) }
func (float32Coder) Decode(src []byte) (float32, int, error) {
	return decodeFloat32("float32", src)
}
func (float32Coder) Deterministic() error { return floatNotDeterministic(reflect.TypeFor[float32]()) }
func (float32Coder) String() string       { return "float32" }

type float64Coder struct{}

func (float64Coder) Encode(dst []byte, v float64) []byte { return appendFloat64(dst, v) }
func (float64Coder) Decode(src []byte) (float64, int, error) {
	return decodeFloat64("float64", src)
}
func (float64Coder) Deterministic() error { return floatNotDeterministic(reflect.TypeFor[float64]()) }
func (float64Coder) String() string       { return "float64" }

type stringCoder struct{}

func (stringCoder) Encode(dst []byte, v string) []byte { return appendString(dst, v) }
func (stringCoder) Decode(src []byte) (string, int, error) {
	return decodeString("string", src)
}
func (stringCoder) Deterministic() error { return nil }
func (stringCoder) String() string       { return "string" }

type bytesCoder struct{}

func (bytesCoder) Encode(dst []byte, v []byte) []byte { return appendBytes(dst, v) }
func (bytesCoder) Decode(src []byte) ([]byte, int, error) {
	return decodeBytes("[]uint8", src)
}
func (bytesCoder) Deterministic() error { return nil }
func (bytesCoder) String() string       { return "bytes" }

type timeCoder struct{}

func (timeCoder) Encode(dst []byte, v time.Time) []byte { return appendTime(dst, v) }
func (timeCoder) Decode(src []byte) (time.Time, int, error) {
	return decodeTime("time.Time", src)
}
func (timeCoder) Deterministic() error { return nil }
func (timeCoder) String() string       { return "time" }

type windowCoder struct{}

func (windowCoder) Encode(dst []byte, w Window) []byte {
	return EncodeVarint(EncodeVarint(dst, uint64(w.Start)), uint64(w.End))
}
func (windowCoder) Decode(src []byte) (Window, int, error) {
	var w Window
	s, n, err := decodeInt[EventTime](src)
	if err != nil {
		return w, 0, fmt.Errorf("decode dataflow.Window: field Start: %w", err)
	}
	e, m, err := decodeInt[EventTime](src[n:])
	if err != nil {
		return w, 0, fmt.Errorf("decode dataflow.Window: field End: %w", err)
	}
	return Window{Start: s, End: e}, n + m, nil
}
func (windowCoder) Deterministic() error { return nil }
func (windowCoder) String() string       { return "window" }

// The leaf encodings, shared by the fast coders above and the derived coders.

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func decodeBool(name string, src []byte) (bool, int, error) {
	if len(src) == 0 {
		return false, 0, fmt.Errorf("decode %s: %w", name, &truncatedError{need: 1})
	}
	switch src[0] {
	case 0:
		return false, 1, nil
	case 1:
		return true, 1, nil
	}
	return false, 0, fmt.Errorf("decode %s: malformed: byte %#x is neither 0 nor 1", name, src[0])
}

// decodeInt decodes a varint into T, rejecting values that T cannot hold (they
// were written for another type, or the input is corrupt). Its errors do not name
// the type: callers add that.
func decodeInt[T integer](src []byte) (T, int, error) {
	u, n, err := DecodeVarint(src)
	if err != nil {
		return 0, 0, err
	}
	// Signed T sign-extends back to u only if u was the two's complement of a T.
	v := T(u)
	if uint64(v) != u {
		return 0, 0, fmt.Errorf("malformed: varint %#x is out of range", u)
	}
	return v, n, nil
}

func appendFloat32(dst []byte, v float32) []byte {
	b := math.Float32bits(v)
	return append(dst, byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
}

func decodeFloat32(name string, src []byte) (float32, int, error) {
	if len(src) < 4 {
		return 0, 0, fmt.Errorf("decode %s: %w", name, &truncatedError{need: 4, have: len(src)})
	}
	b := uint32(src[0])<<24 | uint32(src[1])<<16 | uint32(src[2])<<8 | uint32(src[3])
	return math.Float32frombits(b), 4, nil
}

func appendFloat64(dst []byte, v float64) []byte {
	b := math.Float64bits(v)
	return append(dst, byte(b>>56), byte(b>>48), byte(b>>40), byte(b>>32),
		byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
}

func decodeFloat64(name string, src []byte) (float64, int, error) {
	if len(src) < 8 {
		return 0, 0, fmt.Errorf("decode %s: %w", name, &truncatedError{need: 8, have: len(src)})
	}
	b := uint64(src[0])<<56 | uint64(src[1])<<48 | uint64(src[2])<<40 | uint64(src[3])<<32 |
		uint64(src[4])<<24 | uint64(src[5])<<16 | uint64(src[6])<<8 | uint64(src[7])
	return math.Float64frombits(b), 8, nil
}

func floatNotDeterministic(t reflect.Type) error {
	return fmt.Errorf("%v is not a deterministic key encoding (NaN, -0.0); use an integer or string key", t)
}

func appendString(dst []byte, v string) []byte {
	return append(EncodeVarint(dst, uint64(len(v))), v...)
}

func appendBytes(dst []byte, v []byte) []byte {
	return append(EncodeVarint(dst, uint64(len(v))), v...)
}

// decodeLen decodes the length prefix of a string or byte slice and checks that
// the bytes are there.
func decodeLen(name string, src []byte) (int, int, error) {
	l, n, err := DecodeVarint(src)
	if err != nil {
		return 0, 0, fmt.Errorf("decode %s: length: %w", name, err)
	}
	if have := len(src) - n; l > uint64(have) {
		return 0, 0, fmt.Errorf("decode %s: %w", name, &truncatedError{need: int(min(l, math.MaxInt)), have: have})
	}
	return int(l), n, nil
}

func decodeString(name string, src []byte) (string, int, error) {
	l, n, err := decodeLen(name, src)
	if err != nil {
		return "", 0, err
	}
	return string(src[n : n+l]), n + l, nil
}

func decodeBytes(name string, src []byte) ([]byte, int, error) {
	l, n, err := decodeLen(name, src)
	if err != nil {
		return nil, 0, err
	}
	if l == 0 {
		return nil, n, nil
	}
	return slices.Clone(src[n : n+l]), n + l, nil
}

func appendTime(dst []byte, t time.Time) []byte {
	return EncodeVarint(EncodeVarint(dst, uint64(t.Unix())), uint64(t.Nanosecond()))
}

func decodeTime(name string, src []byte) (time.Time, int, error) {
	sec, n, err := decodeInt[int64](src)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("decode %s: seconds: %w", name, err)
	}
	nsec, m, err := decodeInt[int64](src[n:])
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("decode %s: nanoseconds: %w", name, err)
	}
	if nsec < 0 || nsec >= int64(time.Second) {
		return time.Time{}, 0, fmt.Errorf("decode %s: malformed: nanoseconds %d out of range", name, nsec)
	}
	return time.Unix(sec, nsec).UTC(), n + m, nil
}
