package parquetio

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// goKind is the Go type of a leaf field that the columnar decoder fills.
type goKind uint8

const (
	kBool goKind = iota
	kInt
	kInt8
	kInt16
	kInt32
	kInt64
	kUint
	kUint8
	kUint16
	kUint32
	kUint64
	kFloat32
	kFloat64
	kString
	kBytes // []byte
	kFixed // [N]byte
	kTime  // time.Time
)

func (k goKind) numeric() bool { return k >= kInt && k <= kFloat64 }

// leafField is a leaf of T: a field the columnar decoder writes.
type leafField struct {
	path   []string // column path
	column string   // dotted path, for messages
	goName string   // T.A.B, for messages
	typ    reflect.Type
	offset uintptr // from the start of T
	kind   goKind
	ptr    bool // *X: nil for null
	size   int  // N of [N]byte
	// from T's parquet schema
	maxDef int
	unit   time.Duration // time.Time fields: the unit T's schema declares
}

// layout is what Read knows about T, computed once when the pipeline is built.
type layout struct {
	typ    reflect.Type
	schema *parquet.Schema // parquet-go's schema of T
	// leaves are T's leaf columns, in T's schema order, with their levels.
	leaves []parquet.LeafColumn
	// fields are the leaves as the columnar decoder fills them; nil when T
	// is not flat (repeated fields, maps, pointers to structs, ...), and
	// GenericReader reads every file.
	fields    []leafField
	notFlat   string // why fields is nil
	uncovered bool   // T has fields that no column fills (unexported, or tagged "-")
	// top maps a top-level column name to its field, for partition values.
	top map[string]*leafField
}

// layoutOf derives the layout of T. It fails if T is not a struct that
// parquet-go can map to a schema.
func layoutOf[T any]() (l *layout, err error) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("element type %v is not a struct", t)
	}
	defer func() {
		if r := recover(); r != nil { // parquet-go panics on tags it cannot map
			err = fmt.Errorf("element type %v has no Parquet schema: %v", t, r)
		}
	}()
	l = &layout{typ: t, schema: parquet.SchemaOf(reflect.New(t).Interface())}
	for _, p := range l.schema.Columns() {
		leaf, _ := l.schema.Lookup(p...)
		l.leaves = append(l.leaves, leaf)
	}
	if len(l.leaves) == 0 {
		return nil, fmt.Errorf("element type %v has no column", t)
	}
	var fields []leafField
	if why := walkFields(t, nil, t.Name(), 0, &fields, &l.uncovered); why != "" {
		l.notFlat = why
	} else if why := l.bindFields(fields); why != "" {
		l.notFlat = why
	} else {
		l.fields = fields
		l.top = map[string]*leafField{}
		for i := range l.fields {
			if f := &l.fields[i]; len(f.path) == 1 {
				l.top[f.path[0]] = f
			}
		}
	}
	return l, nil
}

var timeType = reflect.TypeFor[time.Time]()

// walkFields collects the leaf fields of struct t, following parquet-go's
// rules for names and embedded structs. It returns why T is not flat, or "".
func walkFields(t reflect.Type, path []string, goPath string, offset uintptr, out *[]leafField, uncovered *bool) string {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("parquet")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && tag != "-," {
			*uncovered = true
			continue
		}
		if _, ok := f.Tag.Lookup("protobuf"); ok {
			return "protobuf field names"
		}
		if f.Anonymous {
			if f.Type.Kind() != reflect.Struct {
				return fmt.Sprintf("embedded field %s is not a struct", f.Name)
			}
			if why := walkFields(f.Type, path, goPath, offset+f.Offset, out, uncovered); why != "" {
				return why
			}
			continue
		}
		if !f.IsExported() {
			*uncovered = true
			continue
		}
		if name == "" {
			name = f.Name
		}
		fpath := append(slices.Clip(path), name)
		gname := goPath + "." + f.Name
		ft := f.Type
		lf := leafField{path: fpath, column: strings.Join(fpath, "."), goName: gname, typ: f.Type, offset: offset + f.Offset}
		if ft.Kind() == reflect.Pointer {
			lf.ptr = true
			ft = ft.Elem()
		}
		for o := range strings.SplitSeq(opts, ",") {
			switch o {
			case "list", "map", "json", "proto", "variant", "bson", "split", "geometry", "geography":
				return fmt.Sprintf("field %s has the %q tag", gname, o)
			}
		}
		switch {
		case ft == timeType:
			lf.kind = kTime
		case ft.Kind() == reflect.Struct:
			if lf.ptr {
				return fmt.Sprintf("field %s is a pointer to a struct", gname)
			}
			if why := walkFields(ft, fpath, gname, lf.offset, out, uncovered); why != "" {
				return why
			}
			continue
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Uint8 && !lf.ptr:
			lf.kind = kBytes
		case ft.Kind() == reflect.Array && ft.Elem().Kind() == reflect.Uint8 && !lf.ptr:
			lf.kind, lf.size = kFixed, ft.Len()
		default:
			k, ok := basicKinds[ft.Kind()]
			if !ok {
				return fmt.Sprintf("field %s is a %v", gname, f.Type)
			}
			lf.kind = k
		}
		*out = append(*out, lf)
	}
	return ""
}

