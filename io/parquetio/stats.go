package parquetio

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Stats counts what Read did. Give one to Read with WithStats and read it
// with Snapshot, during or after the run; a Stats shared by several reads,
// or runs, adds them up.
type Stats struct {
	files           atomic.Int64
	filesPruned     atomic.Int64
	rowGroups       atomic.Int64
	rowGroupsPruned atomic.Int64
	pagesPruned     atomic.Int64
	rowsSkipped     atomic.Int64
	rowsDecoded     atomic.Int64
	rowsFiltered    atomic.Int64
	rowsEmitted     atomic.Int64
	bytesRead       atomic.Int64
	deadLetters     atomic.Int64
}

// StatsSnapshot is the value of a Stats at one moment.
type StatsSnapshot struct {
	// Files is the number of files whose footer was read; FilesPruned the
	// files skipped unopened because their partition directory fails a Where.
	Files, FilesPruned int64
	// RowGroups is the number of row groups in the files read;
	// RowGroupsPruned those skipped by their statistics.
	RowGroups, RowGroupsPruned int64
	// PagesPruned counts the pages of predicate columns that the page index
	// ruled out, and RowsSkipped the rows of surviving row groups not
	// decoded because of them.
	PagesPruned, RowsSkipped int64
	// RowsDecoded counts the rows whose columns were decoded, RowsFiltered
	// those of them dropped by TimeRange or Where, RowsEmitted the elements.
	RowsDecoded, RowsFiltered, RowsEmitted int64
	// BytesRead is what was read from files: footers, indexes and pages.
	BytesRead int64
	// DeadLetters counts the files and row groups sent to DeadLetters.
	DeadLetters int64
}

// Snapshot returns the current counts.
func (s *Stats) Snapshot() StatsSnapshot {
	return StatsSnapshot{
		Files: s.files.Load(), FilesPruned: s.filesPruned.Load(),
		RowGroups: s.rowGroups.Load(), RowGroupsPruned: s.rowGroupsPruned.Load(),
		PagesPruned: s.pagesPruned.Load(), RowsSkipped: s.rowsSkipped.Load(),
		RowsDecoded: s.rowsDecoded.Load(), RowsFiltered: s.rowsFiltered.Load(), RowsEmitted: s.rowsEmitted.Load(),
		BytesRead:   s.bytesRead.Load(),
		DeadLetters: s.deadLetters.Load(),
	}
}

func (s StatsSnapshot) String() string {
	return fmt.Sprintf("files=%d (pruned %d) row_groups=%d (pruned %d) pages_pruned=%d rows_skipped=%d rows_decoded=%d rows_filtered=%d rows_emitted=%d bytes_read=%d dead_letters=%d",
		s.Files, s.FilesPruned, s.RowGroups, s.RowGroupsPruned, s.PagesPruned, s.RowsSkipped, s.RowsDecoded, s.RowsFiltered, s.RowsEmitted, s.BytesRead, s.DeadLetters)
}

// splitCounts are one split's counts, added to Stats in one go so that
// workers do not contend on the shared counters per batch.
type splitCounts struct {
	pagesPruned, rowsSkipped, rowsDecoded, rowsFiltered, rowsEmitted, bytesRead int64
}

func (s *Stats) add(c *splitCounts) {
	if s == nil {
		*c = splitCounts{}
		return
	}
	s.pagesPruned.Add(c.pagesPruned)
	s.rowsSkipped.Add(c.rowsSkipped)
	s.rowsDecoded.Add(c.rowsDecoded)
	s.rowsFiltered.Add(c.rowsFiltered)
	s.rowsEmitted.Add(c.rowsEmitted)
	s.bytesRead.Add(c.bytesRead)
	*c = splitCounts{}
}

// ReadError is a failure to read a file: it names the file and, where they
// apply, the row group (-1 for the whole file) and the column.
type ReadError struct {
	Path     string
	RowGroup int    // -1: the file as a whole (footer, schema)
	Column   string // "" if no one column is at fault
	Err      error
}

func (e *ReadError) Error() string {
	var b strings.Builder
	b.WriteString("parquetio: read ")
	b.WriteString(e.Path)
	if e.RowGroup >= 0 {
		fmt.Fprintf(&b, ": row group %d", e.RowGroup)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ReadError) Unwrap() error { return e.Err }

// DeadLetters collects the input that DeadLetter skipped. It is safe for
// concurrent use; entries accumulate over the runs that use it.
type DeadLetters struct {
	mu struct {
		sync.Mutex
		entries []*ReadError // guarded by mu
	}
}

func (d *DeadLetters) add(e *ReadError) {
	d.mu.Lock()
	d.mu.entries = append(d.mu.entries, e)
	d.mu.Unlock()
}

// All returns the entries, by path and row group.
func (d *DeadLetters) All() []*ReadError {
	d.mu.Lock()
	out := slices.Clone(d.mu.entries)
	d.mu.Unlock()
	slices.SortFunc(out, func(a, b *ReadError) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), cmp.Compare(a.RowGroup, b.RowGroup))
	})
	return out
}

// Len returns the number of entries.
func (d *DeadLetters) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.mu.entries)
}

// String reports the entries, one a line, for a run's report.
func (d *DeadLetters) String() string {
	all := d.All()
	if len(all) == 0 {
		return "parquetio: no dead letters\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "parquetio: %d dead letters (skipped input):\n", len(all))
	for _, e := range all {
		fmt.Fprintf(&b, "  %v\n", e)
	}
	return b.String()
}
