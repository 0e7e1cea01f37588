package dataflow

// Coder derivation: CoderOf's rules (documented there) turn a type into a tree
// of codecs once, when the pipeline is built. A codec is a pair of closures over
// unsafe.Pointer and field offsets, so that encoding a struct of basic fields
// does no reflection and no allocation per element. Only maps, and decoding
// pointers and slices of non-basic elements, use reflect at run time (to iterate
// maps and to allocate typed memory).

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// codec is the pointer-based form of a coder: functions over a pointer to a value
// of typ. Codecs are immutable once built and safe for concurrent use.
//
// The functions must not keep p, or any pointer into the value it points to, past
// the call, nor store it anywhere on the heap during the call: derived coders hand
// them pointers to their own stack (see noescape).
type codec struct {
	typ  reflect.Type
	name string
	enc  func(p unsafe.Pointer, dst []byte) []byte
	dec  func(p unsafe.Pointer, src []byte) (int, error)

	// min is a lower bound on the length of an encoding, and empty reports that
	// every encoding is empty. Decoders use them to reject counts that the input
	// cannot hold before they allocate. They are read at decode time because a
	// recursive type's codec is referenced before it is complete.
	min   int
	empty bool

	// own is why this node is not deterministic whatever its parts are; parts are
	// the nodes it is made of, for the determinism check.
	own   error
	parts []codecPart
}

type codecPart struct {
	seg string // path segment: a field name, "[]", "[key]", "[value]", or "" (pointer)
	c   *codec
}

// derivedCoder is the Coder[T] of a derived codec.
type derivedCoder[T any] struct {
	c   *codec
	det error
}

func (d *derivedCoder[T]) Encode(dst []byte, v T) []byte {
	return d.c.enc(noescape(unsafe.Pointer(&v)), dst)
}

func (d *derivedCoder[T]) Decode(src []byte) (v T, n int, err error) {
	n, err = d.c.dec(noescape(unsafe.Pointer(&v)), src)
	if err != nil {
		var zero T
		if de, ok := err.(*decodeError); ok {
			// Leaf errors already name their type; paths need the root.
			err = fmt.Errorf("decode %v: %w", d.c.typ, de)
		}
		return zero, 0, err
	}
	return v, n, nil
}

func (d *derivedCoder[T]) Deterministic() error { return d.det }
func (d *derivedCoder[T]) String() string       { return d.c.name }

// noescape hides p from escape analysis, so that Encode and Decode of a derived
// coder can hand the closures a pointer to their argument or result without the
// compiler moving it to the heap, which would cost an allocation per element
// (every call through a func value counts as an escape). It is the runtime's
// noescape, written with unsafe.Add because vet rejects unsafe.Pointer(uintptr).
// It is sound because no codec function keeps p or stores it on the heap (see
// codec), so p is only ever reached from the stack of the goroutine that owns it,
// and stack copying adjusts it there. TestCoderStackGrowth exercises that.
//
// It is exempt from checkptr (on under -race), which cannot know that the result
// comes from p.
//
//go:nocheckptr
func noescape(p unsafe.Pointer) unsafe.Pointer {
	x := uintptr(p)
	return unsafe.Add(nil, x)
}

type derivedEntry struct {
	c   *codec
	det error
}

// derive returns the codec of t derived against the registrations in r, with
// its verdict on determinism.
func (r *coderRegistry) derive(t reflect.Type) (*derivedEntry, error) {
	if e, ok := r.derived.Load(t); ok {
		return e.(*derivedEntry), nil
	}
	d := deriver{reg: r, building: map[reflect.Type]*codec{}, done: map[reflect.Type]*codec{}}
	c, err := d.codec(t)
	if err != nil {
		err.typ = t
		return nil, err
	}
	e := &derivedEntry{c: c}
	if de := nondeterminism(c, map[*codec]bool{}); de != nil {
		e.det = de
	}
	v, _ := r.derived.LoadOrStore(t, e)
	return v.(*derivedEntry), nil
}