var basicKinds = map[reflect.Kind]goKind{
	reflect.Bool: kBool, reflect.Int: kInt, reflect.Int8: kInt8, reflect.Int16: kInt16, reflect.Int32: kInt32, reflect.Int64: kInt64,
	reflect.Uint: kUint, reflect.Uint8: kUint8, reflect.Uint16: kUint16, reflect.Uint32: kUint32, reflect.Uint64: kUint64,
	reflect.Float32: kFloat32, reflect.Float64: kFloat64, reflect.String: kString,
}

// bindFields checks that the walked fields are exactly the leaves of T's
// schema, none repeated, and takes their levels and units from it.
func (l *layout) bindFields(fields []leafField) string {
	if len(fields) != len(l.leaves) {
		return fmt.Sprintf("%d fields for %d columns", len(fields), len(l.leaves))
	}
	for i := range fields {
		f := &fields[i]
		leaf, ok := l.schema.Lookup(f.path...)
		if !ok {
			return fmt.Sprintf("field %s has no column %s", f.goName, f.column)
		}
		if leaf.MaxRepetitionLevel > 0 {
			return fmt.Sprintf("column %s is repeated", f.column)
		}
		f.maxDef = leaf.MaxDefinitionLevel
		if f.kind == kTime {
			ct := classify(leaf.Node.Type())
			f.unit = ct.unit
			if f.unit == 0 {
				f.unit = time.Nanosecond
			}
		}
	}
	return ""
}

// colType is what the decoder needs to know of a file column's type.
type colType struct {
	kind     parquet.Kind
	unsigned bool          // INT32/INT64 with an unsigned logical type
	unit     time.Duration // INT64 TIMESTAMP: its unit
	date     bool          // INT32 DATE
	size     int           // FIXED_LEN_BYTE_ARRAY
}

func classify(t parquet.Type) colType {
	c := colType{kind: t.Kind()}
	if c.kind == parquet.FixedLenByteArray {
		c.size = t.Length()
	}
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		switch v := lt.Value.(type) {
		case *format.TimestampType:
			if c.kind == parquet.Int64 && v.Unit.Value != nil {
				c.unit = v.Unit.Value.Duration()
			}
		case *format.DateType:
			c.date = c.kind == parquet.Int32
		case *format.IntType:
			c.unsigned = !v.IsSigned
		}
		return c
	}
	if ct := t.ConvertedType(); ct != nil {
		switch *ct {
		case deprecated.TimestampMillis:
			c.unit = time.Millisecond
		case deprecated.TimestampMicros:
			c.unit = time.Microsecond
		case deprecated.Date:
			c.date = c.kind == parquet.Int32
		case deprecated.Uint8, deprecated.Uint16, deprecated.Uint32, deprecated.Uint64:
			c.unsigned = true
		}
	}
	return c
}

func (c colType) String() string {
	switch {
	case c.unit != 0:
		return fmt.Sprintf("%v TIMESTAMP(%v)", c.kind, c.unit)
	case c.date:
		return "INT32 DATE"
	case c.unsigned:
		return fmt.Sprintf("%v unsigned", c.kind)
	}
	return c.kind.String()
}

// compatible reports whether a column of type c can fill a field of kind k.
func compatible(k goKind, c colType) bool {
	switch k {
	case kBool:
		return c.kind == parquet.Boolean
	case kFloat32, kFloat64:
		return c.kind == parquet.Float || c.kind == parquet.Double || c.kind == parquet.Int32 || c.kind == parquet.Int64
	case kString, kBytes:
		return c.kind == parquet.ByteArray || c.kind == parquet.FixedLenByteArray
	case kFixed:
		return c.kind == parquet.FixedLenByteArray
	case kTime:
		return c.kind == parquet.Int64 || c.kind == parquet.Int96 || (c.kind == parquet.Int32 && c.date)
	}
	return c.kind == parquet.Int32 || c.kind == parquet.Int64 // integers
}

// kindClass groups physical kinds for checking files read by GenericReader.
func kindClass(k parquet.Kind) int {
	switch k {
	case parquet.Boolean:
		return 0
	case parquet.Int32, parquet.Int64, parquet.Int96, parquet.Float, parquet.Double:
		return 1
	}
	return 2 // byte arrays
}

// fieldBinding is how one field of T is filled from one file.
type fieldBinding struct {
	f      *leafField
	col    int // leaf column index in the file; -1: missing (zero or nil)
	ct     colType
	maxDef int        // of the file's column
	part   *partValue // non-nil: the field comes from the file's partition directory
}

// fileBinding maps T, the event-time column and the predicates onto one
// file's schema. It is computed once per file and shared by its splits.
type fileBinding struct {
	fast   bool           // columnar decoder; else GenericReader
	fields []fieldBinding // read from columns (columnar decoder)
	// generic: the file columns T reads (projection), for sizes.
	genericCols []int
	partFields  []fieldBinding // fields that take the partition directory's value
	// needClear: the decoder leaves parts of T alone (fields without a
	// column, unexported fields), so each batch is cleared first.
	needClear bool
	ts        *tsBinding
	preds     []*predBinding
	dropFile  bool // a predicate on a partition key rules out every row
}

