package parquetio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Read returns the rows of the Parquet files that pattern (and Files) name,
// as elements of T: a struct whose fields map to columns by parquet-go's
// struct tags. See the package documentation for what Read promises.
func Read[T any](s dataflow.Scope, name, pattern string, opts ...ReadOption) dataflow.PCollection[T] {
	cfg := newReadConfig(opts)
	if err := cfg.validate(); err != nil {
		s.Errorf(name, "parquetio: %v", err)
		return dataflow.PCollection[T]{}
	}
	var patterns []string
	if pattern != "" {
		patterns = append(patterns, pattern)
	}
	patterns = append(patterns, cfg.more...)
	if len(patterns) == 0 {
		s.Errorf(name, "parquetio: empty file pattern")
		return dataflow.PCollection[T]{}
	}
	for _, p := range patterns {
		if _, err := filepath.Match(p, ""); err != nil {
			s.Errorf(name, "parquetio: bad file pattern %q: %v", p, err)
			return dataflow.PCollection[T]{}
		}
	}
	l, err := layoutOf[T]()
	if err != nil {
		s.Errorf(name, "parquetio: %v", err)
		return dataflow.PCollection[T]{}
	}
	src := &source[T]{patterns: patterns, cfg: cfg, layout: l}
	if cfg.eventTimeFn != nil {
		fn, ok := cfg.eventTimeFn.(func(T) time.Time)
		if !ok {
			s.Errorf(name, "parquetio: EventTime function is %T, want func(%v) time.Time", cfg.eventTimeFn, reflect.TypeFor[T]())
			return dataflow.PCollection[T]{}
		}
		src.etFn = fn
	}
	return dataflow.Read[T](s, name, src)
}

// source is every file of the patterns; Split resolves them.
type source[T any] struct {
	patterns []string
	cfg      *readConfig
	layout   *layout
	etFn     func(T) time.Time
}

var (
	_ dataflow.BoundedSource[int] = (*source[int])(nil)
	_ dataflow.BoundedSource[int] = (*split[int])(nil)
	_ dataflow.SizedSource        = (*split[int])(nil)
)

func (s *source[T]) String() string { return fmt.Sprintf("parquetio.Read(%q)", s.patterns) }

// openedFile is a file whose footer has been read.
type openedFile struct {
	fileEntry
	pf   *parquet.File // its reader is closed: splits read through their own
	bind *fileBinding
	err  *ReadError // the file cannot be read
}

// minSplitRows is the smallest row range Split makes on its own: smaller
// ranges cost more in seeking and opening than they gain in parallelism.
const minSplitRows = 64 << 10

// footerParallelism bounds the footers read at once by Split: enough to hide
// the latency of a slow disk, few enough to leave file descriptors.
const footerParallelism = 8