// nondeterminism returns why c is not deterministic, with the path to the part
// responsible, or nil. A part already seen counts as deterministic: either it is
// on the current path (a recursive type, whose verdict is that of the rest of the
// cycle) or it was found deterministic already.
func nondeterminism(c *codec, seen map[*codec]bool) *detError {
	if c.own != nil {
		return &detError{err: c.own}
	}
	if seen[c] {
		return nil
	}
	seen[c] = true
	for _, p := range c.parts {
		if e := nondeterminism(p.c, seen); e != nil {
			e.path = joinPath(p.seg, e.path)
			return e
		}
	}
	return nil
}

// detError says which part of a type is not deterministic, and why.
type detError struct {
	path string
	err  error
}

func (e *detError) Error() string {
	if e.path == "" {
		return e.err.Error()
	}
	return pathLabel(e.path) + ": " + e.err.Error()
}

func (e *detError) Unwrap() error { return e.err }

// noCoderError is the error of CoderOf for a type without a coder.
type noCoderError struct {
	typ  reflect.Type // the type asked for
	path string       // from typ to part
	part reflect.Type // the part that cannot be encoded
}

func (e *noCoderError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no coder for type %v: ", e.typ)
	if e.path != "" {
		b.WriteString(pathLabel(e.path) + ": ")
	}
	fmt.Fprintf(&b, "%v is not encodable; register one with dataflow.RegisterCoder", e.part)
	return b.String()
}

func (e *noCoderError) Is(target error) bool { return target == ErrNoCoder }

// decodeError places a decoding error inside a value: "field Items[3].Name".
type decodeError struct {
	path string
	err  error
}

