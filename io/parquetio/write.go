package parquetio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Write writes the elements of in as rows of T into part files under dir
// (created if needed), committed only when the whole run succeeds; see the
// package documentation.
func Write[T any](s dataflow.Scope, name, dir string, in dataflow.PCollection[T], opts ...WriteOption) {
	sink, err := NewSink[T](dir, opts...)
	if err != nil {
		s.Errorf(name, "parquetio: %v", err)
		return
	}
	dataflow.Write[T](s, name, sink, in)
}

// Sink is the two-phase Parquet sink of Write, for runners and for
// programs that drive the phases themselves:
//
//  1. write: NewWriter, then SinkWriter.Write, per shard;
//  2. pre-commit: SinkWriter.Close finishes the shard's files (flushed and
//     synced, still invisible in the staging directory) and returns them as
//     a []PendingFile;
//  3. commit: Commit (or a Committer, given the pending files) moves them into
//     place; Abort removes them instead.
//
// A process that stops between 2 and 3 leaves only the hidden staging
// directory: no visible output.
type Sink[T any] struct {
	dir   string
	cfg   *writeConfig
	keyFn func(T) string
	mu    struct {
		sync.Mutex
		staging string              // the run's staging directory; "" until a writer opens
		open    map[*writer[T]]bool // writers not yet closed, which Abort closes
	}
}

var (
	_ dataflow.Sink[struct{ A int }] = (*Sink[struct{ A int }])(nil)
	_ dataflow.EpochSink             = (*Sink[struct{ A int }])(nil)
)

// NewSink returns the sink that Write uses.
func NewSink[T any](dir string, opts ...WriteOption) (*Sink[T], error) {
	if dir == "" {
		return nil, fmt.Errorf("empty output directory")
	}
	if _, err := layoutOf[T](); err != nil {
		return nil, err
	}
	cfg := newWriteConfig(opts)
	if err := cfg.validate(reflect.TypeFor[T]()); err != nil {
		return nil, err
	}
	s := &Sink[T]{dir: dir, cfg: cfg}
	if cfg.partFn != nil {
		s.keyFn = cfg.partFn.(func(T) string)
	}
	s.mu.open = map[*writer[T]]bool{}
	return s, nil
}

func (s *Sink[T]) String() string { return fmt.Sprintf("parquetio.Write(%s)", s.dir) }

// stagingPrefix starts the name of a run's staging directory. The dot makes
// Read skip it.
const stagingPrefix = ".sluice-tmp-"

func (s *Sink[T]) stagingLocked() (string, error) {
	if s.mu.staging != "" {
		return s.mu.staging, nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return "", fmt.Errorf("parquetio: %w", err)
	}
	tmp, err := os.MkdirTemp(s.dir, stagingPrefix)
	if err != nil {
		return "", fmt.Errorf("parquetio: %w", err)
	}
	s.mu.staging = tmp
	return tmp, nil
}

// PendingFile is a finished part file in a staging directory: written,
// synced, and not yet visible. It is what a shard writer's Close returns
// (as a []PendingFile) and what a Committer commits.
type PendingFile struct {
	Staged    string // path of the file in the staging directory
	Partition string // directory under the output, "" or "window_start=.../key=..."
	Shard     int    // the writer that wrote it
	Seq       int    // its order among the writer's files
	Rows      int64
	Bytes     int64
}

// PendingFiles gathers the pending files of the results of shard writers.
func PendingFiles(results []any) ([]PendingFile, error) {
	var out []PendingFile
	for _, r := range results {
		pf, ok := r.([]PendingFile)
		if !ok {
			return nil, fmt.Errorf("parquetio: unexpected writer result %T", r)
		}
		out = append(out, pf...)
	}
	return out, nil
}

// NewWriter opens the writer of one shard. Its files are created lazily.
func (s *Sink[T]) NewWriter(ctx context.Context, shard int) (dataflow.SinkWriter[T], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	staging, err := s.stagingLocked()
	if err != nil {
		return nil, err
	}
	w := &writer[T]{sink: s, shard: shard, staging: staging, files: map[partKey]*partFile[T]{}}
	s.mu.open[w] = true
	return w, nil
}

// partKey identifies an output partition.
type partKey struct {
	win dataflow.Window
	key string
}

