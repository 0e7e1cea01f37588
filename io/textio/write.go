package textio

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Write writes the elements of in, one per line, into sharded files in dir
// (created if needed), committed only when the whole run succeeds; see the
// package documentation.
func Write(s dataflow.Scope, name, dir string, in dataflow.PCollection[string], opts ...WriteOption) {
	cfg := newWriteConfig(opts)
	if err := cfg.validate(); err != nil {
		s.Errorf(name, "textio: %v", err)
		return
	}
	if dir == "" {
		s.Errorf(name, "textio: empty output directory")
		return
	}
	dataflow.Write[string](s, name, newSink(dir, cfg), in)
}

// tempPrefix starts the name of the temporary directory of a run. The dot
// makes Read skip it when it reads dir.
const tempPrefix = ".sluice-tmp-"

// sink is the two-phase file sink of Write.
type sink struct {
	dir string
	cfg writeConfig
	mu  struct {
		sync.Mutex
		tmp  string               // the run's temporary directory; "" until the first writer opens
		open map[*writer]struct{} // writers not yet closed, which Abort closes
	}
}

var _ dataflow.Sink[string] = (*sink)(nil)

func newSink(dir string, cfg writeConfig) *sink {
	s := &sink{dir: dir, cfg: cfg}
	s.mu.open = map[*writer]struct{}{}
	return s
}

func (s *sink) String() string { return fmt.Sprintf("textio.Write(%s)", s.dir) }

// shardFile is what a writer hands to Commit: one written shard.
type shardFile struct {
	Shard int
	Path  string
	Lines int64
}

// tempDirLocked returns the run's temporary directory, creating it first.
func (s *sink) tempDirLocked() (string, error) {
	if s.mu.tmp != "" {
		return s.mu.tmp, nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return "", fmt.Errorf("textio: %w", err)
	}
	tmp, err := os.MkdirTemp(s.dir, tempPrefix)
	if err != nil {
		return "", fmt.Errorf("textio: %w", err)
	}
	s.mu.tmp = tmp
	return tmp, nil
}

// NewWriter opens the file of one shard in the temporary directory.
func (s *sink) NewWriter(ctx context.Context, shard int) (dataflow.SinkWriter[string], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp, err := s.tempDirLocked()
	if err != nil {
		return nil, err
	}
	w, err := s.create(filepath.Join(tmp, fmt.Sprintf("part-%05d%s", shard, s.cfg.suffix)))
	if err != nil {
		return nil, err
	}
	w.shard = shard
	s.mu.open[w] = struct{}{}
	w.sink = s
	return w, nil
}

// writeBufferSize is the write buffer of one shard, so that a write call
// carries many lines.
const writeBufferSize = 256 << 10

func (s *sink) create(path string) (*writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("textio: %w", err)
	}
	w := &writer{path: path, f: f}
	var dst io.Writer = f
	if s.cfg.compression() == Gzip {
		w.zw = gzip.NewWriter(f)
		dst = w.zw
	}
	w.bw = bufio.NewWriterSize(dst, writeBufferSize)
	if s.cfg.hasHeader {
		w.bw.WriteString(s.cfg.header) // errors stay in bw until Flush
		w.bw.WriteByte('\n')
	}
	return w, nil
}

// writer writes one shard. The runner calls it from one goroutine at a time.
type writer struct {
	sink  *sink
	shard int
	path  string
	f     *os.File
	zw    *gzip.Writer // nil if uncompressed
	bw    *bufio.Writer
	lines int64
}

func (w *writer) Write(batch []dataflow.Elem[string]) error {
	for i := range batch {
		w.bw.WriteString(batch[i].Value)
		if err := w.bw.WriteByte('\n'); err != nil { // bufio keeps the first error
			return fmt.Errorf("textio: write %s: %w", w.path, err)
		}
	}
	w.lines += int64(len(batch))
	return nil
}

