package beam

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"sync/atomic"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Collections without a coder of their own are those whose element type
// holds grouped values: a GroupByKey's KV[K, iter.Seq[V]], and what ParDos
// make of it (passert's Elem[KV[K, iter.Seq[V]]], for one). The bridge
// runs the ParDos that read them inside the Beam DoFn that produces them,
// but anything else (a WindowInto, a Flatten, a side input, a Write) reads
// them from Beam, so they must cross it. The fallback codec encodes them
// for that: an iter.Seq[V] as a count and the values, each with V's coder
// (the GroupByKey's value coder), and decodes it into a sequence over a
// slice, which can be iterated any number of times, as grouped values can.
// The rest of the type is encoded part by part, by reflection: with the
// pipeline's coder of the part's type when there is one (keys and values
// of GroupByKeys, element types of collections), and otherwise by its
// structure, as Sluice derives coders. Reflection costs time per element;
// only collections that have no coder take this path.
//
// The encoding is the bridge's own, between its DoFns: every worker
// derives the same codec from the same pipeline.

// fallbacks builds the fallback codecs of one pipeline.
type fallbacks struct {
	known map[reflect.Type]df.AnyCoder // coders of the pipeline, by type
	built map[reflect.Type]*rcodec
}

func newFallbacks() *fallbacks {
	return &fallbacks{known: map[reflect.Type]df.AnyCoder{}, built: map[reflect.Type]*rcodec{}}
}

// know makes c the coder of its type's values inside fallback encodings.
// The first coder of a type is kept.
func (fb *fallbacks) know(c df.AnyCoder) {
	if c == nil {
		return
	}
	if _, ok := fb.known[c.Type()]; !ok {
		fb.known[c.Type()] = c
	}
}

// codec returns the fallback ByteCodec of collections of element type et.
func (fb *fallbacks) codec(et df.ElemType) (df.ByteCodec, error) {
	t := et.Type()
	saved := maps.Clone(fb.built)
	rc, err := fb.rcodec(t, "")
	if err != nil {
		fb.built = saved // drop the parts that refer to what failed
		return nil, fmt.Errorf("no coder for %v, and the bridge's fallback cannot encode it: %w", t, err)
	}
	// A Consumer[T] is needed for each direction: the batch type
	// []Elem[T] comes from the signature of Consume, and a function of type
	// ConsumerFunc[T], made by reflection, is a Consumer[T].
	consume, ok := reflect.TypeOf(et.Discard()).MethodByName("Consume")
	if !ok || consume.Type.NumIn() != 2 {
		return nil, fmt.Errorf("beam bridge: the consumers of %v have no Consume method", t)
	}
	batch := consume.Type.In(1)
	cf := reflect.TypeOf(et.Counted(et.Discard(), new(atomic.Int64)))
	if cf.Kind() != reflect.Func || cf.NumIn() != 1 || cf.In(0) != batch || cf.NumOut() != 1 || cf.Out(0) != errorType {
		return nil, fmt.Errorf("beam bridge: cannot make a consumer of %v (%v)", t, cf)
	}
	if m, ok := cf.MethodByName("Consume"); !ok || m.Type.NumIn() != 2 || m.Type.In(1) != batch {
		return nil, fmt.Errorf("beam bridge: cannot make a consumer of %v (%v has no Consume method)", t, cf)
	}
	if batch.Kind() != reflect.Slice || batch.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("beam bridge: unexpected batch type %v", batch)
	}
	elem := batch.Elem()
	fc := &fallbackCodec{t: t, c: rc, batch: batch, consumerFunc: cf}
	for i, f := range []struct {
		name string
		t    reflect.Type
	}{{"Value", t}, {"Time", reflect.TypeFor[df.EventTime]()}, {"Window", reflect.TypeFor[df.Window]()}, {"Pane", reflect.TypeFor[df.PaneInfo]()}} {
		sf, ok := elem.FieldByName(f.name)
		if !ok || sf.Type != f.t || len(sf.Index) != 1 {
			return nil, fmt.Errorf("beam bridge: unexpected element type %v", elem)
		}
		fc.fields[i] = sf.Index[0]
	}
	return fc, nil
}

var errorType = reflect.TypeFor[error]()