func (e *decodeError) Error() string { return pathLabel(e.path) + ": " + e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// wrapDecode prefixes seg to the path of err. Errors are created fresh by each
// failed decode, so extending one in place is safe.
func wrapDecode(seg string, err error) error {
	if de, ok := err.(*decodeError); ok {
		de.path = joinPath(seg, de.path)
		return de
	}
	return &decodeError{path: seg, err: err}
}

func joinPath(seg, rest string) string {
	switch {
	case rest == "":
		return seg
	case seg == "" || strings.HasPrefix(rest, "["):
		return seg + rest
	}
	return seg + "." + rest
}

func pathLabel(path string) string {
	if strings.HasPrefix(path, "[") {
		return "element " + path
	}
	return "field " + path
}

var timeType = reflect.TypeFor[time.Time]()

// deriver builds the codecs of one type and its parts.
type deriver struct {
	reg *coderRegistry
	// building holds the codecs under construction, so that a recursive type
	// refers to its own (not yet complete) codec instead of recursing forever.
	building map[reflect.Type]*codec
	done     map[reflect.Type]*codec
}

func (d *deriver) registered(t reflect.Type) bool {
	_, ok := d.reg.coders[t]
	return ok
}

func (d *deriver) codec(t reflect.Type) (*codec, *noCoderError) {
	if r, ok := d.reg.coders[t]; ok {
		return r.codec, nil
	}
	if c, ok := d.done[t]; ok {
		return c, nil
	}
	if c, ok := d.building[t]; ok {
		return c, nil
	}
	c, err := d.build(t)
	if err != nil {
		return nil, err
	}
	d.done[t] = c
	return c, nil
}

// child derives the codec of part t of a composite, extending the path of its error.
func (d *deriver) child(seg string, t reflect.Type) (*codec, *noCoderError) {
	c, err := d.codec(t)
	if err != nil {
		err.path = joinPath(seg, err.path)
	}
	return c, err
}

func (d *deriver) build(t reflect.Type) (*codec, *noCoderError) {
	if t.Kind() == reflect.Struct && t.ConvertibleTo(timeType) {
		// time.Time, or a type defined from it: its fields are a clock reading
		// and a *Location, not the instant it stands for.
		return timeLeaf(t), nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return boolLeaf(t), nil
	case reflect.Int:
		return intLeaf[int](t), nil
	case reflect.Int8:
		return intLeaf[int8](t), nil
	case reflect.Int16:
		return intLeaf[int16](t), nil
	case reflect.Int32:
		return intLeaf[int32](t), nil
	case reflect.Int64:
		return intLeaf[int64](t), nil
	case reflect.Uint:
		return intLeaf[uint](t), nil
	case reflect.Uint8:
		return intLeaf[uint8](t), nil
	case reflect.Uint16:
		return intLeaf[uint16](t), nil
	case reflect.Uint32:
		return intLeaf[uint32](t), nil
	case reflect.Uint64:
		return intLeaf[uint64](t), nil
	case reflect.Float32:
		return float32Leaf(t), nil
	case reflect.Float64:
		return float64Leaf(t), nil
	case reflect.String:
		return stringLeaf(t), nil
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Pointer, reflect.Struct:
		c := &codec{typ: t, name: "derived[" + t.String() + "]"}
		d.building[t] = c
		defer delete(d.building, t)
		var err *noCoderError
		switch t.Kind() {
		case reflect.Slice:
			err = d.slice(c)
		case reflect.Array:
			err = d.array(c)
		case reflect.Map:
			err = d.mapOf(c)
		case reflect.Pointer:
			err = d.pointer(c)
		case reflect.Struct:
			err = d.structOf(c)
		}
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	// Func, Chan, Interface, UnsafePointer, Uintptr, Complex64, Complex128.
	return nil, &noCoderError{part: t}
}

// Leaves. Each works for named types of its kind too, through the pointer cast.

func boolLeaf(t reflect.Type) *codec {
	name := t.String()
	return &codec{
		typ: t, name: name, min: 1,
		enc: func(p unsafe.Pointer, dst []byte) []byte { return appendBool(dst, *(*bool)(p)) },
		dec: func(p unsafe.Pointer, src []byte) (int, error) {
			v, n, err := decodeBool(name, src)
			*(*bool)(p) = v
			return n, err
		},
	}
}

func intLeaf[E integer](t reflect.Type) *codec {
	name := t.String()
	return &codec{
		typ: t, name: "varint[" + name + "]", min: 1,
		enc: func(p unsafe.Pointer, dst []byte) []byte { return EncodeVarint(dst, uint64(*(*E)(p))) },
		dec: func(p unsafe.Pointer, src []byte) (int, error) {
			v, n, err := decodeInt[E](src)
			if err != nil {
				return 0, fmt.Errorf("decode %s: %w", name, err)
			}
			*(*E)(p) = v
			return n, nil
		},
	}
}

func float32Leaf(t reflect.Type) *codec {
	name := t.String()
	return &codec{
		typ: t, name: name, min: 4, own: floatNotDeterministic(t),
		enc: func(p unsafe.Pointer, dst []byte) []byte { return appendFloat32(dst, *(*float32)(p)) },
		dec: func(p unsafe.Pointer, src []byte) (int, error) {
			v, n, err := decodeFloat32(name, src)
			*(*float32)(p) = v
			return n, err
		},
	}
}

func float64Leaf(t reflect.Type) *codec {
	name := t.String()
	return &codec{
		typ: t, name: name, min: 8, own: floatNotDeterministic(t),
		enc: func(p unsafe.Pointer, dst []byte) []byte { return appendFloat64(dst, *(*float64)(p)) },
		dec: func(p unsafe.Pointer, src []byte) (int, error) {
			v, n, err := decodeFloat64(name, src)
			*(*float64)(p) = v
			return n, err
		},
	}
}

func stringLeaf(t reflect.Type) *codec {
	name := t.String()
	return &codec{
		typ: t, name: name, min: 1,
		enc: func(p unsafe.Pointer, dst []byte) []byte { return appendString(dst, *(*string)(p)) },
		dec: func(p unsafe.Pointer, src []byte) (int, error) {
			v, n, err := decodeString(name, src)
			if err != nil {
				return 0, err
			}
			*(*string)(p) = v
			return n, nil
		},
	}
}

func bytesLeaf(t reflect.Type) *codec {
	name := t.String()
	return &codec{
		typ: t, name: "bytes[" + name + "]", min: 1,
		enc: func(p unsafe.Pointer, dst []byte) []byte { return appendBytes(dst, *(*[]byte)(p)) },
		dec: func(p unsafe.Pointer, src []byte) (int, error) {
			v, n, err := decodeBytes(name, src)
			if err != nil {
				return 0, err
			}
			*(*[]byte)(p) = v
			return n, nil
		},
	}
}

func timeLeaf(t reflect.Type) *codec {
	name := t.String()
	return &codec{
		typ: t, name: "time[" + name + "]", min: 2,
		enc: func(p unsafe.Pointer, dst []byte) []byte { return appendTime(dst, *(*time.Time)(p)) },
		dec: func(p unsafe.Pointer, src []byte) (int, error) {
			v, n, err := decodeTime(name, src)
			if err != nil {
				return 0, err
			}
			*(*time.Time)(p) = v
			return n, nil
		},
	}
}

// sliceHeader is the memory layout of every slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// checkCount checks that rest bytes could hold n elements of at least minLen bytes
// each (empty: of no bytes at all).
func checkCount(n uint64, rest, minLen int, empty bool) error {
	switch {
	case empty:
		return nil
	case minLen > 0:
		if n > uint64(rest/minLen) {
			return &countError{n: n, have: rest}
		}
	default:
		// A registered coder, or a recursive type: assume at least a byte each.
		if n > uint64(rest) {
			return &countError{n: n, have: rest}
		}
	}
	return nil
}

func (d *deriver) slice(c *codec) *noCoderError {
	t := c.typ
	et := t.Elem()
	if et.Kind() == reflect.Uint8 && !d.registered(et) {
		*c = *bytesLeaf(t)
		return nil
	}
	e, err := d.child("[]", et)
	if err != nil {
		return err
	}
	size := et.Size()
	alloc := allocator(et)
	c.min = 1
	c.parts = []codecPart{{"[]", e}}
	c.enc = func(p unsafe.Pointer, dst []byte) []byte {
		h := (*sliceHeader)(p)
		dst = EncodeVarint(dst, uint64(h.len))
		for i := range h.len {
			dst = e.enc(unsafe.Add(h.data, uintptr(i)*size), dst)
		}
		return dst
	}
	c.dec = func(p unsafe.Pointer, src []byte) (int, error) {
		n, off, err := DecodeVarint(src)
		if err != nil {
			return 0, fmt.Errorf("decode %v: length: %w", t, err)
		}
		if err := checkCount(n, len(src)-off, e.min, e.empty); err != nil {
			return 0, fmt.Errorf("decode %v: %w", t, err)
		}
		h := (*sliceHeader)(p)
		if n == 0 {
			*h = sliceHeader{}
			return off, nil
		}
		data := alloc(int(n))
		if !e.empty {
			for i := range int(n) {
				k, err := e.dec(unsafe.Add(data, uintptr(i)*size), src[off:])
				if err != nil {
					return 0, wrapDecode("["+strconv.Itoa(i)+"]", err)
				}
				off += k
			}
		}
		*h = sliceHeader{data: data, len: int(n), cap: int(n)}
		return off, nil
	}
	return nil
}

// allocator returns a function that allocates the backing array of n elements
// of t. Basic kinds allocate without reflection: a named type shares the memory
// layout of its underlying basic type.
func allocator(t reflect.Type) func(n int) unsafe.Pointer {
	if !basicKind(t) {
		st := reflect.SliceOf(t)
		return func(n int) unsafe.Pointer { return reflect.MakeSlice(st, n, n).UnsafePointer() }
	}
	switch t.Kind() {
	case reflect.Bool:
		return makeOf[bool]
	case reflect.Int:
		return makeOf[int]
	case reflect.Int8:
		return makeOf[int8]
	case reflect.Int16:
		return makeOf[int16]
	case reflect.Int32:
		return makeOf[int32]
	case reflect.Int64:
		return makeOf[int64]
	case reflect.Uint:
		return makeOf[uint]
	case reflect.Uint8:
		return makeOf[uint8]
	case reflect.Uint16:
		return makeOf[uint16]
	case reflect.Uint32:
		return makeOf[uint32]
	case reflect.Uint64:
		return makeOf[uint64]
	case reflect.Float32:
		return makeOf[float32]
	case reflect.Float64:
		return makeOf[float64]
	default: // reflect.String
		return makeOf[string]
	}
}

// basicKind reports whether t is of a basic kind that allocator handles without reflection.
func basicKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

func makeOf[E any](n int) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(make([]E, n))) }