// writer writes one shard. The runner calls it from one goroutine at a time.
type writer[T any] struct {
	sink    *Sink[T]
	shard   int
	staging string
	files   map[partKey]*partFile[T]
	last    *partFile[T] // of lastKey: elements mostly come in runs of one partition
	lastKey partKey
	tick    int64
	seq     int
	done    []PendingFile
}

// partFile is an open part file of one partition.
type partFile[T any] struct {
	rel  string
	path string
	f    *os.File
	w    *parquet.GenericWriter[T]
	rows int64
	buf  []T
	used int64 // tick of the last write, for closing the least recently used
}

// writeChunk is the rows handed to parquet-go at once.
const writeChunk = 1024

func (w *writer[T]) Write(batch []dataflow.Elem[T]) error {
	cfg := w.sink.cfg
	w.tick++
	for i := range batch {
		var k partKey
		if cfg.byWindow {
			k.win = batch[i].Window
		}
		if w.sink.keyFn != nil {
			k.key = w.sink.keyFn(batch[i].Value)
		}
		pf := w.last
		if pf == nil || k != w.lastKey {
			var err error
			if pf, err = w.fileFor(k); err != nil {
				return err
			}
			w.last, w.lastKey = pf, k
		}
		pf.buf = append(pf.buf, batch[i].Value)
		pf.used = w.tick
		if len(pf.buf) >= writeChunk {
			if err := pf.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (pf *partFile[T]) flush() error {
	if len(pf.buf) == 0 {
		return nil
	}
	n, err := pf.w.Write(pf.buf)
	pf.rows += int64(n)
	clear(pf.buf)
	pf.buf = pf.buf[:0]
	if err != nil {
		return fmt.Errorf("parquetio: write %s: %w", pf.path, err)
	}
	return nil
}

// relDir is the partition directory of k.
func (w *writer[T]) relDir(k partKey) string {
	var parts []string
	if w.sink.cfg.byWindow {
		v := "global"
		if !k.win.IsGlobal() {
			v = k.win.Start.Time().Format(time.RFC3339Nano)
		}
		parts = append(parts, windowKey+"="+v)
	}
	if w.sink.keyFn != nil {
		v := url.PathEscape(k.key)
		if k.key == "" {
			v = hiveNull
		}
		parts = append(parts, w.sink.cfg.partKey+"="+v)
	}
	return filepath.Join(parts...)
}

// fileFor returns the open file of partition k, opening one (and closing
// the least recently used past MaxOpenFiles) if needed.
func (w *writer[T]) fileFor(k partKey) (*partFile[T], error) {
	if pf, ok := w.files[k]; ok {
		return pf, nil
	}
	if len(w.files) >= w.sink.cfg.maxOpen {
		var oldK partKey
		var old *partFile[T]
		for k, pf := range w.files {
			if old == nil || pf.used < old.used {
				oldK, old = k, pf
			}
		}
		if err := w.finish(old); err != nil {
			return nil, err
		}
		delete(w.files, oldK)
		w.last = nil
	}
	rel := w.relDir(k)
	dir := filepath.Join(w.staging, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("parquetio: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("shard-%05d-%05d.parquet", w.shard, w.seq))
	w.seq++
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("parquetio: %w", err)
	}
	pf := &partFile[T]{rel: rel, path: path, f: f, w: w.sink.newParquetWriter(f), buf: make([]T, 0, writeChunk)}
	w.files[k] = pf
	return pf, nil
}

func (s *Sink[T]) newParquetWriter(f *os.File) *parquet.GenericWriter[T] {
	return parquet.NewGenericWriter[T](f,
		parquet.Compression(s.cfg.codec.codec()),
		parquet.MaxRowsPerRowGroup(s.cfg.rowGroupRows),
		parquet.CreatedBy("sluice", "", ""),
	)
}

// finish completes a part file: footer, sync, close. It becomes pending.
func (w *writer[T]) finish(pf *partFile[T]) error {
	err := pf.flush()
	if err == nil {
		if err = pf.w.Close(); err != nil {
			err = fmt.Errorf("parquetio: write %s: %w", pf.path, err)
		}
	}
	if err == nil {
		// Commit renames the file into place: its bytes must be on disk
		// first, or a crash after the rename could leave it empty.
		if err = pf.f.Sync(); err != nil {
			err = fmt.Errorf("parquetio: sync %s: %w", pf.path, err)
		}
	}
	var size int64
	if fi, serr := pf.f.Stat(); serr == nil {
		size = fi.Size()
	}
	if cerr := pf.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("parquetio: %w", cerr)
	}
	if err != nil {
		return err
	}
	w.done = append(w.done, PendingFile{Staged: pf.path, Partition: pf.rel, Shard: w.shard, Seq: len(w.done), Rows: pf.rows, Bytes: size})
	return nil
}

// Close finishes the shard's files (the pre-commit) and returns them as a
// []PendingFile.
func (w *writer[T]) Close(ctx context.Context) (any, error) {
	w.sink.mu.Lock()
	delete(w.sink.mu.open, w)
	w.sink.mu.Unlock()
	keys := make([]partKey, 0, len(w.files))
	for k := range w.files {
		keys = append(keys, k)
	}
	// A stable order, so that part numbers do not depend on map iteration.
	slices.SortFunc(keys, func(a, b partKey) int {
		return cmp.Or(cmp.Compare(a.win.Start, b.win.Start), cmp.Compare(a.win.End, b.win.End), strings.Compare(a.key, b.key))
	})
	var errs []error
	for _, k := range keys {
		if err := w.finish(w.files[k]); err != nil {
			errs = append(errs, err)
		}
	}
	clear(w.files)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A checkpoint may name the files from now on, and the streaming
	// runner commits them only after the checkpoint completes: their
	// directory entries, and those of the directories they are in, must
	// survive a machine crash, not just their bytes.
	dirs := map[string]bool{}
	for _, f := range w.done {
		for d := filepath.Dir(f.Staged); ; d = filepath.Dir(d) {
			dirs[d] = true
			if d == w.sink.dir || len(d) <= len(w.sink.dir) {
				break
			}
		}
	}
	if err := syncDirs(dirs); err != nil {
		return nil, err
	}
	return w.done, nil
}

// abort closes the writer's open files; Abort removes them with the staging directory.
func (w *writer[T]) abort() {
	for _, pf := range w.files {
		pf.f.Close()
	}
	clear(w.files)
}

// Commit moves the pending files of the results into the output directory
// as part-00000.parquet, ... in each partition directory, and removes the
// older part files there that this output does not replace.
func (s *Sink[T]) Commit(ctx context.Context, results []any) error {
	if err := ctx.Err(); err != nil {
		return err // the runner aborts
	}
	files, err := PendingFiles(results)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(files) == 0 {
		// An empty output is one empty file, so that it reads back as no rows.
		staging, err := s.stagingLocked()
		if err != nil {
			return err
		}
		path := filepath.Join(staging, "empty.parquet")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("parquetio: %w", err)
		}
		w := &writer[T]{sink: s}
		if err := w.finish(&partFile[T]{path: path, f: f, w: s.newParquetWriter(f)}); err != nil {
			return err
		}
		files = w.done
	}
	if err := (Committer{Dir: s.dir, Replace: true}).Commit(ctx, files); err != nil {
		return err
	}
	if s.mu.staging != "" {
		if err := os.RemoveAll(s.mu.staging); err != nil {
			return fmt.Errorf("parquetio: commit: %w", err)
		}
		s.mu.staging = ""
	}
	return nil
}

// Abort closes the writers still open and removes the staging directory.
func (s *Sink[T]) Abort(ctx context.Context, results []any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.mu.open {
		w.abort() // its files go with the staging directory; the write error, if any, is the run's
	}
	clear(s.mu.open)
	if s.mu.staging == "" {
		return nil
	}
	err := os.RemoveAll(s.mu.staging)
	s.mu.staging = ""
	if err != nil {
		return fmt.Errorf("parquetio: abort: %w", err)
	}
	return nil
}

// Committer makes pending part files visible in Dir: the commit step of
// Write, usable on its own by runners that keep pending files across a
// checkpoint and commit them once it completes.
//
// Commit is idempotent: a file already moved (its staged copy gone, its
// final name present) is skipped, so a commit interrupted by a crash can be
// run again with the same files.
type Committer struct {
	Dir string
	// Replace numbers the files of each partition part-00000.parquet, ...
	// (by shard, then sequence) and removes the older part files under Dir
	// that the commit does not write: batch semantics, where re-running a
	// job replaces its output. Without Replace, Commit adds files under
	// names unique to their staging directory, for outputs that grow by one
	// commit per checkpoint.
	Replace bool
}

// finalNames returns where each file goes, relative to Dir.
func (c Committer) finalNames(files []PendingFile) []string {
	names := make([]string, len(files))
	if !c.Replace {
		for i, f := range files {
			token := strings.TrimPrefix(filepath.Base(stagingRoot(f)), stagingPrefix)
			names[i] = filepath.Join(f.Partition, fmt.Sprintf("part-%s-%05d-%05d.parquet", token, f.Shard, f.Seq))
		}
		return names
	}
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		fa, fb := files[a], files[b]
		return cmp.Or(strings.Compare(fa.Partition, fb.Partition), cmp.Compare(fa.Shard, fb.Shard), cmp.Compare(fa.Seq, fb.Seq))
	})
	n := 0
	for i, j := range order {
		if i > 0 && files[order[i-1]].Partition != files[j].Partition {
			n = 0
		}
		names[j] = filepath.Join(files[j].Partition, fmt.Sprintf("part-%05d.parquet", n))
		n++
	}
	return names
}