// fallbackCodec is the df.ByteCodec of a type without a coder.
type fallbackCodec struct {
	t            reflect.Type
	c            *rcodec
	batch        reflect.Type // []Elem[T]
	consumerFunc reflect.Type // ConsumerFunc[T]
	fields       [4]int       // of Elem[T]: Value, Time, Window, Pane
}

func (fc *fallbackCodec) NewByteDecoder(out any) (df.ByteEmitFunc, error) {
	consume := reflect.ValueOf(out).MethodByName("Consume")
	if !consume.IsValid() || consume.Type().NumIn() != 1 || consume.Type().In(0) != fc.batch {
		return nil, fmt.Errorf("beam bridge: %T does not consume %v", out, fc.batch)
	}
	batch := reflect.MakeSlice(fc.batch, 1, 1)
	e := batch.Index(0)
	value := e.Field(fc.fields[0])
	tp := e.Field(fc.fields[1]).Addr().Interface().(*df.EventTime)
	wp := e.Field(fc.fields[2]).Addr().Interface().(*df.Window)
	pp := e.Field(fc.fields[3]).Addr().Interface().(*df.PaneInfo)
	args := []reflect.Value{batch}
	zero := reflect.Zero(fc.batch.Elem())
	return func(b []byte, t df.EventTime, w df.Window, p df.PaneInfo) error {
		n, err := fc.c.dec(b, value)
		if err != nil {
			return fmt.Errorf("beam bridge: decode %v: %w", fc.t, err)
		}
		if n != len(b) {
			return fmt.Errorf("beam bridge: decode %v: %d trailing bytes", fc.t, len(b)-n)
		}
		*tp, *wp, *pp = t, w, p
		res := consume.Call(args)
		e.Set(zero) // drop references for the GC
		err, _ = res[0].Interface().(error)
		return err
	}, nil
}

func (fc *fallbackCodec) NewByteEncoder(emit df.ByteEmitFunc) (any, error) {
	fn := reflect.MakeFunc(fc.consumerFunc, func(args []reflect.Value) []reflect.Value {
		batch := args[0]
		for i := range batch.Len() {
			e := batch.Index(i)
			b, err := fc.c.enc(e.Field(fc.fields[0]), nil)
			if err == nil {
				err = emit(b, *e.Field(fc.fields[1]).Addr().Interface().(*df.EventTime),
					*e.Field(fc.fields[2]).Addr().Interface().(*df.Window),
					*e.Field(fc.fields[3]).Addr().Interface().(*df.PaneInfo))
			} else {
				err = fmt.Errorf("beam bridge: encode %v: %w", fc.t, err)
			}
			if err != nil {
				return []reflect.Value{reflect.ValueOf(&err).Elem()}
			}
		}
		return []reflect.Value{reflect.Zero(errorType)}
	})
	return fn.Interface(), nil
}

// rcodec encodes the values of one type by reflection. enc reads v, which
// must be readable (CanInterface); dec writes v, which must be settable.
type rcodec struct {
	enc func(v reflect.Value, dst []byte) ([]byte, error)
	dec func(src []byte, v reflect.Value) (int, error)
	// empty reports that a value may encode to no bytes, so that counts
	// of values are not bounded by the bytes that remain.
	empty bool
}

var errTruncated = errors.New("truncated input")

// rcodec builds the codec of t; path names t inside the collection's type.
func (fb *fallbacks) rcodec(t reflect.Type, path string) (*rcodec, error) {
	if c, ok := fb.built[t]; ok {
		return c, nil // built, or being built (a recursive type)
	}
	rc := &rcodec{}
	fb.built[t] = rc
	if err := fb.fill(rc, t, path); err != nil {
		delete(fb.built, t)
		return nil, err
	}
	return rc, nil
}

