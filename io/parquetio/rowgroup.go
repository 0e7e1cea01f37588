package parquetio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// rowRange is rows [lo, hi) of a row group.
type rowRange struct{ lo, hi int64 }

// colPlan is one column of the file that a split decodes, and everything it
// feeds: fields of T, predicates, the event time. Each column is decoded
// once per batch, whatever uses it.
type colPlan struct {
	c      *colReader
	fields []int // indexes into fileBinding.fields
	preds  []*predBinding
	ts     bool
}

// filter reports whether the column is needed to decide which rows to keep.
func (p *colPlan) filter() bool { return p.ts || len(p.preds) > 0 }

// rgReader reads one split: the columnar decoder, or GenericReader.
type rgReader[T any] struct {
	sp  *split[T]
	cfg *readConfig
	b   *fileBinding
	cr  *countingReaderAt
	rg  *parquet.FileRowGroup

	plans   []*colPlan // filter columns first
	nfilter int        // plans[:nfilter] are filter columns
	sets    []setFunc  // per b.fields
	sc      *scratch
	tsBuf   []int64
	keep    []bool
	batch   []dataflow.Elem[T]
	fromMs  int64
	toMs    int64
	counts  splitCounts
	cur     string // the column being decoded, for errors

	gr   *parquet.GenericReader[T] // with GenericReader
	rows []T
}

func (r *rgReader[T]) fail(err error) *ReadError {
	return &ReadError{Path: r.sp.of.path, RowGroup: r.sp.rg, Column: r.cur, Err: err}
}

func (r *rgReader[T]) run(ctx context.Context, out dataflow.Consumer[T]) error {
	sp := r.sp
	f, err := os.Open(sp.of.path)
	if err != nil {
		return fmt.Errorf("parquetio: %w", err)
	}
	defer f.Close()
	r.cr = &countingReaderAt{r: f}
	defer func() {
		r.counts.bytesRead = r.cr.n.Load()
		r.cfg.stats.add(&r.counts)
	}()
	r.rg = sp.of.pf.RowGroups()[sp.rg].(*parquet.FileRowGroup)
	defer r.close()
	if err := r.guard(r.open); err != nil {
		return err
	}
	var ranges []rowRange
	if err := r.guard(func() (err error) { ranges, err = r.pageRanges(); return err }); err != nil {
		return err
	}
	for i, rr := range ranges {
		if err := r.guard(func() error { return r.seek(rr.lo, i == 0) }); err != nil {
			return err
		}
		for pos, nb := rr.lo, 0; pos < rr.hi; nb++ {
			if nb%16 == 0 { // ctx.Err takes a lock: not every batch
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			k := int(min(int64(len(r.batch)), rr.hi-pos))
			var n int
			if err := r.guard(func() (err error) { n, err = r.decode(k); return err }); err != nil {
				return err
			}
			if n > 0 {
				if err := out.Consume(r.batch[:n]); err != nil {
					return err
				}
			}
			pos += int64(k)
		}
	}
	return nil
}

// guard runs a decoding step, turning its errors and panics (parquet-go
// panics on some damaged pages) into a ReadError that names the column.
func (r *rgReader[T]) guard(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = r.fail(fmt.Errorf("%w: decoder panicked: %v\n%s", errCorrupt, p, debug.Stack()))
		}
	}()
	if err := f(); err != nil {
		var re *ReadError
		if errors.As(err, &re) {
			return err
		}
		return r.fail(err)
	}
	r.cur = ""
	return nil
}

func (r *rgReader[T]) chunk(col int) *parquet.FileColumnChunk {
	return r.rg.ColumnChunks()[col].(*parquet.FileColumnChunk)
}

