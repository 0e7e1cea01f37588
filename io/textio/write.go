package textio

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
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
	write(s, name, dir, in, "textio.Write", ".txt", writeString, opts)
}

// WriteJSON writes the elements of in as JSON lines (encoding/json, one
// object per line) into sharded files in dir, as Write does and with the
// same options, except that the default suffix is ".jsonl" and a header is
// not allowed. ReadJSON reads them back.
func WriteJSON[T any](s dataflow.Scope, name, dir string, in dataflow.PCollection[T], opts ...WriteOption) {
	if newWriteConfig("", opts).hasHeader {
		s.Errorf(name, "textio: WriteJSON cannot write a header: ReadJSON would read it as a record")
		return
	}
	write(s, name, dir, in, "textio.WriteJSON", ".jsonl", writeJSON[T], opts)
}

func write[T any](s dataflow.Scope, name, dir string, in dataflow.PCollection[T], kind, suffix string, enc lineEncoder[T], opts []WriteOption) {
	cfg := newWriteConfig(suffix, opts)
	if err := cfg.validate(); err != nil {
		s.Errorf(name, "textio: %v", err)
		return
	}
	if dir == "" {
		s.Errorf(name, "textio: empty output directory")
		return
	}
	dataflow.Write[T](s, name, newSink(dir, kind, cfg, enc), in)
}

// lineEncoder makes the function that writes one element to bw as one
// line, "\n" included. It is called once per shard writer, so that the
// function can keep state (an encoder, a scratch buffer) across elements.
type lineEncoder[T any] func(bw *bufio.Writer) func(v T) error

func writeString(bw *bufio.Writer) func(string) error {
	return func(v string) error {
		bw.WriteString(v)
		return bw.WriteByte('\n') // bufio keeps the first error
	}
}

func writeJSON[T any](bw *bufio.Writer) func(T) error {
	enc := json.NewEncoder(bw) // Encode ends each value with "\n"
	enc.SetEscapeHTML(false)
	return func(v T) error { return enc.Encode(v) }
}

// tempPrefix starts the name of the temporary directory of a run. The dot
// makes Read skip it when it reads dir.
const tempPrefix = ".sluice-tmp-"

// sink is the two-phase file sink of Write and WriteJSON. In batch runs the
// runner calls Commit or Abort once; in streaming runs, CommitEpoch once per
// checkpoint (see epoch.go).
type sink[T any] struct {
	dir  string
	kind string // "textio.Write" or "textio.WriteJSON"
	cfg  writeConfig
	enc  lineEncoder[T]
	mu   struct {
		sync.Mutex
		tmp  string                  // this sink's temporary directory; "" until the first writer opens
		open map[*writer[T]]struct{} // writers not yet closed, which Abort closes
	}
}

var (
	_ dataflow.Sink[string]   = (*sink[string])(nil)
	_ dataflow.EpochSink      = (*sink[string])(nil)
	_ dataflow.Sink[struct{}] = (*sink[struct{}])(nil)
	_ dataflow.EpochSink      = (*sink[struct{}])(nil)
)

func newSink[T any](dir, kind string, cfg writeConfig, enc lineEncoder[T]) *sink[T] {
	s := &sink[T]{dir: dir, kind: kind, cfg: cfg, enc: enc}
	s.mu.open = map[*writer[T]]struct{}{}
	return s
}

func (s *sink[T]) String() string { return fmt.Sprintf("%s(%s)", s.kind, s.dir) }

// shardFile is what a writer hands to Commit or CommitEpoch: one written
// shard. Its fields are exported for EncodeResult.
type shardFile struct {
	Shard  int
	Staged string // the file's path relative to the output directory
	Lines  int64
}

// tempDirLocked returns the sink's temporary directory, creating it first.
func (s *sink[T]) tempDirLocked() (string, error) {
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
	if err := syncDir(s.dir); err != nil { // the directory entry of tmp; see writer.Close
		return "", err
	}
	s.mu.tmp = tmp
	return tmp, nil
}