func (d *deriver) array(c *codec) *noCoderError {
	t := c.typ
	et, n := t.Elem(), t.Len()
	if et.Kind() == reflect.Uint8 && !d.registered(et) {
		name := t.String()
		c.min, c.empty = n, n == 0
		c.enc = func(p unsafe.Pointer, dst []byte) []byte {
			return append(dst, unsafe.Slice((*byte)(p), n)...)
		}
		c.dec = func(p unsafe.Pointer, src []byte) (int, error) {
			if len(src) < n {
				return 0, fmt.Errorf("decode %s: %w", name, &truncatedError{need: n, have: len(src)})
			}
			copy(unsafe.Slice((*byte)(p), n), src)
			return n, nil
		}
		return nil
	}
	e, err := d.child("[]", et)
	if err != nil {
		return err
	}
	size := et.Size()
	c.min, c.empty = n*e.min, n == 0 || e.empty
	c.parts = []codecPart{{"[]", e}}
	c.enc = func(p unsafe.Pointer, dst []byte) []byte {
		for i := range n {
			dst = e.enc(unsafe.Add(p, uintptr(i)*size), dst)
		}
		return dst
	}
	c.dec = func(p unsafe.Pointer, src []byte) (int, error) {
		off := 0
		for i := range n {
			k, err := e.dec(unsafe.Add(p, uintptr(i)*size), src[off:])
			if err != nil {
				return 0, wrapDecode("["+strconv.Itoa(i)+"]", err)
			}
			off += k
		}
		return off, nil
	}
	return nil
}

