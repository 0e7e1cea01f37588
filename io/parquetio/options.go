package parquetio

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// ReadOption configures Read.
type ReadOption func(*readConfig)

type readConfig struct {
	more        []string // Files
	eventTimeFn any      // func(T) time.Time, checked against T by Read
	eventCol    string
	hasRange    bool
	from, to    time.Time
	preds       []Predicate
	stats       *Stats
	dead        *DeadLetters
	splitRows   int64
	// generic forces parquet-go's GenericReader for every file (tests
	// compare it with the columnar decoder).
	generic bool
}

func newReadConfig(opts []ReadOption) *readConfig {
	c := &readConfig{}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *readConfig) validate() error {
	if c.eventTimeFn != nil && c.eventCol != "" {
		return fmt.Errorf("both EventTime and EventTimeColumn are given; choose one")
	}
	if c.hasRange {
		if c.eventTimeFn == nil && c.eventCol == "" {
			return fmt.Errorf("TimeRange needs EventTimeColumn or EventTime")
		}
		if !c.from.Before(c.to) {
			return fmt.Errorf("TimeRange [%v, %v) is empty", c.from, c.to)
		}
	}
	for _, p := range c.preds {
		if err := p.validate(); err != nil {
			return err
		}
	}
	if c.splitRows < 0 {
		return fmt.Errorf("SplitRows %d is negative", c.splitRows)
	}
	for _, f := range c.more {
		if f == "" {
			return fmt.Errorf("empty file name in Files")
		}
	}
	return nil
}

// Files adds files, globs or directories to read, besides Read's pattern
// (which may then be empty).
func Files(patterns ...string) ReadOption {
	return func(c *readConfig) { c.more = append(c.more, patterns...) }
}

// EventTime sets each element's event timestamp to fn of its row, truncated
// to milliseconds. T is inferred from fn; Read reports a T that differs when
// the pipeline is built. Rows are decoded before fn sees them, so a TimeRange
// with EventTime filters rows but cannot prune row groups: prefer
// EventTimeColumn for backfills.
func EventTime[T any](fn func(T) time.Time) ReadOption {
	return func(c *readConfig) { c.eventTimeFn = fn }
}

// EventTimeColumn takes each element's event timestamp from a column of the
// file (a dotted path for a nested column), which T need not declare. The
// column is INT64 (a TIMESTAMP in any unit; without a logical type it is
// milliseconds since the epoch), INT32 (a DATE: midnight UTC of the day) or
// INT96 (legacy timestamps). Its statistics prune row groups and pages for
// TimeRange.
func EventTimeColumn(column string) ReadOption {
	return func(c *readConfig) { c.eventCol = column }
}

// TimeRange keeps the rows whose event time is in [from, to). With
// EventTimeColumn, row groups and pages whose statistics show that they hold
// no such row are skipped without being decoded.
func TimeRange(from, to time.Time) ReadOption {
	return func(c *readConfig) { c.hasRange, c.from, c.to = true, from, to }
}

// Where keeps the rows whose column compares to value as op says (SQL
// semantics: a null never matches). The column is a dotted path, or the key
// of a hive-style partition directory (key=value), which then prunes whole
// files. Row groups and pages whose statistics rule out every row are
// skipped without being decoded; the rows of those that remain are filtered
// one by one, so the result does not depend on the statistics a writer left.
//
// value is a bool, an integer, a float, a string, a []byte or a time.Time
// (for TIMESTAMP and DATE columns), comparable with the column's type.
func Where(column string, op Op, value any) ReadOption {
	return func(c *readConfig) { c.preds = append(c.preds, Predicate{Column: column, Op: op, Value: value}) }
}

// WithStats counts what Read does (files, row groups pruned, rows decoded,
// bytes read) into st, which the caller reads during and after the run.
func WithStats(st *Stats) ReadOption {
	return func(c *readConfig) { c.stats = st }
}

// DeadLetter sends files (or row groups) that cannot be read to d instead of
// failing the run: a file that is not Parquet, is truncated or corrupt, lacks
// a column that T requires or has one of a type T cannot hold. See the
// package documentation for what is skipped.
func DeadLetter(d *DeadLetters) ReadOption {
	return func(c *readConfig) { c.dead = d }
}

// SplitRows bounds the rows of one split: a row group with more rows is read
// as several row ranges in parallel, when its file has an offset index (the
// page index that lets a reader start mid-row-group without decoding what
// comes before). By default Read picks the bound from the runner's desired
// number of splits, never below 64Ki rows.
func SplitRows(n int64) ReadOption {
	return func(c *readConfig) { c.splitRows = n }
}

// Op is a comparison of Where.
type Op uint8

const (
	Eq Op = iota // ==
	Ne           // !=
	Lt           // <
	Le           // <=
	Gt           // >
	Ge           // >=
)