// Split reads every file's footer and returns a split per row group that
// survives pruning, or per row range of a large one.
func (s *source[T]) Split(ctx context.Context, desired int) ([]dataflow.BoundedSource[T], error) {
	files, err := expand(s.patterns)
	if err != nil {
		return nil, err
	}
	st := s.cfg.stats
	opened := make([]*openedFile, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(footerParallelism)
	for i, f := range files {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			of, err := s.open(f)
			opened[i] = of
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	type cand struct {
		of   *openedFile
		rg   int
		rows int64
	}
	var cands []cand
	var total int64
	for _, of := range opened {
		if of == nil { // pruned by its partition directory
			if st != nil {
				st.filesPruned.Add(1)
			}
			continue
		}
		if of.err != nil {
			if err := s.deadLetter(of.err); err != nil {
				return nil, err
			}
			continue
		}
		rgs := of.pf.RowGroups()
		if st != nil {
			st.files.Add(1)
			st.rowGroups.Add(int64(len(rgs)))
		}
		for i, rg := range rgs {
			if of.bind.dropFile || !s.keepRowGroup(of.bind, rg) {
				if st != nil {
					st.rowGroupsPruned.Add(1)
				}
				continue
			}
			if n := rg.NumRows(); n > 0 {
				cands = append(cands, cand{of, i, n})
				total += n
			}
		}
	}
	limit := s.cfg.splitRows
	if limit == 0 {
		limit = max(ceilDiv(total, int64(max(desired, 1))), minSplitRows)
	}
	var out []dataflow.BoundedSource[T]
	for _, c := range cands {
		parts := int64(1)
		if c.rows > limit && hasOffsetIndex(c.of, c.rg) {
			parts = ceilDiv(c.rows, limit)
		}
		step := ceilDiv(c.rows, parts)
		for lo := int64(0); lo < c.rows; lo += step {
			sp := &split[T]{src: s, of: c.of, rg: c.rg, lo: lo, hi: min(lo+step, c.rows)}
			sp.bytes = sp.estimate()
			out = append(out, sp)
		}
	}
	return out, nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// deadLetter records a bad file, or returns its error if there is no DeadLetter.
func (s *source[T]) deadLetter(e *ReadError) error {
	if s.cfg.dead == nil {
		return e
	}
	s.cfg.dead.add(e)
	if s.cfg.stats != nil {
		s.cfg.stats.deadLetters.Add(1)
	}
	return nil
}

// open reads a file's footer and binds T to its schema. It returns nil if
// a Where on a partition key rules the file out, and an openedFile with err
// set if the file is bad.
func (s *source[T]) open(f fileEntry) (*openedFile, error) {
	for _, p := range s.cfg.preds {
		if v, ok := f.parts.get(p.Column); ok {
			m, err := partitionMatches(p, v)
			if err != nil {
				return &openedFile{fileEntry: f, err: &ReadError{Path: f.path, RowGroup: -1, Column: p.Column, Err: err}}, nil
			}
			if !m {
				return nil, nil
			}
		}
	}
	of := &openedFile{fileEntry: f}
	fail := func(column string, err error) (*openedFile, error) {
		of.err = &ReadError{Path: f.path, RowGroup: -1, Column: column, Err: err}
		return of, nil
	}
	file, err := os.Open(f.path)
	if err != nil {
		return nil, fmt.Errorf("parquetio: %w", err) // not bad data: fail the run
	}
	defer file.Close()
	cr := &countingReaderAt{r: file}
	pf, err := openFile(cr, f.size)
	if s.cfg.stats != nil {
		s.cfg.stats.bytesRead.Add(cr.n.Load())
	}
	if err != nil {
		return fail("", err)
	}
	of.pf = pf
	b, err := s.layout.bind(pf.Schema(), f.parts, s.cfg)
	if err != nil {
		var be *bindError
		if errors.As(err, &be) {
			return fail(be.column, be.err)
		}
		return fail("", err)
	}
	of.bind = b
	return of, nil
}

// openFile reads the footer; parquet-go may panic on a damaged one.
func openFile(r io.ReaderAt, size int64) (pf *parquet.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: footer: %v", errCorrupt, p)
		}
	}()
	pf, err = parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("not a readable Parquet file: %w", err)
	}
	return pf, nil
}

// keepRowGroup reports whether a row group may hold rows that pass the
// time range and the predicates, by its column statistics.
func (s *source[T]) keepRowGroup(b *fileBinding, rg parquet.RowGroup) bool {
	chunks := rg.ColumnChunks()
	if ts := b.ts; ts != nil && s.cfg.hasRange && ts.millis != nil {
		cc := chunks[ts.col].(*parquet.FileColumnChunk)
		if min, max, ok := cc.Bounds(); ok {
			if ts.millis(max) < ceilMillis(s.cfg.from) || ts.millis(min) >= ceilMillis(s.cfg.to) {
				return false
			}
		}
	}
	for _, pb := range b.preds {
		cc := chunks[pb.col].(*parquet.FileColumnChunk)
		if n := cc.NumValues(); n > 0 && cc.NullCount() == n {
			return false // only nulls, which match nothing
		}
		if min, max, ok := cc.Bounds(); ok && !pb.statsMayMatch(min, max) {
			return false
		}
	}
	return true
}