func (fb *fallbacks) fill(rc *rcodec, t reflect.Type, path string) error {
	if c, ok := fb.known[t]; ok {
		rc.empty = len(mustEncode(c, reflect.Zero(t).Interface())) == 0
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) { return c.EncodeAny(dst, v.Interface()) }
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			x, n, err := c.DecodeAny(src)
			if err != nil {
				return 0, err
			}
			if x == nil {
				v.SetZero()
			} else {
				v.Set(reflect.ValueOf(x))
			}
			return n, nil
		}
		return nil
	}
	if t == reflect.TypeFor[time.Time]() {
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
			b, err := v.Interface().(time.Time).MarshalBinary()
			if err != nil {
				return dst, err
			}
			return append(binary.AppendUvarint(dst, uint64(len(b))), b...), nil
		}
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			n, k := binary.Uvarint(src)
			if k <= 0 || n > uint64(len(src)-k) {
				return 0, errTruncated
			}
			var tm time.Time
			if err := tm.UnmarshalBinary(src[k : k+int(n)]); err != nil {
				return 0, err
			}
			v.Set(reflect.ValueOf(tm))
			return k + int(n), nil
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
			if v.Bool() {
				return append(dst, 1), nil
			}
			return append(dst, 0), nil
		}
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			if len(src) == 0 || src[0] > 1 {
				return 0, fmt.Errorf("bad bool")
			}
			v.SetBool(src[0] == 1)
			return 1, nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) { return binary.AppendVarint(dst, v.Int()), nil }
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			x, n := binary.Varint(src)
			if n <= 0 || v.OverflowInt(x) {
				return 0, fmt.Errorf("bad %v", t)
			}
			v.SetInt(x)
			return n, nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) { return binary.AppendUvarint(dst, v.Uint()), nil }
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			x, n := binary.Uvarint(src)
			if n <= 0 || v.OverflowUint(x) {
				return 0, fmt.Errorf("bad %v", t)
			}
			v.SetUint(x)
			return n, nil
		}
	case reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		fill := floatCodec(t)
		rc.enc, rc.dec = fill.enc, fill.dec
	case reflect.String:
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
			s := v.String()
			return append(binary.AppendUvarint(dst, uint64(len(s))), s...), nil
		}
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			n, k := binary.Uvarint(src)
			if k <= 0 || n > uint64(len(src)-k) {
				return 0, errTruncated
			}
			v.SetString(string(src[k : k+int(n)]))
			return k + int(n), nil
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			// Counts are the length plus one; 0 is nil.
			rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
				if v.IsNil() {
					return append(dst, 0), nil
				}
				b := v.Bytes()
				return append(binary.AppendUvarint(dst, uint64(len(b))+1), b...), nil
			}
			rc.dec = func(src []byte, v reflect.Value) (int, error) {
				n, k := binary.Uvarint(src)
				if k <= 0 || (n > 0 && n-1 > uint64(len(src)-k)) {
					return 0, errTruncated
				}
				if n == 0 {
					v.SetZero()
					return k, nil
				}
				b := reflect.MakeSlice(t, int(n-1), int(n-1))
				reflect.Copy(b, reflect.ValueOf(src[k:k+int(n-1)]))
				v.Set(b)
				return k + int(n-1), nil
			}
			break
		}
		ec, err := fb.rcodec(t.Elem(), path+"[]")
		if err != nil {
			return err
		}
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
			if v.IsNil() {
				return append(dst, 0), nil
			}
			dst = binary.AppendUvarint(dst, uint64(v.Len())+1)
			for i := range v.Len() {
				var err error
				if dst, err = ec.enc(v.Index(i), dst); err != nil {
					return dst, err
				}
			}
			return dst, nil
		}
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			s, n, err := decodeList(src, t, ec)
			if err != nil {
				return 0, err
			}
			if !s.IsValid() {
				v.SetZero()
			} else {
				v.Set(s)
			}
			return n, nil
		}
	case reflect.Array:
		ec, err := fb.rcodec(t.Elem(), path+"[]")
		if err != nil {
			return err
		}
		rc.empty = t.Len() == 0 || ec.empty
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
			for i := range v.Len() {
				var err error
				if dst, err = ec.enc(v.Index(i), dst); err != nil {
					return dst, err
				}
			}
			return dst, nil
		}
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			off := 0
			for i := range v.Len() {
				m, err := ec.dec(src[off:], v.Index(i))
				if err != nil {
					return 0, err
				}
				off += m
			}
			return off, nil
		}
	case reflect.Pointer:
		ec, err := fb.rcodec(t.Elem(), path)
		if err != nil {
			return err
		}
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
			if v.IsNil() {
				return append(dst, 0), nil
			}
			return ec.enc(v.Elem(), append(dst, 1))
		}
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			if len(src) == 0 || src[0] > 1 {
				return 0, errTruncated
			}
			if src[0] == 0 {
				v.SetZero()
				return 1, nil
			}
			p := reflect.New(t.Elem())
			m, err := ec.dec(src[1:], p.Elem())
			if err != nil {
				return 0, err
			}
			v.Set(p)
			return 1 + m, nil
		}
	case reflect.Map:
		kc, err := fb.rcodec(t.Key(), path+"[key]")
		if err != nil {
			return err
		}
		vc, err := fb.rcodec(t.Elem(), path+"[value]")
		if err != nil {
			return err
		}
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
			if v.IsNil() {
				return append(dst, 0), nil
			}
			dst = binary.AppendUvarint(dst, uint64(v.Len())+1)
			for it := v.MapRange(); it.Next(); {
				var err error
				if dst, err = kc.enc(it.Key(), dst); err != nil {
					return dst, err
				}
				if dst, err = vc.enc(it.Value(), dst); err != nil {
					return dst, err
				}
			}
			return dst, nil
		}
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			n, k := binary.Uvarint(src)
			if k <= 0 {
				return 0, errTruncated
			}
			if n == 0 {
				v.SetZero()
				return k, nil
			}
			count := n - 1
			if !kc.empty && count > uint64(len(src)-k) {
				return 0, errTruncated
			}
			m := reflect.MakeMapWithSize(t, int(min(count, 1<<16)))
			off := k
			key, val := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
			for range count {
				j, err := kc.dec(src[off:], key)
				if err != nil {
					return 0, err
				}
				off += j
				if j, err = vc.dec(src[off:], val); err != nil {
					return 0, err
				}
				off += j
				m.SetMapIndex(key, val)
				key.SetZero()
				val.SetZero()
			}
			v.Set(m)
			return off, nil
		}
	case reflect.Struct:
		type field struct {
			i int
			c *rcodec
		}
		var fields []field
		rc.empty = true
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" {
				continue
			}
			fc, err := fb.rcodec(f.Type, joinPath(path, f.Name))
			if err != nil {
				return err
			}
			fields = append(fields, field{i, fc})
			rc.empty = rc.empty && fc.empty
		}
		rc.enc = func(v reflect.Value, dst []byte) ([]byte, error) {
			if !v.CanAddr() {
				// Unexported fields are read through their address.
				a := reflect.New(t).Elem()
				a.Set(v)
				v = a
			}
			for _, f := range fields {
				var err error
				if dst, err = f.c.enc(exported(v.Field(f.i)), dst); err != nil {
					return dst, err
				}
			}
			return dst, nil
		}
		rc.dec = func(src []byte, v reflect.Value) (int, error) {
			off := 0
			for _, f := range fields {
				m, err := f.c.dec(src[off:], exported(v.Field(f.i)))
				if err != nil {
					return 0, err
				}
				off += m
			}
			return off, nil
		}
	case reflect.Func:
		et, ok := seqElem(t)
		if !ok {
			return noFallback(t, path)
		}
		ec, err := fb.rcodec(et, path+"[]")
		if err != nil {
			return err
		}
		fill := seqCodec(t, et, ec)
		rc.enc, rc.dec = fill.enc, fill.dec
	default:
		return noFallback(t, path)
	}
	return nil
}