func (o Op) String() string {
	switch o {
	case Eq:
		return "=="
	case Ne:
		return "!="
	case Lt:
		return "<"
	case Le:
		return "<="
	case Gt:
		return ">"
	case Ge:
		return ">="
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Predicate is one condition of Where.
type Predicate struct {
	Column string
	Op     Op
	Value  any
}

func (p Predicate) String() string { return fmt.Sprintf("%s %v %v", p.Column, p.Op, p.Value) }

func (p Predicate) validate() error {
	if p.Column == "" {
		return fmt.Errorf("Where: empty column name")
	}
	if p.Op > Ge {
		return fmt.Errorf("Where %s: unknown op %v", p.Column, p.Op)
	}
	switch v := p.Value.(type) {
	case bool:
		if p.Op != Eq && p.Op != Ne {
			return fmt.Errorf("Where %s: a bool compares only with Eq or Ne", p.Column)
		}
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, string, []byte, time.Time:
	case nil:
		return fmt.Errorf("Where %s: nil value (a null never matches)", p.Column)
	default:
		return fmt.Errorf("Where %s: value %v of type %T is not a bool, number, string, []byte or time.Time", p.Column, v, v)
	}
	return nil
}

// WriteOption configures Write.
type WriteOption func(*writeConfig)

type writeConfig struct {
	rowGroupRows int64
	codec        Codec
	byWindow     bool
	partKey      string
	partFn       any // func(T) string, checked against T by Write
	maxOpen      int
}

func newWriteConfig(opts []WriteOption) *writeConfig {
	c := &writeConfig{rowGroupRows: DefaultRowGroupSize, codec: Snappy, maxOpen: 64}
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *writeConfig) validate(t reflect.Type) error {
	if c.rowGroupRows <= 0 {
		return fmt.Errorf("RowGroupSize %d is not positive", c.rowGroupRows)
	}
	if c.codec > Gzip {
		return fmt.Errorf("unknown compression %v", c.codec)
	}
	if c.maxOpen <= 0 {
		return fmt.Errorf("MaxOpenFiles %d is not positive", c.maxOpen)
	}
	if c.partFn != nil {
		if c.partKey == "" || strings.ContainsAny(c.partKey, "/=\\") || strings.HasPrefix(c.partKey, ".") || strings.HasPrefix(c.partKey, "_") {
			return fmt.Errorf("PartitionBy key %q is empty or not a plain directory name", c.partKey)
		}
		if want := reflect.FuncOf([]reflect.Type{t}, []reflect.Type{reflect.TypeFor[string]()}, false); reflect.TypeOf(c.partFn) != want {
			return fmt.Errorf("PartitionBy function is %T, want %v", c.partFn, want)
		}
		if c.byWindow && c.partKey == windowKey {
			return fmt.Errorf("PartitionBy key %q is the key of PartitionByWindow", c.partKey)
		}
	}
	return nil
}

// DefaultRowGroupSize is the rows of a row group that Write makes when
// RowGroupSize is not given: small enough that a writer's buffers stay in
// the tens of megabytes for narrow rows, large enough for fast scans.
const DefaultRowGroupSize = 128 << 10

// RowGroupSize sets the rows of each row group (DefaultRowGroupSize if not
// given). Row groups are Read's unit of parallelism and of pruning.
func RowGroupSize(rows int64) WriteOption {
	return func(c *writeConfig) { c.rowGroupRows = rows }
}

// Codec is how Write compresses pages.
type Codec uint8

const (
	Snappy       Codec = iota // the default: fast, and what most writers use
	Zstd                      // smaller files, slower to write
	Uncompressed              // no compression
	Gzip                      // for readers that know nothing else
)

func (c Codec) String() string {
	switch c {
	case Snappy:
		return "snappy"
	case Zstd:
		return "zstd"
	case Uncompressed:
		return "uncompressed"
	case Gzip:
		return "gzip"
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

func (c Codec) codec() compress.Codec {
	switch c {
	case Zstd:
		return &parquet.Zstd
	case Uncompressed:
		return &parquet.Uncompressed
	case Gzip:
		return &parquet.Gzip
	}
	return &parquet.Snappy
}

// Compression sets the page compression (Snappy if not given).
func Compression(c Codec) WriteOption {
	return func(cfg *writeConfig) { cfg.codec = c }
}

// windowKey is the partition key of PartitionByWindow.
const windowKey = "window_start"

// PartitionByWindow writes each element under a directory named by the
// start of its window: dir/window_start=2024-03-05T14:00:00Z/part-00000.parquet
// (RFC 3339, UTC; "global" for the global window).
func PartitionByWindow() WriteOption {
	return func(c *writeConfig) { c.byWindow = true }
}

// PartitionBy writes each element under a directory key=fn(element)
// (escaped as a URL path segment), inside the window directory if
// PartitionByWindow is also given. T is inferred from fn; Write reports a T
// that differs when the pipeline is built. Read turns such directories back
// into the field of T whose column is key.
func PartitionBy[T any](key string, fn func(T) string) WriteOption {
	return func(c *writeConfig) { c.partKey, c.partFn = key, fn }
}

// MaxOpenFiles bounds the part files one shard writer keeps open when
// partitioning (64 if not given). Past it the least recently written file is
// finished, and a later element of its partition starts another part.
func MaxOpenFiles(n int) WriteOption {
	return func(c *writeConfig) { c.maxOpen = n }
}