func (d *deriver) pointer(c *codec) *noCoderError {
	t := c.typ
	et := t.Elem()
	e, err := d.child("", et)
	if err != nil {
		return err
	}
	name := t.String()
	c.min = 1
	c.own = fmt.Errorf("%v is not a deterministic key encoding (Go compares pointers by address); use the pointed-to value as the key", t)
	c.parts = []codecPart{{"", e}}
	c.enc = func(p unsafe.Pointer, dst []byte) []byte {
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			return append(dst, 0)
		}
		return e.enc(q, append(dst, 1))
	}
	c.dec = func(p unsafe.Pointer, src []byte) (int, error) {
		if len(src) == 0 {
			return 0, fmt.Errorf("decode %s: %w", name, &truncatedError{need: 1})
		}
		switch src[0] {
		case 0:
			*(*unsafe.Pointer)(p) = nil
			return 1, nil
		case 1:
			q := reflect.New(et).UnsafePointer()
			k, err := e.dec(q, src[1:])
			if err != nil {
				return 0, err
			}
			*(*unsafe.Pointer)(p) = q
			return 1 + k, nil
		}
		return 0, fmt.Errorf("decode %s: malformed: nil flag %#x is neither 0 nor 1", name, src[0])
	}
	return nil
}

type structField struct {
	off  uintptr
	c    *codec
	leaf reflect.Kind // the kind of a common basic field, encoded inline; else Invalid
	name string
}