// stagingRoot returns the staging directory of a pending file.
func stagingRoot(f PendingFile) string {
	d := filepath.Dir(f.Staged)
	for range strings.Count(filepath.ToSlash(filepath.Clean(f.Partition)), "/") + 1 {
		if f.Partition == "" {
			break
		}
		d = filepath.Dir(d)
	}
	return d
}

// Commit moves files into place.
func (c Committer) Commit(ctx context.Context, files []PendingFile) error {
	names := c.finalNames(files)
	dirs, err := moveIntoPlace(c.Dir, files, names)
	if err != nil {
		return err
	}
	if c.Replace {
		final := map[string]bool{}
		for _, n := range names {
			final[filepath.Clean(n)] = true
		}
		if err := removeOldParts(c.Dir, final); err != nil {
			return err
		}
	}
	return syncDirs(dirs)
}

// moveIntoPlace renames each file to its name under dir, skipping a file
// that an earlier attempt moved (staged copy gone, final name present). It
// returns the directories that need a sync.
func moveIntoPlace(dir string, files []PendingFile, names []string) (map[string]bool, error) {
	dirs := map[string]bool{dir: true}
	for i, f := range files {
		dst := filepath.Join(dir, names[i])
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("parquetio: commit: %w", err)
		}
		if err := os.Rename(f.Staged, dst); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				if _, serr := os.Stat(dst); serr == nil {
					continue // moved by an earlier attempt at this commit
				}
			}
			return nil, fmt.Errorf("parquetio: commit: %w", err)
		}
		dirs[filepath.Dir(dst)] = true
	}
	return dirs, nil
}

func syncDirs(dirs map[string]bool) error {
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// Abort removes the staged files.
func (c Committer) Abort(ctx context.Context, files []PendingFile) error {
	var errs []error
	for _, f := range files {
		if err := os.Remove(f.Staged); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// partName matches the part files that Replace removes.
var partName = regexp.MustCompile(`^part-[0-9]+(-[^/]*)?\.parquet$`)

// removeOldParts removes the part files under dir, in partition directories
// (key=value) only, that are not in keep, then the partition directories
// left empty.
func removeOldParts(dir string, keep map[string]bool) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if hidden(d.Name()) || !strings.Contains(d.Name(), "=") {
				return filepath.SkipDir // not a partition: not ours to clean
			}
			dirs = append(dirs, p)
			return nil
		}
		if keep[rel] || !partName.MatchString(d.Name()) {
			return nil
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("parquetio: commit: remove old output: %w", err)
	}
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first
		os.Remove(dirs[i]) // fails, harmlessly, unless empty
	}
	return nil
}

// syncDir makes the entries created or renamed in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("parquetio: sync: %w", err)
	}
	defer d.Close()
	// Some systems cannot sync a directory (EINVAL); the renames stand anyway.
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("parquetio: sync %s: %w", dir, err)
	}
	return nil
}
