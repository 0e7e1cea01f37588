package parquetio

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// tsBinding is the event-time column of a file.
type tsBinding struct {
	col    int
	name   string
	ct     colType
	maxDef int
	set    setFunc                   // writes milliseconds into []int64
	millis func(parquet.Value) int64 // a statistic's value in milliseconds
}

func bindTime(fs *parquet.Schema, column string) (*tsBinding, error) {
	leaf, ok := lookupColumn(fs, column)
	if !ok || leaf.Node == nil || !leaf.Node.Leaf() {
		return nil, &bindError{column, fmt.Errorf("the event-time column is missing from the file")}
	}
	if leaf.MaxRepetitionLevel > 0 {
		return nil, &bindError{column, fmt.Errorf("the event-time column is repeated")}
	}
	ct := classify(leaf.Node.Type())
	tb := &tsBinding{col: leaf.ColumnIndex, name: column, ct: ct, maxDef: leaf.MaxDefinitionLevel, set: millisSetter(ct)}
	switch {
	case ct.kind == parquet.Int96:
		tb.millis = nil // INT96 statistics are unreliable (and deprecated): no pruning
	case ct.kind == parquet.Int32 && ct.date:
		tb.millis = func(v parquet.Value) int64 { return millisOfDate(v.Int32()) }
	case ct.kind == parquet.Int64:
		conv := func(v int64) int64 { return v }
		if ct.unit != 0 {
			conv = millisOfUnit(ct.unit)
		}
		tb.millis = func(v parquet.Value) int64 { return conv(v.Int64()) }
	}
	if tb.set == nil {
		return nil, &bindError{column, fmt.Errorf("the event-time column is %v; want INT64 (a TIMESTAMP, or milliseconds), INT32 DATE or INT96", ct)}
	}
	return tb, nil
}

// ceilMillis returns the first millisecond at or after t.
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// predClass is the domain in which a predicate compares.
type predClass uint8

const (
	pInt   predClass = iota // int64
	pUint                   // uint64
	pFloat                  // float64
	pTime                   // int64 nanoseconds since the epoch
	pBytes                  // bytes.Compare
	pBool
)

// predBinding is a Where bound to a file: to a column, or, for a partition
// key, decided for the whole file.
type predBinding struct {
	p      Predicate
	col    int
	ct     colType
	maxDef int

	partition bool // decided by the file's partition directory
	partMatch bool

	cls   predClass
	ci    int64
	cu    uint64
	cf    float64
	cb    []byte
	cbool bool
	set   setFunc                   // numeric classes: decodes into a []int64, []uint64 or []float64
	nanos func(parquet.Value) int64 // pTime: a statistic in nanoseconds
}

// ok applies the op to the result of comparing a value with the constant.
func (pb *predBinding) ok(c int) bool {
	switch pb.p.Op {
	case Eq:
		return c == 0
	case Ne:
		return c != 0
	case Lt:
		return c < 0
	case Le:
		return c <= 0
	case Gt:
		return c > 0
	}
	return c >= 0
}

// mayMatch reports whether some value in [min, max] may satisfy the predicate,
// given min and max compared with the constant.
func (pb *predBinding) mayMatch(cmin, cmax int) bool {
	switch pb.p.Op {
	case Eq:
		return cmin <= 0 && cmax >= 0
	case Ne:
		return !(cmin == 0 && cmax == 0)
	case Lt:
		return cmin < 0
	case Le:
		return cmin <= 0
	case Gt:
		return cmax > 0
	}
	return cmax >= 0
}