func noFallback(t reflect.Type, path string) error {
	if path == "" {
		return fmt.Errorf("%v is not encodable", t)
	}
	return fmt.Errorf("%s: %v is not encodable", path, t)
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func mustEncode(c df.AnyCoder, v any) []byte {
	b, _ := c.EncodeAny(nil, v)
	return b
}

// exported returns the field f of an addressable struct as a value that can
// be read and, if the struct can, written, even if f is unexported.
func exported(f reflect.Value) reflect.Value {
	if f.CanInterface() {
		return f
	}
	return reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem()
}

// seqElem reports whether t is a sequence, func(yield func(V) bool), as
// iter.Seq[V] is, and returns V.
func seqElem(t reflect.Type) (reflect.Type, bool) {
	if t.NumIn() != 1 || t.NumOut() != 0 || t.IsVariadic() {
		return nil, false
	}
	y := t.In(0)
	if y.Kind() != reflect.Func || y.NumIn() != 1 || y.NumOut() != 1 || y.Out(0) != reflect.TypeFor[bool]() || y.IsVariadic() {
		return nil, false
	}
	return y.In(0), true
}

// seqCodec encodes a sequence as its count plus one (0 for a nil sequence)
// and its values, and decodes it into a sequence over a slice.
func seqCodec(t, et reflect.Type, ec *rcodec) rcodec {
	yieldType := t.In(0)
	sliceType := reflect.SliceOf(et)
	trueValue := []reflect.Value{reflect.ValueOf(true)}
	return rcodec{
		enc: func(v reflect.Value, dst []byte) ([]byte, error) {
			if v.IsNil() {
				return append(dst, 0), nil
			}
			var body []byte
			var n uint64
			var err error
			yield := reflect.MakeFunc(yieldType, func(args []reflect.Value) []reflect.Value {
				if body, err = ec.enc(args[0], body); err != nil {
					return []reflect.Value{reflect.ValueOf(false)}
				}
				n++
				return trueValue
			})
			v.Call([]reflect.Value{yield})
			if err != nil {
				return dst, err
			}
			return append(binary.AppendUvarint(dst, n+1), body...), nil
		},
		dec: func(src []byte, v reflect.Value) (int, error) {
			s, off, err := decodeList(src, sliceType, ec)
			if err != nil {
				return 0, err
			}
			if !s.IsValid() {
				v.SetZero()
				return off, nil
			}
			v.Set(reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
				yield := args[0]
				for i := range s.Len() {
					if !yield.Call([]reflect.Value{s.Index(i)})[0].Bool() {
						break
					}
				}
				return nil
			}))
			return off, nil
		},
	}
}