// open plans the columns and creates their readers (and the GenericReader).
func (r *rgReader[T]) open() error {
	b := r.b
	n := dataflow.BatchSize
	r.batch = make([]dataflow.Elem[T], n)
	r.keep = make([]bool, n)
	r.tsBuf = make([]int64, n)
	r.sc = newScratch(n)
	if r.cfg.hasRange {
		r.fromMs, r.toMs = ceilMillis(r.cfg.from), ceilMillis(r.cfg.to)
	}
	byCol := map[int]*colPlan{}
	plan := func(col int, name string, ct colType, maxDef int) *colPlan {
		p := byCol[col]
		if p == nil {
			p = &colPlan{c: newColReader(r.chunk(col), r.cr, name, ct, maxDef)}
			byCol[col] = p
			r.plans = append(r.plans, p)
		}
		return p
	}
	if b.ts != nil {
		plan(b.ts.col, b.ts.name, b.ts.ct, b.ts.maxDef).ts = true
	}
	for _, pb := range b.preds {
		p := plan(pb.col, pb.p.Column, pb.ct, pb.maxDef)
		p.preds = append(p.preds, pb)
	}
	if b.fast {
		r.sets = make([]setFunc, len(b.fields))
		for i, fb := range b.fields {
			if fb.col < 0 || fb.part != nil {
				continue
			}
			r.sets[i] = setterFor(fb.f, fb.ct)
			if r.sets[i] == nil {
				return fmt.Errorf("internal error: no decoder for %s from %v", fb.f.goName, fb.ct)
			}
			p := plan(fb.col, fb.f.column, fb.ct, fb.maxDef)
			p.fields = append(p.fields, i)
		}
	} else {
		r.rows = make([]T, n)
		gr, err := newGenericReader[T](&rowGroupAt{FileRowGroup: r.rg, r: r.cr})
		if err != nil {
			return err
		}
		r.gr = gr
	}
	// Filter columns first, so that a batch with nothing to keep skips the rest.
	var filter, rest []*colPlan
	for _, p := range r.plans {
		if p.filter() {
			filter = append(filter, p)
		} else {
			rest = append(rest, p)
		}
	}
	r.plans, r.nfilter = append(filter, rest...), len(filter)
	return nil
}

func newGenericReader[T any](g parquet.RowGroup) (gr *parquet.GenericReader[T], err error) {
	defer func() {
		if p := recover(); p != nil { // parquet-go panics when it cannot convert a schema
			err = fmt.Errorf("cannot convert the file's schema to %v: %v", typeName[T](), p)
		}
	}()
	return parquet.NewGenericRowGroupReader[T](g), nil
}

func (r *rgReader[T]) close() {
	for _, p := range r.plans {
		p.c.close()
	}
	if r.gr != nil {
		r.gr.Close()
	}
}

// seek positions every reader at row.
func (r *rgReader[T]) seek(row int64, first bool) error {
	if first && row == 0 {
		return nil
	}
	for _, p := range r.plans {
		r.cur = p.c.name
		if err := p.c.seek(row); err != nil {
			return err
		}
	}
	r.cur = ""
	if r.gr != nil {
		if row > 0 {
			for _, cc := range r.rg.ColumnChunks() { // let the pages jump, not decode their way
				if _, err := cc.(*parquet.FileColumnChunk).OffsetIndexFrom(r.cr); err != nil && !errors.Is(err, parquet.ErrMissingOffsetIndex) {
					return err
				}
			}
		}
		return r.gr.SeekToRow(row)
	}
	return nil
}

