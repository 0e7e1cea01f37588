package parquetio

import (
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
)

// setFunc writes the values of m rows of c's page, from c.row on, into the
// fields at base, base+stride, ... Null rows get the zero value (nil for
// pointers), so that a reused batch needs no clearing.
type setFunc func(c *colReader, base unsafe.Pointer, stride uintptr, m int) error

type number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

func at(base unsafe.Pointer, i int, stride uintptr) unsafe.Pointer {
	return unsafe.Add(base, uintptr(i)*stride)
}

// numSet converts numbers of type S (from the page or its dictionary) to D.
func numSet[S, D number](src func(*colReader) []S) setFunc {
	return func(c *colReader, base unsafe.Pointer, stride uintptr, m int) error {
		vals := src(c)
		switch {
		case c.defs == nil && c.idx == nil: // plain, no nulls: the common case
			for i, v := range vals[c.val : c.val+m] {
				*(*D)(at(base, i, stride)) = D(v)
			}
		case c.defs == nil: // dictionary, no nulls
			n := uint(len(vals))
			for i, x := range c.idx[c.val : c.val+m] {
				if uint(x) >= n {
					_, err := c.index(c.val+i, len(vals))
					return err
				}
				*(*D)(at(base, i, stride)) = D(vals[x])
			}
		default:
			j := c.val
			for i := range m {
				if !c.present(i) {
					*(*D)(at(base, i, stride)) = 0
					continue
				}
				x, err := c.index(j, len(vals))
				if err != nil {
					return err
				}
				j++
				*(*D)(at(base, i, stride)) = D(vals[x])
			}
		}
		return nil
	}
}

// convSet converts values of type S to D with conv.
func convSet[S, D any](src func(*colReader) []S, conv func(S) D) setFunc {
	return func(c *colReader, base unsafe.Pointer, stride uintptr, m int) error {
		vals := src(c)
		if c.defs == nil && c.idx == nil {
			for i, v := range vals[c.val : c.val+m] {
				*(*D)(at(base, i, stride)) = conv(v)
			}
			return nil
		}
		j := c.val
		for i := range m {
			if !c.present(i) {
				var zero D
				*(*D)(at(base, i, stride)) = zero
				continue
			}
			x, err := c.index(j, len(vals))
			if err != nil {
				return err
			}
			j++
			*(*D)(at(base, i, stride)) = conv(vals[x])
		}
		return nil
	}
}

func srcI32(c *colReader) []int32   { return c.i32 }
func srcI64(c *colReader) []int64   { return c.i64 }
func srcF32(c *colReader) []float32 { return c.f32 }
func srcF64(c *colReader) []float64 { return c.f64 }
func srcI96(c *colReader) []deprecated.Int96 {
	return c.i96
}
func srcU32(c *colReader) []uint32 {
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(c.i32))), len(c.i32))
}
func srcU64(c *colReader) []uint64 {
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(c.i64))), len(c.i64))
}

// numTo returns the setter of numbers from S into a field of kind k.
func numTo[S number](k goKind, src func(*colReader) []S) setFunc {
	switch k {
	case kInt:
		return numSet[S, int](src)
	case kInt8:
		return numSet[S, int8](src)
	case kInt16:
		return numSet[S, int16](src)
	case kInt32:
		return numSet[S, int32](src)
	case kInt64:
		return numSet[S, int64](src)
	case kUint:
		return numSet[S, uint](src)
	case kUint8:
		return numSet[S, uint8](src)
	case kUint16:
		return numSet[S, uint16](src)
	case kUint32:
		return numSet[S, uint32](src)
	case kUint64:
		return numSet[S, uint64](src)
	case kFloat32:
		return numSet[S, float32](src)
	case kFloat64:
		return numSet[S, float64](src)
	}
	return nil
}

// numSetter returns the setter of a numeric field of kind k from column type ct.
func numSetter(k goKind, ct colType) setFunc {
	switch ct.kind {
	case parquet.Int32:
		if ct.unsigned {
			return numTo(k, srcU32)
		}
		return numTo(k, srcI32)
	case parquet.Int64:
		if ct.unsigned {
			return numTo(k, srcU64)
		}
		return numTo(k, srcI64)
	case parquet.Float:
		return numTo(k, srcF32)
	case parquet.Double:
		return numTo(k, srcF64)
	}
	return nil
}

// Time conversions. Values out of time.Time's range wrap as time.Unix does.
func timeOfUnit(unit time.Duration) func(int64) time.Time {
	switch unit {
	case time.Millisecond:
		return func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	case time.Microsecond:
		return func(v int64) time.Time { return time.UnixMicro(v).UTC() }
	case time.Nanosecond:
		return func(v int64) time.Time { return time.Unix(0, v).UTC() }
	}
	return func(v int64) time.Time { return time.Unix(0, v*int64(unit)).UTC() }
}