// Close flushes the shard to stable storage and hands it to Commit.
func (w *writer) Close(ctx context.Context) (any, error) {
	w.sink.mu.Lock()
	delete(w.sink.mu.open, w)
	w.sink.mu.Unlock()
	if err := w.finish(); err != nil {
		return nil, err
	}
	return shardFile{Shard: w.shard, Path: w.path, Lines: w.lines}, nil
}

func (w *writer) finish() error {
	err := w.bw.Flush()
	if w.zw != nil && err == nil {
		err = w.zw.Close()
	}
	if err == nil {
		// Commit renames the file into place: its bytes must be on disk
		// first, or a crash after the rename could leave it empty.
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("textio: write %s: %w", w.path, err)
	}
	return nil
}

// Commit moves the shards into dir as part-00000 ... and removes the older
// parts that they do not replace.
func (s *sink) Commit(ctx context.Context, results []any) error {
	if err := ctx.Err(); err != nil {
		return err // the runner aborts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := make([]shardFile, 0, len(results))
	for _, r := range results {
		sf, ok := r.(shardFile)
		if !ok {
			return fmt.Errorf("textio: commit: unexpected writer result %T", r)
		}
		parts = append(parts, sf)
	}
	slices.SortFunc(parts, func(a, b shardFile) int { return a.Shard - b.Shard })
	keep := slices.DeleteFunc(slices.Clone(parts), func(p shardFile) bool { return p.Lines == 0 })
	if len(keep) == 0 {
		// An empty output is one empty file, so that it reads back as no lines.
		if len(parts) > 0 {
			keep = parts[:1]
		} else {
			tmp, err := s.tempDirLocked()
			if err != nil {
				return err
			}
			w, err := s.create(filepath.Join(tmp, "part-empty"+s.cfg.suffix))
			if err != nil {
				return err
			}
			if err := w.finish(); err != nil {
				return err
			}
			keep = []shardFile{{Path: w.path}}
		}
	}
	final := make(map[string]bool, len(keep))
	for i, p := range keep {
		name := fmt.Sprintf("%s-%05d%s", s.cfg.prefix, i, s.cfg.suffix)
		final[name] = true
		if err := os.Rename(p.Path, filepath.Join(s.dir, name)); err != nil {
			return fmt.Errorf("textio: commit: %w", err)
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("textio: commit: list %s: %w", s.dir, err)
	}
	for _, e := range entries {
		if n := e.Name(); !final[n] && s.isPart(n) && !e.IsDir() {
			if err := os.Remove(filepath.Join(s.dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("textio: commit: remove old output: %w", err)
			}
		}
	}
	if err := os.RemoveAll(s.mu.tmp); err != nil {
		return fmt.Errorf("textio: commit: %w", err)
	}
	s.mu.tmp = ""
	return syncDir(s.dir)
}

// isPart reports whether name is a shard of this sink's naming:
// prefix-<digits>suffix.
func (s *sink) isPart(name string) bool {
	mid, ok := strings.CutPrefix(name, s.cfg.prefix+"-")
	if !ok {
		return false
	}
	mid, ok = strings.CutSuffix(mid, s.cfg.suffix)
	if !ok || mid == "" {
		return false
	}
	_, err := strconv.ParseUint(mid, 10, 64)
	return err == nil
}

// Abort closes the writers still open and removes the temporary directory.
func (s *sink) Abort(ctx context.Context, results []any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.mu.open {
		w.f.Close() // its file is removed below; the write error, if any, is the run's
	}
	clear(s.mu.open)
	if s.mu.tmp == "" {
		return nil
	}
	err := os.RemoveAll(s.mu.tmp)
	s.mu.tmp = ""
	if err != nil {
		return fmt.Errorf("textio: abort: %w", err)
	}
	return nil
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("textio: commit: %w", err)
	}
	defer d.Close()
	// Some systems cannot sync a directory (EINVAL); the renames stand anyway.
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("textio: commit: sync %s: %w", dir, err)
	}
	return nil
}