// pageRanges returns the row ranges of the split that the page indexes of
// the predicate and event-time columns leave.
func (r *rgReader[T]) pageRanges() ([]rowRange, error) {
	sp := r.sp
	ranges := []rowRange{{sp.lo, sp.hi}}
	md := sp.of.pf.Metadata().RowGroups[sp.rg]
	prune := func(col int, name string, keepPage func(ci parquet.ColumnIndex, p int) bool) error {
		if c := md.Columns[col]; c.ColumnIndexOffset == 0 || c.OffsetIndexOffset == 0 {
			return nil
		}
		r.cur = name
		cc := r.chunk(col)
		ci, err := cc.ColumnIndexFrom(r.cr)
		if err != nil {
			return fmt.Errorf("read column index: %w", err)
		}
		oi, err := cc.OffsetIndexFrom(r.cr)
		if err != nil {
			return fmt.Errorf("read offset index: %w", err)
		}
		np := ci.NumPages()
		if np != oi.NumPages() {
			return nil // inconsistent: do not trust it
		}
		var keep []rowRange
		for p := range np {
			lo, hi := oi.FirstRowIndex(p), md.NumRows
			if p+1 < np {
				hi = oi.FirstRowIndex(p + 1)
			}
			if hi <= sp.lo || lo >= sp.hi {
				continue
			}
			if !keepPage(ci, p) {
				r.counts.pagesPruned++
				continue
			}
			if n := len(keep); n > 0 && keep[n-1].hi == lo {
				keep[n-1].hi = hi
			} else {
				keep = append(keep, rowRange{lo, hi})
			}
		}
		ranges = intersect(ranges, keep)
		return nil
	}
	if ts := r.b.ts; ts != nil && r.cfg.hasRange && ts.millis != nil {
		from, to := r.fromMs, r.toMs
		err := prune(ts.col, ts.name, func(ci parquet.ColumnIndex, p int) bool {
			return !ci.NullPage(p) && ts.millis(ci.MaxValue(p)) >= from && ts.millis(ci.MinValue(p)) < to
		})
		if err != nil {
			return nil, err
		}
	}
	for _, pb := range r.b.preds {
		err := prune(pb.col, pb.p.Column, func(ci parquet.ColumnIndex, p int) bool {
			return !ci.NullPage(p) && pb.statsMayMatch(ci.MinValue(p), ci.MaxValue(p))
		})
		if err != nil {
			return nil, err
		}
	}
	var kept int64
	for _, rr := range ranges {
		kept += rr.hi - rr.lo
	}
	r.counts.rowsSkipped += (sp.hi - sp.lo) - kept
	r.cur = ""
	return ranges, nil
}