func (d *deriver) structOf(c *codec) *noCoderError {
	t := c.typ
	var fs []structField
	c.empty = true
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Name == "_" {
			continue
		}
		fc, err := d.child(f.Name, f.Type)
		if err != nil {
			return err
		}
		sf := structField{off: f.Offset, c: fc, name: f.Name}
		switch k := f.Type.Kind(); k {
		case reflect.Int64, reflect.Int, reflect.Uint64, reflect.String, reflect.Float64, reflect.Bool:
			if !d.registered(f.Type) {
				sf.leaf = k
			}
		}
		fs = append(fs, sf)
		c.parts = append(c.parts, codecPart{f.Name, fc})
		c.min += fc.min
		c.empty = c.empty && fc.empty
	}
	c.enc = func(p unsafe.Pointer, dst []byte) []byte {
		for i := range fs {
			f := &fs[i]
			q := unsafe.Add(p, f.off)
			// Basic fields are encoded here rather than through their codec:
			// an indirect call per field costs as much as encoding it.
			switch f.leaf {
			case reflect.Int64:
				dst = EncodeVarint(dst, uint64(*(*int64)(q)))
			case reflect.Int:
				dst = EncodeVarint(dst, uint64(*(*int)(q)))
			case reflect.Uint64:
				dst = EncodeVarint(dst, *(*uint64)(q))
			case reflect.String:
				dst = appendString(dst, *(*string)(q))
			case reflect.Float64:
				dst = appendFloat64(dst, *(*float64)(q))
			case reflect.Bool:
				dst = appendBool(dst, *(*bool)(q))
			default:
				dst = f.c.enc(q, dst)
			}
		}
		return dst
	}
	c.dec = func(p unsafe.Pointer, src []byte) (int, error) {
		off := 0
		for i := range fs {
			f := &fs[i]
			q := unsafe.Add(p, f.off)
			var k int
			var err error
			switch f.leaf {
			case reflect.Int64:
				*(*int64)(q), k, err = decodeInt[int64](src[off:])
			case reflect.Int:
				*(*int)(q), k, err = decodeInt[int](src[off:])
			case reflect.Uint64:
				*(*uint64)(q), k, err = decodeInt[uint64](src[off:])
			case reflect.String:
				*(*string)(q), k, err = decodeString("", src[off:])
			case reflect.Float64:
				*(*float64)(q), k, err = decodeFloat64("", src[off:])
			case reflect.Bool:
				*(*bool)(q), k, err = decodeBool("", src[off:])
			default:
				k, err = f.c.dec(q, src[off:])
			}
			if err != nil {
				if f.leaf != reflect.Invalid {
					// The inline decoders do not name the type: let the codec
					// fail the same way with the full message.
					_, err = f.c.dec(q, src[off:])
				}
				return 0, wrapDecode(f.name, err)
			}
			off += k
		}
		return off, nil
	}
	return nil
}

// mapScratch is the per-encode working space of a map codec, pooled.
type mapScratch struct {
	buf    []byte // the encoded entries
	ents   []mapEntry
	it     reflect.MapIter
	k, v   reflect.Value // addressable key and value, reused for every entry
	kp, vp unsafe.Pointer
}

type mapEntry struct{ start, mid, end int }