// hasOffsetIndex reports whether every column that reading the row group
// decodes has an offset index, so that a split can start mid-row-group.
func hasOffsetIndex(of *openedFile, rg int) bool {
	cols := of.pf.Metadata().RowGroups[rg].Columns
	for _, c := range of.bind.projected() {
		if cols[c].OffsetIndexOffset == 0 {
			return false
		}
	}
	return true
}

// Read reads every split, one after another.
func (s *source[T]) Read(ctx context.Context, out dataflow.Consumer[T]) error {
	splits, err := s.Split(ctx, 1)
	if err != nil {
		return err
	}
	for _, sp := range splits {
		if err := sp.Read(ctx, out); err != nil {
			return err
		}
	}
	return nil
}

// split is rows [lo, hi) of one row group.
type split[T any] struct {
	src    *source[T]
	of     *openedFile
	rg     int
	lo, hi int64
	bytes  int64
}

func (sp *split[T]) String() string {
	return fmt.Sprintf("parquetio:%s[row group %d, rows %d:%d]", sp.of.path, sp.rg, sp.lo, sp.hi)
}

// Split returns sp: a split is already a split.
func (sp *split[T]) Split(context.Context, int) ([]dataflow.BoundedSource[T], error) {
	return []dataflow.BoundedSource[T]{sp}, nil
}

// EstimatedBytes is the compressed size of the columns the split decodes.
func (sp *split[T]) EstimatedBytes() int64 { return sp.bytes }

// SourceFile names the file the split reads, for progress reports.
func (sp *split[T]) SourceFile() string { return sp.of.path }

func (sp *split[T]) estimate() int64 {
	md := sp.of.pf.Metadata().RowGroups[sp.rg]
	var n int64
	for _, c := range sp.of.bind.projected() {
		n += md.Columns[c].MetaData.TotalCompressedSize
	}
	if md.NumRows > 0 {
		n = n * (sp.hi - sp.lo) / md.NumRows
	}
	return n
}

// Read decodes the split into out. A ReadError goes to the DeadLetters if
// there are some; errors of out pass through.
func (sp *split[T]) Read(ctx context.Context, out dataflow.Consumer[T]) error {
	r := &rgReader[T]{sp: sp, cfg: sp.src.cfg, b: sp.of.bind}
	err := r.run(ctx, out)
	if err == nil {
		return nil
	}
	var re *ReadError
	if errors.As(err, &re) && ctx.Err() == nil {
		return sp.src.deadLetter(re)
	}
	return err
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// rowGroupAt is a row group of a file read through another reader than the
// one it was opened with (which Split closed): for GenericReader.
type rowGroupAt struct {
	*parquet.FileRowGroup
	r io.ReaderAt
}

func (g *rowGroupAt) ColumnChunks() []parquet.ColumnChunk {
	cs := g.FileRowGroup.ColumnChunks()
	out := make([]parquet.ColumnChunk, len(cs))
	for i, c := range cs {
		out[i] = &chunkAt{FileColumnChunk: c.(*parquet.FileColumnChunk), r: g.r}
	}
	return out
}

func (g *rowGroupAt) Rows() parquet.Rows { return parquet.NewRowGroupRowReader(g) }

type chunkAt struct {
	*parquet.FileColumnChunk
	r io.ReaderAt
}

func (c *chunkAt) Pages() parquet.Pages { return c.PagesFrom(c.r) }

func (c *chunkAt) ColumnIndex() (parquet.ColumnIndex, error) {
	ci, err := c.ColumnIndexFrom(c.r)
	if err != nil {
		return nil, err
	}
	return ci, nil
}

func (c *chunkAt) OffsetIndex() (parquet.OffsetIndex, error) {
	oi, err := c.OffsetIndexFrom(c.r)
	if err != nil {
		return nil, err
	}
	return oi, nil
}

func (c *chunkAt) BloomFilter() parquet.BloomFilter { return nil }

func typeName[T any]() string { return reflect.TypeFor[T]().String() }