// intersect returns the rows in both sorted, disjoint range lists.
func intersect(a, b []rowRange) []rowRange {
	var out []rowRange
	for i, j := 0, 0; i < len(a) && j < len(b); {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo < hi {
			out = append(out, rowRange{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// decode reads the next k rows into r.batch and returns how many of them
// pass the filters, compacted to the front.
func (r *rgReader[T]) decode(k int) (int, error) {
	cfg, b := r.cfg, r.b
	batch := r.batch[:k]
	keep := r.keep[:k]
	filtering := len(b.preds) > 0 || cfg.hasRange
	if filtering {
		for i := range keep {
			keep[i] = true
		}
	}
	if b.needClear {
		clear(batch)
	}
	base := unsafe.Pointer(&batch[0].Value)
	for _, p := range r.plans[:r.nfilter] {
		if err := r.decodeColumn(p, batch, base, keep); err != nil {
			return 0, err
		}
	}
	if r.b.ts != nil && cfg.hasRange {
		for i, t := range r.tsBuf[:k] {
			keep[i] = keep[i] && t >= r.fromMs && t < r.toMs
		}
	}
	etFn := r.sp.src.etFn
	if filtering && etFn == nil && !anyTrue(keep) {
		// Nothing to emit: move past the rows without decoding them.
		for _, p := range r.plans[r.nfilter:] {
			r.cur = p.c.name
			if err := p.c.skip(k); err != nil {
				return 0, err
			}
		}
		if r.gr != nil {
			if err := r.readGeneric(batch, true); err != nil {
				return 0, err
			}
		}
		r.counts.rowsFiltered += int64(k)
		return 0, nil
	}
	for _, p := range r.plans[r.nfilter:] {
		if err := r.decodeColumn(p, batch, base, keep); err != nil {
			return 0, err
		}
	}
	if r.gr != nil {
		if err := r.readGeneric(batch, false); err != nil {
			return 0, err
		}
	}
	for _, fb := range b.partFields {
		for i := range batch {
			fb.part.set(fb.f.at(unsafe.Pointer(&batch[i].Value)))
		}
	}
	if err := r.setTimes(batch, keep, filtering); err != nil {
		return 0, err
	}
	n := k
	if filtering {
		n = 0
		for i := range batch {
			if keep[i] {
				if n != i {
					batch[n] = batch[i]
				}
				n++
			}
		}
	}
	r.counts.rowsDecoded += int64(k)
	r.counts.rowsFiltered += int64(k - n)
	r.counts.rowsEmitted += int64(n)
	return n, nil
}

func anyTrue(b []bool) bool {
	for _, v := range b {
		if v {
			return true
		}
	}
	return false
}

// decodeColumn decodes the next len(batch) rows of one column into what it
// feeds: predicates (into keep), the event times (into r.tsBuf) and fields
// of T (into batch, whose first value is at base).
func (r *rgReader[T]) decodeColumn(p *colPlan, batch []dataflow.Elem[T], base unsafe.Pointer, keep []bool) error {
	c := p.c
	r.cur = c.name
	stride := unsafe.Sizeof(batch[0])
	err := c.each(len(batch), func(off, m int) error {
		for _, pb := range p.preds {
			if err := pb.evalRun(c, keep[off:off+m], off, r.sc); err != nil {
				return err
			}
		}
		if p.ts {
			if err := r.b.ts.set(c, unsafe.Pointer(&r.tsBuf[off]), 8, m); err != nil {
				return err
			}
			if c.defs != nil {
				for i := range m {
					if !c.present(i) {
						return fmt.Errorf("row %d has no event time (null)", c.next+int64(i))
					}
				}
			}
		}
		for _, i := range p.fields {
			fb := &r.b.fields[i]
			if err := r.sets[i](c, at(unsafe.Add(base, fb.f.offset), off, stride), stride, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.cur = ""
	return nil
}

// setTimes gives the batch its timestamps, window and pane.
func (r *rgReader[T]) setTimes(batch []dataflow.Elem[T], keep []bool, filtering bool) error {
	gw, np := dataflow.GlobalWindow, dataflow.NoFiringPane
	switch fn := r.sp.src.etFn; {
	case r.b.ts != nil:
		for i, t := range r.tsBuf[:len(batch)] {
			e := &batch[i]
			e.Time, e.Window, e.Pane = dataflow.EventTime(t), gw, np
			if e.Time < dataflow.MinTime || e.Time > dataflow.MaxTime {
				if filtering && !keep[i] {
					continue
				}
				return fmt.Errorf("event time %d ms is outside the range of event time", t)
			}
		}
	case fn != nil:
		for i := range batch {
			e := &batch[i]
			ms := fn(e.Value).UnixMilli()
			e.Time, e.Window, e.Pane = dataflow.EventTime(ms), gw, np
			if r.cfg.hasRange {
				keep[i] = keep[i] && ms >= r.fromMs && ms < r.toMs
			}
			if e.Time < dataflow.MinTime || e.Time > dataflow.MaxTime {
				if filtering && !keep[i] {
					continue
				}
				return fmt.Errorf("event time %d ms is outside the range of event time", ms)
			}
		}
	default:
		for i := range batch {
			e := &batch[i]
			e.Time, e.Window, e.Pane = dataflow.MinTime, gw, np
		}
	}
	return nil
}

// readGeneric reads len(batch) rows through the GenericReader into batch,
// or past them if skip.
func (r *rgReader[T]) readGeneric(batch []dataflow.Elem[T], skip bool) error {
	rows := r.rows[:len(batch)]
	clear(rows) // GenericReader reuses what it finds: start from zero values
	for got := 0; got < len(rows); {
		n, err := r.gr.Read(rows[got:])
		got += n
		if err != nil && (err != io.EOF || got < len(rows)) {
			if err == io.EOF {
				err = fmt.Errorf("%w: the row group ends early", errCorrupt)
			}
			return err
		}
		if n == 0 && err == nil {
			return fmt.Errorf("%w: reader made no progress", errCorrupt)
		}
	}
	if !skip {
		for i := range batch {
			batch[i].Value = rows[i]
		}
	}
	clear(rows)
	return nil
}