func (d *deriver) mapOf(c *codec) *noCoderError {
	t := c.typ
	kt, vt := t.Key(), t.Elem()
	kc, err := d.child("[key]", kt)
	if err != nil {
		return err
	}
	vc, err := d.child("[value]", vt)
	if err != nil {
		return err
	}
	c.min = 1
	c.parts = []codecPart{{"[key]", kc}, {"[value]", vc}}
	pool := &sync.Pool{New: func() any {
		k, v := reflect.New(kt), reflect.New(vt)
		return &mapScratch{k: k.Elem(), v: v.Elem(), kp: k.UnsafePointer(), vp: v.UnsafePointer()}
	}}
	c.enc = func(p unsafe.Pointer, dst []byte) []byte {
		// Interface detaches the map from p, which must not reach the heap
		// (the MapIter in the pool): a map value is a pointer to the map.
		m := reflect.ValueOf(reflect.NewAt(t, p).Elem().Interface())
		n := m.Len()
		dst = EncodeVarint(dst, uint64(n))
		if n == 0 {
			return dst
		}
		// Go iterates maps in random order: encode the entries aside and
		// emit them sorted by their encoded keys.
		s := pool.Get().(*mapScratch)
		s.it.Reset(m)
		for s.it.Next() {
			s.k.SetIterKey(&s.it)
			s.v.SetIterValue(&s.it)
			start := len(s.buf)
			s.buf = kc.enc(s.kp, s.buf)
			mid := len(s.buf)
			s.buf = vc.enc(s.vp, s.buf)
			s.ents = append(s.ents, mapEntry{start, mid, len(s.buf)})
		}
		buf := s.buf
		slices.SortFunc(s.ents, func(a, b mapEntry) int {
			return bytes.Compare(buf[a.start:a.mid], buf[b.start:b.mid])
		})
		for _, e := range s.ents {
			dst = append(dst, buf[e.start:e.end]...)
		}
		// Drop the references to the map and its contents before pooling.
		s.it.Reset(reflect.Value{})
		s.k.SetZero()
		s.v.SetZero()
		if cap(s.buf) > 1<<16 {
			s.buf, s.ents = nil, nil
		}
		s.buf, s.ents = s.buf[:0], s.ents[:0]
		pool.Put(s)
		return dst
	}
	c.dec = func(p unsafe.Pointer, src []byte) (int, error) {
		n, off, err := DecodeVarint(src)
		if err != nil {
			return 0, fmt.Errorf("decode %v: count: %w", t, err)
		}
		if kc.empty && n > 1 {
			return 0, fmt.Errorf("decode %v: malformed: %d entries with equal keys", t, n)
		}
		if err := checkCount(n, len(src)-off, kc.min+vc.min, kc.empty && vc.empty); err != nil {
			return 0, fmt.Errorf("decode %v: %w", t, err)
		}
		if n == 0 {
			*(*unsafe.Pointer)(p) = nil
			return off, nil
		}
		m := reflect.MakeMapWithSize(t, int(n))
		k, v := reflect.New(kt), reflect.New(vt)
		kp, vp := k.UnsafePointer(), v.UnsafePointer()
		k, v = k.Elem(), v.Elem()
		for range n {
			// Every codec overwrites the whole value, so k and v can be reused.
			j, err := kc.dec(kp, src[off:])
			if err != nil {
				return 0, wrapDecode("[key]", err)
			}
			off += j
			j, err = vc.dec(vp, src[off:])
			if err != nil {
				return 0, wrapDecode("[value]", err)
			}
			off += j
			m.SetMapIndex(k, v)
		}
		*(*unsafe.Pointer)(p) = m.UnsafePointer()
		return off, nil
	}
	return nil
}

// registeredCodec is the pointer-based view of a registered coder, used where
// its type appears inside a derived one.
func registeredCodec[T any](c Coder[T]) *codec {
	return &codec{
		typ:  reflect.TypeFor[T](),
		name: c.String(),
		own:  c.Deterministic(),
		enc:  func(p unsafe.Pointer, dst []byte) []byte { return c.Encode(dst, *(*T)(p)) },
		dec: func(p unsafe.Pointer, src []byte) (int, error) {
			v, n, err := c.Decode(src)
			if err != nil {
				return 0, err
			}
			*(*T)(p) = v
			return n, nil
		},
	}
}