// cmpValue compares a statistic with the constant.
func (pb *predBinding) cmpValue(v parquet.Value) int {
	switch pb.cls {
	case pInt:
		return cmp.Compare(pb.intOf(v), pb.ci)
	case pUint:
		return cmp.Compare(pb.uintOf(v), pb.cu)
	case pFloat:
		return cmp.Compare(pb.floatOf(v), pb.cf)
	case pTime:
		return cmp.Compare(pb.nanos(v), pb.ci)
	case pBytes:
		return bytes.Compare(v.ByteArray(), pb.cb)
	}
	return boolCmp(v.Boolean(), pb.cbool)
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func (pb *predBinding) intOf(v parquet.Value) int64 {
	if pb.ct.kind == parquet.Int32 {
		return int64(v.Int32())
	}
	return v.Int64()
}

func (pb *predBinding) uintOf(v parquet.Value) uint64 {
	if pb.ct.kind == parquet.Int32 {
		return uint64(uint32(v.Int32()))
	}
	return uint64(v.Int64())
}

func (pb *predBinding) floatOf(v parquet.Value) float64 {
	switch pb.ct.kind {
	case parquet.Float:
		return float64(v.Float())
	case parquet.Double:
		return v.Double()
	case parquet.Int32:
		if pb.ct.unsigned {
			return float64(uint32(v.Int32()))
		}
		return float64(v.Int32())
	}
	if pb.ct.unsigned {
		return float64(uint64(v.Int64()))
	}
	return float64(v.Int64())
}

// statsMayMatch reports whether a chunk or page with these statistics may
// hold a matching row.
func (pb *predBinding) statsMayMatch(min, max parquet.Value) bool {
	if pb.cls == pFloat && (math.IsNaN(pb.floatOf(min)) || math.IsNaN(pb.floatOf(max))) {
		return true
	}
	return pb.mayMatch(pb.cmpValue(min), pb.cmpValue(max))
}

func bindPredicate(fs *parquet.Schema, parts partitions, p Predicate) (*predBinding, error) {
	pb := &predBinding{p: p, col: -1}
	if !strings.Contains(p.Column, ".") {
		if v, ok := parts.get(p.Column); ok {
			pb.partition = true
			m, err := partitionMatches(p, v)
			if err != nil {
				return nil, &bindError{p.Column, err}
			}
			pb.partMatch = m
			return pb, nil
		}
	}
	leaf, ok := lookupColumn(fs, p.Column)
	if !ok || leaf.Node == nil || !leaf.Node.Leaf() {
		return nil, &bindError{p.Column, fmt.Errorf("Where %v: no such column in the file", p)}
	}
	if leaf.MaxRepetitionLevel > 0 {
		return nil, &bindError{p.Column, fmt.Errorf("Where %v: the column is repeated", p)}
	}
	pb.col, pb.maxDef = leaf.ColumnIndex, leaf.MaxDefinitionLevel
	ct := classify(leaf.Node.Type())
	pb.ct = ct
	bad := func() error {
		return &bindError{p.Column, fmt.Errorf("Where %v: a %T cannot be compared with the column's %v", p, p.Value, ct)}
	}
	isInt := ct.kind == parquet.Int32 || ct.kind == parquet.Int64
	switch v := p.Value.(type) {
	case bool:
		if ct.kind != parquet.Boolean {
			return nil, bad()
		}
		pb.cls, pb.cbool = pBool, v
	case string:
		if ct.kind != parquet.ByteArray && ct.kind != parquet.FixedLenByteArray {
			return nil, bad()
		}
		pb.cls, pb.cb = pBytes, []byte(v)
	case []byte:
		if ct.kind != parquet.ByteArray && ct.kind != parquet.FixedLenByteArray {
			return nil, bad()
		}
		pb.cls, pb.cb = pBytes, v
	case time.Time:
		if !isInt || (ct.kind == parquet.Int32 && !ct.date) {
			return nil, bad()
		}
		pb.cls, pb.ci = pTime, v.UnixNano()
		var toNanos func(int64) int64
		switch {
		case ct.date:
			toNanos = func(d int64) int64 { return d * 86400 * 1e9 }
		case ct.unit != 0:
			u := int64(ct.unit)
			toNanos = func(x int64) int64 { return x * u }
		default: // milliseconds, as for event times
			toNanos = func(x int64) int64 { return x * 1e6 }
		}
		if ct.kind == parquet.Int32 {
			pb.set = convSet(srcI32, func(d int32) int64 { return toNanos(int64(d)) })
			pb.nanos = func(v parquet.Value) int64 { return toNanos(int64(v.Int32())) }
		} else {
			pb.set = convSet(srcI64, toNanos)
			pb.nanos = func(v parquet.Value) int64 { return toNanos(v.Int64()) }
		}
	case float32, float64:
		if !isInt && ct.kind != parquet.Float && ct.kind != parquet.Double {
			return nil, bad()
		}
		pb.cls, pb.cf = pFloat, toFloat(v)
	default: // integers
		if !isInt && ct.kind != parquet.Float && ct.kind != parquet.Double {
			return nil, bad()
		}
		i, iok := toInt64(v)
		u, uok := toUint64(v)
		switch {
		case !isInt:
			pb.cls, pb.cf = pFloat, toFloat(v)
		case ct.unsigned && uok:
			pb.cls, pb.cu = pUint, u
		case !ct.unsigned && iok:
			pb.cls, pb.ci = pInt, i
		default: // out of the column's range: compare as floats
			pb.cls, pb.cf = pFloat, toFloat(v)
		}
	}
	switch pb.cls {
	case pInt:
		pb.set = numSetter(kInt64, ct)
	case pUint:
		pb.set = numSetter(kUint64, ct)
	case pFloat:
		pb.set = numSetter(kFloat64, ct)
	}
	return pb, nil
}

func toInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint:
		return int64(v), uint64(v) <= math.MaxInt64
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		return int64(v), v <= math.MaxInt64
	}
	return 0, false
}