// decodeList reads a list as the slice and sequence codecs write it (its
// count plus one, 0 for nil, then its elements) into a new slice of
// sliceType, or the invalid Value for nil, and returns the bytes read.
func decodeList(src []byte, sliceType reflect.Type, ec *rcodec) (reflect.Value, int, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 {
		return reflect.Value{}, 0, errTruncated
	}
	if n == 0 {
		return reflect.Value{}, k, nil
	}
	count := n - 1
	if !ec.empty && count > uint64(len(src)-k) {
		return reflect.Value{}, 0, errTruncated
	}
	s := reflect.MakeSlice(sliceType, int(count), int(count))
	off := k
	for i := range int(count) {
		m, err := ec.dec(src[off:], s.Index(i))
		if err != nil {
			return reflect.Value{}, 0, err
		}
		off += m
	}
	return s, off, nil
}

// floatCodec encodes floating-point and complex numbers as the big-endian
// bits of their parts.
func floatCodec(t reflect.Type) rcodec {
	switch t.Kind() {
	case reflect.Float32:
		return rcodec{
			enc: func(v reflect.Value, dst []byte) ([]byte, error) {
				return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(v.Float()))), nil
			},
			dec: func(src []byte, v reflect.Value) (int, error) {
				if len(src) < 4 {
					return 0, errTruncated
				}
				v.SetFloat(float64(math.Float32frombits(binary.BigEndian.Uint32(src))))
				return 4, nil
			},
		}
	case reflect.Float64:
		return rcodec{
			enc: func(v reflect.Value, dst []byte) ([]byte, error) {
				return binary.BigEndian.AppendUint64(dst, math.Float64bits(v.Float())), nil
			},
			dec: func(src []byte, v reflect.Value) (int, error) {
				if len(src) < 8 {
					return 0, errTruncated
				}
				v.SetFloat(math.Float64frombits(binary.BigEndian.Uint64(src)))
				return 8, nil
			},
		}
	case reflect.Complex64:
		return rcodec{
			enc: func(v reflect.Value, dst []byte) ([]byte, error) {
				c := v.Complex()
				dst = binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(real(c))))
				return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(imag(c)))), nil
			},
			dec: func(src []byte, v reflect.Value) (int, error) {
				if len(src) < 8 {
					return 0, errTruncated
				}
				re := math.Float32frombits(binary.BigEndian.Uint32(src))
				im := math.Float32frombits(binary.BigEndian.Uint32(src[4:]))
				v.SetComplex(complex(float64(re), float64(im)))
				return 8, nil
			},
		}
	}
	return rcodec{
		enc: func(v reflect.Value, dst []byte) ([]byte, error) {
			c := v.Complex()
			dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(real(c)))
			return binary.BigEndian.AppendUint64(dst, math.Float64bits(imag(c))), nil
		},
		dec: func(src []byte, v reflect.Value) (int, error) {
			if len(src) < 16 {
				return 0, errTruncated
			}
			v.SetComplex(complex(math.Float64frombits(binary.BigEndian.Uint64(src)), math.Float64frombits(binary.BigEndian.Uint64(src[8:]))))
			return 16, nil
		},
	}
}