func timeOfDate(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// julianUnixEpoch is the Julian day number of 1970-01-01.
const julianUnixEpoch = 2440588

// int96Parts splits a legacy INT96 timestamp: nanoseconds of the day, then
// the Julian day.
func int96Parts(v deprecated.Int96) (nanos int64, day int64) {
	return int64(uint64(v[1])<<32 | uint64(v[0])), int64(v[2])
}

func timeOfInt96(v deprecated.Int96) time.Time {
	nanos, day := int96Parts(v)
	return time.Unix((day-julianUnixEpoch)*86400, nanos).UTC()
}

// millisOf returns the conversion of a time column's values to
// milliseconds since the epoch (floored), for event times.
func millisOfUnit(unit time.Duration) func(int64) int64 {
	per := int64(time.Millisecond / unit) // units per millisecond
	if unit >= time.Millisecond {
		mul := int64(unit / time.Millisecond)
		return func(v int64) int64 { return v * mul }
	}
	return func(v int64) int64 { return floorDiv(v, per) }
}

func millisOfDate(d int32) int64 { return int64(d) * 86400_000 }

func millisOfInt96(v deprecated.Int96) int64 {
	nanos, day := int96Parts(v)
	return (day-julianUnixEpoch)*86400_000 + floorDiv(nanos, 1e6)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// stringSet fills string fields from byte arrays. A page's strings share one
// allocation per run, and a dictionary's are converted once per chunk.
func stringSet(c *colReader, base unsafe.Pointer, stride uintptr, m int) error {
	if c.idx != nil {
		strs, err := c.dictStrings()
		if err != nil {
			return err
		}
		if c.defs == nil { // no nulls: the common case
			n := uint(len(strs))
			for i, x := range c.idx[c.val : c.val+m] {
				if uint(x) >= n {
					_, err := c.index(c.val+i, len(strs))
					return err
				}
				*(*string)(at(base, i, stride)) = strs[x]
			}
			return nil
		}
		j := c.val
		for i := range m {
			if !c.present(i) {
				*(*string)(at(base, i, stride)) = ""
				continue
			}
			x, err := c.index(j, len(strs))
			if err != nil {
				return err
			}
			j++
			*(*string)(at(base, i, stride)) = strs[x]
		}
		return nil
	}
	all, starts, err := c.copyRun(m)
	if err != nil {
		return err
	}
	s := unsafe.String(unsafe.SliceData(all), len(all))
	j := 0
	for i := range m {
		if !c.present(i) {
			*(*string)(at(base, i, stride)) = ""
			continue
		}
		*(*string)(at(base, i, stride)) = s[starts[j]:starts[j+1]]
		j++
	}
	return nil
}

// bytesSet fills []byte fields: one allocation per run, each value a
// sub-slice that cannot grow into the next.
func bytesSet(c *colReader, base unsafe.Pointer, stride uintptr, m int) error {
	if c.idx != nil {
		// Copy dictionary values so that rows do not share backing arrays.
		n := c.nbin()
		j := c.val
		var total int
		for i := range m {
			if !c.present(i) {
				continue
			}
			x, err := c.index(j, n)
			if err != nil {
				return err
			}
			j++
			b, err := c.binAt(x)
			if err != nil {
				return err
			}
			total += len(b)
		}
		buf := make([]byte, 0, total)
		j = c.val
		for i := range m {
			if !c.present(i) {
				*(*[]byte)(at(base, i, stride)) = nil
				continue
			}
			x, _ := c.index(j, n)
			j++
			b, _ := c.binAt(x)
			start := len(buf)
			buf = append(buf, b...)
			*(*[]byte)(at(base, i, stride)) = buf[start:len(buf):len(buf)]
		}
		return nil
	}
	all, starts, err := c.copyRun(m)
	if err != nil {
		return err
	}
	j := 0
	for i := range m {
		if !c.present(i) {
			*(*[]byte)(at(base, i, stride)) = nil
			continue
		}
		a, b := starts[j], starts[j+1]
		*(*[]byte)(at(base, i, stride)) = all[a:b:b]
		j++
	}
	return nil
}

// copyRun copies the byte array values of a run of m rows of a plain page
// into one new buffer, returning it and the start of each value (plus the end).
func (c *colReader) copyRun(m int) ([]byte, []int, error) {
	cnt := 0
	for i := range m {
		if c.present(i) {
			cnt++
		}
	}
	if c.val+cnt > c.nbin() {
		return nil, nil, fmt.Errorf("%w: fewer values than rows", errCorrupt)
	}
	starts := c.starts[:0]
	if c.ct.kind == parquet.FixedLenByteArray {
		all := make([]byte, cnt*c.size)
		copy(all, c.bin[c.val*c.size:])
		for j := range cnt + 1 {
			starts = append(starts, j*c.size)
		}
		c.starts = starts
		return all, starts, nil
	}
	lo, hi := c.offs[c.val], c.offs[c.val+cnt]
	if lo > hi || int(hi) > len(c.bin) {
		return nil, nil, fmt.Errorf("%w: byte array offsets [%d, %d) out of range", errCorrupt, lo, hi)
	}
	all := make([]byte, hi-lo)
	copy(all, c.bin[lo:hi])
	for j := range cnt + 1 {
		o := c.offs[c.val+j]
		if o < lo || o > hi || (j > 0 && int(o-lo) < starts[j-1]) {
			return nil, nil, fmt.Errorf("%w: byte array offsets out of order", errCorrupt)
		}
		starts = append(starts, int(o-lo))
	}
	c.starts = starts
	return all, starts, nil
}

// fixedSet fills [N]byte fields from FIXED_LEN_BYTE_ARRAY values of size N.
func fixedSet(c *colReader, base unsafe.Pointer, stride uintptr, m int) error {
	n := c.nbin()
	j := c.val
	for i := range m {
		dst := unsafe.Slice((*byte)(at(base, i, stride)), c.size)
		if !c.present(i) {
			clear(dst)
			continue
		}
		x, err := c.index(j, n)
		if err != nil {
			return err
		}
		j++
		b, err := c.binAt(x)
		if err != nil {
			return err
		}
		copy(dst, b)
	}
	return nil
}

// boolSet fills bool fields from a page's values.
func boolSet(c *colReader, base unsafe.Pointer, stride uintptr, m int) error {
	for i, v := range c.bools[c.row : c.row+m] {
		*(*bool)(at(base, i, stride)) = !v.IsNull() && v.Boolean()
	}
	return nil
}

// timeSetter returns the setter of a time.Time field from column type ct;
// unit is the unit T declares, for INT64 columns without a logical type.
func timeSetter(ct colType, unit time.Duration) setFunc {
	switch {
	case ct.kind == parquet.Int96:
		return convSet(srcI96, timeOfInt96)
	case ct.kind == parquet.Int32 && ct.date:
		return convSet(srcI32, timeOfDate)
	case ct.kind == parquet.Int64:
		if ct.unit != 0 {
			unit = ct.unit
		}
		return convSet(srcI64, timeOfUnit(unit))
	}
	return nil
}

// setterFor returns how to fill field f from a column of type ct.
func setterFor(f *leafField, ct colType) setFunc {
	var set setFunc
	switch {
	case f.kind.numeric():
		set = numSetter(f.kind, ct)
	case f.kind == kBool:
		set = boolSet
	case f.kind == kString:
		set = stringSet
	case f.kind == kBytes:
		set = bytesSet
	case f.kind == kFixed:
		set = fixedSet
	case f.kind == kTime:
		set = timeSetter(ct, f.unit)
	}
	if set == nil || !f.ptr {
		return set
	}
	return ptrSet(set, f.typ.Elem())
}

// ptrSet fills pointer fields: the values of a run go into one new array,
// and each non-null row points at its element.
func ptrSet(inner setFunc, elem reflect.Type) setFunc {
	size := elem.Size()
	return func(c *colReader, base unsafe.Pointer, stride uintptr, m int) error {
		arr := reflect.New(reflect.ArrayOf(m, elem)).UnsafePointer()
		if err := inner(c, arr, size, m); err != nil {
			return err
		}
		for i := range m {
			p := (*unsafe.Pointer)(at(base, i, stride))
			if c.present(i) {
				*p = at(arr, i, size)
			} else {
				*p = nil
			}
		}
		return nil
	}
}

// millisSetter returns the setter that writes a time column's values as
// int64 milliseconds (for event times), or nil if the column is not a time.
func millisSetter(ct colType) setFunc {
	switch {
	case ct.kind == parquet.Int96:
		return convSet(srcI96, millisOfInt96)
	case ct.kind == parquet.Int32 && ct.date:
		return convSet(srcI32, millisOfDate)
	case ct.kind == parquet.Int64 && (ct.unit == 0 || ct.unit == time.Millisecond):
		return numSet[int64, int64](srcI64)
	case ct.kind == parquet.Int64:
		return convSet(srcI64, millisOfUnit(ct.unit))
	}
	return nil
}