func toUint64(v any) (uint64, bool) {
	if i, ok := toInt64(v); ok {
		return uint64(i), i >= 0
	}
	switch v := v.(type) {
	case uint:
		return uint64(v), true
	case uint64:
		return v, true
	}
	return 0, false
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case uint:
		return float64(v)
	case uint64:
		return float64(v)
	}
	i, _ := toInt64(v)
	return float64(i)
}

// partitionMatches decides a predicate on a partition key for a file.
func partitionMatches(p Predicate, s string) (bool, error) {
	if s == hiveNull {
		return false, nil
	}
	pb := &predBinding{p: p}
	var c int
	bad := func(err error) error {
		return fmt.Errorf("Where %v: partition value %q is not a %T: %v", p, s, p.Value, err)
	}
	switch v := p.Value.(type) {
	case bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, bad(err)
		}
		c = boolCmp(b, v)
	case string:
		c = strings.Compare(s, v)
	case []byte:
		c = bytes.Compare([]byte(s), v)
	case time.Time:
		t, err := parseTime(s)
		if err != nil {
			return false, bad(err)
		}
		c = t.Compare(v)
	case float32, float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false, bad(err)
		}
		c = cmp.Compare(x, toFloat(v))
	default:
		if i, ok := toInt64(v); ok {
			x, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return false, bad(err)
			}
			c = cmp.Compare(x, i)
		} else {
			u, _ := toUint64(v)
			x, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return false, bad(err)
			}
			c = cmp.Compare(x, u)
		}
	}
	return pb.ok(c), nil
}

// scratch holds one batch of decoded predicate and event-time values.
type scratch struct {
	ints   []int64
	uints  []uint64
	floats []float64
}

func newScratch(n int) *scratch {
	return &scratch{ints: make([]int64, n), uints: make([]uint64, n), floats: make([]float64, n)}
}

// evalRun clears kp[i] for each row of the current run of c (of len(kp)
// rows) that does not match; off is the run's offset in the batch, for the
// scratch buffers.
func (pb *predBinding) evalRun(c *colReader, kp []bool, off int, sc *scratch) error {
	m := len(kp)
	{
		switch pb.cls {
		case pInt, pTime:
			buf := sc.ints[off : off+m]
			if err := pb.set(c, unsafe.Pointer(&buf[0]), 8, m); err != nil {
				return err
			}
			for i, v := range buf {
				kp[i] = kp[i] && c.present(i) && pb.ok(cmp.Compare(v, pb.ci))
			}
		case pUint:
			buf := sc.uints[off : off+m]
			if err := pb.set(c, unsafe.Pointer(&buf[0]), 8, m); err != nil {
				return err
			}
			for i, v := range buf {
				kp[i] = kp[i] && c.present(i) && pb.ok(cmp.Compare(v, pb.cu))
			}
		case pFloat:
			buf := sc.floats[off : off+m]
			if err := pb.set(c, unsafe.Pointer(&buf[0]), 8, m); err != nil {
				return err
			}
			for i, v := range buf {
				kp[i] = kp[i] && c.present(i) && !math.IsNaN(v) && pb.ok(cmp.Compare(v, pb.cf))
			}
		case pBool:
			for i, v := range c.bools[c.row : c.row+m] {
				kp[i] = kp[i] && !v.IsNull() && pb.ok(boolCmp(v.Boolean(), pb.cbool))
			}
		case pBytes:
			n := c.nbin()
			j := c.val
			for i := range m {
				if !c.present(i) {
					kp[i] = false
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
				kp[i] = kp[i] && pb.ok(bytes.Compare(b, pb.cb))
			}
		}
		return nil
	}
}