// projected returns the file columns that reading T decodes.
func (b *fileBinding) projected() []int {
	var cols []int
	for _, fb := range b.fields {
		if fb.col >= 0 {
			cols = append(cols, fb.col)
		}
	}
	cols = append(cols, b.genericCols...)
	if b.ts != nil {
		cols = append(cols, b.ts.col)
	}
	for _, p := range b.preds {
		if p.col >= 0 {
			cols = append(cols, p.col)
		}
	}
	slices.Sort(cols)
	return slices.Compact(cols)
}

// bindError is a schema mismatch found when binding a file.
type bindError struct {
	column string
	err    error
}

func (e *bindError) Error() string { return fmt.Sprintf("column %q: %v", e.column, e.err) }

// lookupColumn finds a leaf of the file schema by dotted path.
func lookupColumn(s *parquet.Schema, column string) (parquet.LeafColumn, bool) {
	return s.Lookup(strings.Split(column, ".")...)
}

// bind maps the layout onto a file schema.
func (l *layout) bind(fs *parquet.Schema, parts partitions, cfg *readConfig) (*fileBinding, error) {
	b := &fileBinding{fast: l.fields != nil && !cfg.generic}
	b.needClear = b.fast && l.uncovered
	if l.fields != nil {
		for i := range l.fields {
			f := &l.fields[i]
			fb := fieldBinding{f: f, col: -1}
			if len(f.path) == 1 {
				if v, ok := parts.get(f.path[0]); ok {
					pv, err := parsePartition(f, v)
					if err != nil {
						return nil, &bindError{f.column, fmt.Errorf("partition value %q: %w", v, err)}
					}
					fb.part = pv
					b.partFields = append(b.partFields, fb)
					continue
				}
			}
			leaf, ok := fs.Lookup(f.path...)
			if !ok || leaf.Node == nil || !leaf.Node.Leaf() {
				if f.maxDef == 0 {
					return nil, &bindError{f.column, fmt.Errorf("missing from the file, and %s is required (make it a pointer or tag it optional to allow that)", f.goName)}
				}
				b.needClear = b.needClear || b.fast
				continue
			}
			if leaf.MaxRepetitionLevel > 0 {
				return nil, &bindError{f.column, fmt.Errorf("repeated in the file, but %s is not a slice", f.goName)}
			}
			fb.col, fb.ct, fb.maxDef = leaf.ColumnIndex, classify(leaf.Node.Type()), leaf.MaxDefinitionLevel
			if !compatible(f.kind, fb.ct) || (f.kind == kFixed && fb.ct.size != f.size) {
				return nil, &bindError{f.column, fmt.Errorf("the file has %v, which %s (%v) cannot hold", fb.ct, f.goName, f.typ)}
			}
			if b.fast {
				b.fields = append(b.fields, fb)
			} else {
				b.genericCols = append(b.genericCols, fb.col)
			}
		}
	} else {
		// GenericReader converts; check what it would silently get wrong.
		for _, tl := range l.leaves {
			name := strings.Join(tl.Path, ".")
			if len(tl.Path) == 1 {
				if _, ok := parts.get(tl.Path[0]); ok {
					return nil, &bindError{name, fmt.Errorf("is also a partition directory key, which a non-flat element type cannot take")}
				}
			}
			fl, ok := fs.Lookup(tl.Path...)
			if !ok || fl.Node == nil || !fl.Node.Leaf() {
				if tl.MaxDefinitionLevel == 0 {
					return nil, &bindError{name, fmt.Errorf("missing from the file, and %v requires it", l.typ)}
				}
				continue
			}
			if (fl.MaxRepetitionLevel > 0) != (tl.MaxRepetitionLevel > 0) {
				return nil, &bindError{name, fmt.Errorf("repeated in only one of the file and %v", l.typ)}
			}
			if kindClass(fl.Node.Type().Kind()) != kindClass(tl.Node.Type().Kind()) {
				return nil, &bindError{name, fmt.Errorf("the file has %v, which %v's %v cannot hold", classify(fl.Node.Type()), l.typ, tl.Node.Type())}
			}
			b.genericCols = append(b.genericCols, fl.ColumnIndex)
		}
	}
	if cfg.eventCol != "" {
		ts, err := bindTime(fs, cfg.eventCol)
		if err != nil {
			return nil, err
		}
		b.ts = ts
	}
	for _, p := range cfg.preds {
		pb, err := bindPredicate(fs, parts, p)
		if err != nil {
			return nil, err
		}
		if pb.partition {
			if !pb.partMatch {
				b.dropFile = true
			}
			continue
		}
		b.preds = append(b.preds, pb)
	}
	return b, nil
}

// field returns a pointer to the field of the row at p.
func (f *leafField) at(p unsafe.Pointer) unsafe.Pointer { return unsafe.Add(p, f.offset) }