// NewWriter opens the file of one shard in the temporary directory.
func (s *sink[T]) NewWriter(ctx context.Context, shard int) (dataflow.SinkWriter[T], error) {
	if shard < 0 {
		return nil, fmt.Errorf("textio: negative shard %d", shard)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp, err := s.tempDirLocked()
	if err != nil {
		return nil, err
	}
	w, err := s.create(filepath.Join(tmp, fmt.Sprintf("%s-%012d%s", s.cfg.prefix, shard, s.cfg.suffix)))
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

func (s *sink[T]) create(path string) (*writer[T], error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("textio: %w", err)
	}
	w := &writer[T]{path: path, f: f}
	var dst io.Writer = f
	if s.cfg.compression() == Gzip {
		w.zw = gzip.NewWriter(f)
		dst = w.zw
	}
	w.bw = bufio.NewWriterSize(dst, writeBufferSize)
	w.line = s.enc(w.bw)
	if s.cfg.hasHeader {
		w.bw.WriteString(s.cfg.header) // errors stay in bw until Flush
		w.bw.WriteByte('\n')
	}
	return w, nil
}

// writer writes one shard. The runner calls it from one goroutine at a time.
type writer[T any] struct {
	sink  *sink[T]
	shard int
	path  string
	f     *os.File
	zw    *gzip.Writer // nil if uncompressed
	bw    *bufio.Writer
	line  func(T) error // writes one line to bw
	lines int64
}

func (w *writer[T]) Write(batch []dataflow.Elem[T]) error {
	for i := range batch {
		if err := w.line(batch[i].Value); err != nil {
			return fmt.Errorf("textio: write %s: %w", w.path, err)
		}
	}
	w.lines += int64(len(batch))
	return nil
}

// Close flushes the shard to stable storage (the pre-commit) and hands it
// to Commit or CommitEpoch.
func (w *writer[T]) Close(ctx context.Context) (any, error) {
	w.sink.mu.Lock()
	delete(w.sink.mu.open, w)
	w.sink.mu.Unlock()
	if err := w.finish(); err != nil {
		return nil, err
	}
	// A checkpoint may name the file from now on, and the streaming runner
	// commits it only after the checkpoint completes: its directory entry
	// must survive a machine crash, not just its bytes.
	if err := syncDir(filepath.Dir(w.path)); err != nil {
		return nil, err
	}
	return w.sink.result(w.shard, w.path, w.lines)
}

// result describes a finished file at path for Commit or CommitEpoch.
func (s *sink[T]) result(shard int, path string, lines int64) (shardFile, error) {
	rel, err := filepath.Rel(s.dir, path)
	if err != nil {
		return shardFile{}, fmt.Errorf("textio: %w", err)
	}
	return shardFile{Shard: shard, Staged: rel, Lines: lines}, nil
}

func (w *writer[T]) finish() error {
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

// shardFiles converts writer results.
func shardFiles(op string, results []any) ([]shardFile, error) {
	parts := make([]shardFile, 0, len(results))
	for _, r := range results {
		sf, ok := r.(shardFile)
		if !ok {
			return nil, fmt.Errorf("textio: %s: unexpected writer result %T", op, r)
		}
		parts = append(parts, sf)
	}
	slices.SortFunc(parts, func(a, b shardFile) int { return a.Shard - b.Shard })
	return parts, nil
}

// Commit moves the shards into dir as part-00000 ... and removes the older
// parts that they do not replace.
func (s *sink[T]) Commit(ctx context.Context, results []any) error {
	if err := ctx.Err(); err != nil {
		return err // the runner aborts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parts, err := shardFiles("commit", results)
	if err != nil {
		return err
	}
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
			sf, err := s.result(0, w.path, 0)
			if err != nil {
				return err
			}
			keep = []shardFile{sf}
		}
	}
	final := make(map[string]bool, len(keep))
	for i, p := range keep {
		name := fmt.Sprintf("%s-%05d%s", s.cfg.prefix, i, s.cfg.suffix)
		final[name] = true
		if err := os.Rename(filepath.Join(s.dir, p.Staged), filepath.Join(s.dir, name)); err != nil {
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
func (s *sink[T]) isPart(name string) bool {
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
func (s *sink[T]) Abort(ctx context.Context, results []any) error {
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

// syncDir makes the entries created or renamed in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("textio: sync: %w", err)
	}
	defer d.Close()
	// Some systems cannot sync a directory (EINVAL); the renames stand anyway.
	if err := d.Sync(); err != nil && !errors.Is(err, errors.ErrUnsupported) && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("textio: sync %s: %w", dir, err)
	}
	return nil
}
