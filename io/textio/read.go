package textio

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Read returns the lines of every file that pattern names (a glob, a file or
// a directory; see the package documentation), as a bounded source that
// runners read in parallel, split by file and by byte range.
func Read(s dataflow.Scope, name string, pattern string, opts ...ReadOption) dataflow.PCollection[string] {
	return read(s, name, pattern, newReadConfig(opts), "textio.Read", readString)
}

// ReadJSON returns the values of T that the lines of every file that
// pattern names hold, one JSON value (encoding/json) per line, as written
// by WriteJSON; the files are found and split as Read does. A line that is
// not a JSON value of T, an empty line included, fails the run with an
// error that names the file and the line number.
func ReadJSON[T any](s dataflow.Scope, name string, pattern string, opts ...ReadOption) dataflow.PCollection[T] {
	return read(s, name, pattern, newReadConfig(opts), "textio.ReadJSON", readJSON[T])
}

func read[T any](s dataflow.Scope, name, pattern string, cfg readConfig, kind string, dec lineDecoder[T]) dataflow.PCollection[T] {
	if err := cfg.validate(); err != nil {
		s.Errorf(name, "textio: %v", err)
		return dataflow.PCollection[T]{}
	}
	if pattern == "" {
		s.Errorf(name, "textio: empty file pattern")
		return dataflow.PCollection[T]{}
	}
	if _, err := filepath.Match(pattern, ""); err != nil {
		s.Errorf(name, "textio: bad file pattern %q: %v", pattern, err)
		return dataflow.PCollection[T]{}
	}
	return dataflow.Read[T](s, name, &patternSource[T]{pattern: pattern, cfg: cfg, kind: kind, decode: dec})
}

// lineDecoder turns a line (without its newline) into an element. The line
// is only valid during the call.
type lineDecoder[T any] func(line []byte) (T, error)

func readString(line []byte) (string, error) { return string(line), nil }

func readJSON[T any](line []byte) (T, error) {
	var v T
	err := json.Unmarshal(line, &v)
	return v, err
}

// patternSource is every file of a pattern; Split resolves the pattern.
type patternSource[T any] struct {
	pattern string
	cfg     readConfig
	kind    string // "textio.Read" or "textio.ReadJSON"
	decode  lineDecoder[T]
}

var (
	_ dataflow.BoundedSource[string] = (*patternSource[string])(nil)
	_ dataflow.BoundedSource[string] = (*rangeSource[string])(nil)
)

func (p *patternSource[T]) String() string { return fmt.Sprintf("%s(%q)", p.kind, p.pattern) }

// Split returns one range source per file, or several for a large
// uncompressed file.
func (p *patternSource[T]) Split(ctx context.Context, desired int) ([]dataflow.BoundedSource[T], error) {
	files, err := expand(p.pattern)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		if p.cfg.compression.of(f.path) == Uncompressed {
			total += f.size
		}
	}
	size := p.cfg.splitSize
	if desired > 1 {
		// Beam's desiredBundleSizeBytes: enough ranges to give every part
		// some work, but none so small that opening it costs more than reading it.
		size = min(size, max(ceilDiv(total, int64(desired)), minAutoSplitSize))
	}
	var out []dataflow.BoundedSource[T]
	for _, f := range files {
		comp := p.cfg.compression.of(f.path)
		if comp != Uncompressed || f.size <= size {
			out = append(out, &rangeSource[T]{path: f.path, start: 0, end: math.MaxInt64, comp: comp, decode: p.decode})
			continue
		}
		for start := int64(0); start < f.size; start += size {
			end := start + size
			if end >= f.size {
				end = math.MaxInt64 // to the end of the file, even if it grew since
			}
			out = append(out, &rangeSource[T]{path: f.path, start: start, end: end, comp: comp, decode: p.decode})
		}
	}
	return out, nil
}

// Read reads every file whole, one after another.
func (p *patternSource[T]) Read(ctx context.Context, out dataflow.Consumer[T]) error {
	files, err := expand(p.pattern)
	if err != nil {
		return err
	}
	b := newBatcher(out)
	for _, f := range files {
		r := rangeSource[T]{path: f.path, start: 0, end: math.MaxInt64, comp: p.cfg.compression.of(f.path), decode: p.decode}
		if err := r.read(ctx, b); err != nil {
			return err
		}
	}
	return b.flush()
}

type fileInfo struct {
	path string
	size int64
}

// expand resolves a pattern: an existing directory is its regular,
// non-hidden files; an existing file is itself; anything else is a glob.
func expand(pattern string) ([]fileInfo, error) {
	var files []fileInfo
	if fi, err := os.Stat(pattern); err == nil {
		if !fi.IsDir() {
			return []fileInfo{{pattern, fi.Size()}}, nil
		}
		entries, err := os.ReadDir(pattern)
		if err != nil {
			return nil, fmt.Errorf("textio: list directory %s: %w", pattern, err)
		}
		for _, e := range entries { // sorted by name
			if n := e.Name(); strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
				continue
			}
			if f, ok, err := regular(filepath.Join(pattern, e.Name())); err != nil {
				return nil, err
			} else if ok {
				files = append(files, f)
			}
		}
	} else {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			return nil, fmt.Errorf("textio: bad file pattern %q: %w", pattern, err)
		}
		slices.Sort(matches)
		for _, m := range matches {
			if f, ok, err := regular(m); err != nil {
				return nil, err
			} else if ok {
				files = append(files, f)
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("textio: no file matches %q", pattern)
	}
	return files, nil
}

// regular stats path (following links) and reports whether it is a regular file.
func regular(path string) (fileInfo, bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) { // removed since it was listed, or a dangling link
			return fileInfo{}, false, nil
		}
		return fileInfo{}, false, fmt.Errorf("textio: %w", err)
	}
	return fileInfo{path, fi.Size()}, fi.Mode().IsRegular(), nil
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// rangeSource is the lines of one file that start in [start, end).
type rangeSource[T any] struct {
	path       string
	start, end int64 // end is math.MaxInt64 for "to the end of the file"
	comp       Compression
	decode     lineDecoder[T]
}

func (r *rangeSource[T]) String() string {
	if r.end == math.MaxInt64 {
		return fmt.Sprintf("textio:%s[%d:]", r.path, r.start)
	}
	return fmt.Sprintf("textio:%s[%d:%d]", r.path, r.start, r.end)
}

// Split returns r: a range is already a split.
func (r *rangeSource[T]) Split(context.Context, int) ([]dataflow.BoundedSource[T], error) {
	return []dataflow.BoundedSource[T]{r}, nil
}

func (r *rangeSource[T]) Read(ctx context.Context, out dataflow.Consumer[T]) error {
	b := newBatcher(out)
	if err := r.read(ctx, b); err != nil {
		return err
	}
	return b.flush()
}

// readBufferSize is the read buffer of one split: large enough that a read
// call costs little next to the lines it brings.
const readBufferSize = 256 << 10

func (r *rangeSource[T]) read(ctx context.Context, b *batcher[T]) error {
	f, err := os.Open(r.path)
	if err != nil {
		return fmt.Errorf("textio: %w", err) // *PathError names the file
	}
	defer f.Close()
	lr := lineReader{path: r.path}
	bufSize := readBufferSize
	if n := r.end - r.start; n < readBufferSize/4 {
		bufSize = 4096 // a small range: most of a large buffer would be read for nothing
	}
	switch r.comp {
	case Gzip:
		if r.start != 0 {
			return fmt.Errorf("textio: %s: a compressed file cannot be read from byte %d", r.path, r.start)
		}
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, readBufferSize))
		if err != nil {
			return fmt.Errorf("textio: read %s at byte 0: %w", r.path, err)
		}
		defer zr.Close()
		lr.r = bufio.NewReaderSize(zr, readBufferSize)
	default:
		if r.start > 0 {
			// Start one byte early: if that byte is the newline, the line at
			// start is this range's first line; otherwise the line that
			// straddles start belongs to the previous range.
			lr.pos = r.start - 1
			if _, err := f.Seek(lr.pos, io.SeekStart); err != nil {
				return fmt.Errorf("textio: seek %s to byte %d: %w", r.path, lr.pos, err)
			}
		}
		lr.r = bufio.NewReaderSize(f, bufSize)
		if r.start > 0 {
			if _, err := lr.next(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	for n := 0; lr.pos < r.end; n++ {
		if n%dataflow.BatchSize == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		start := lr.pos
		line, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := r.decode(line)
		if err != nil {
			return r.decodeError(start, err)
		}
		if err := b.add(v); err != nil {
			return err
		}
	}
	return nil
}

// lineReader splits a stream into lines and tracks the byte offset.
type lineReader struct {
	path    string
	r       *bufio.Reader
	pos     int64  // offset of the next line
	scratch []byte // a line longer than the buffer, put together
}

// next returns the next line without its "\n" or "\r\n", valid until the next
// call, and io.EOF when there is none.
func (lr *lineReader) next() ([]byte, error) {
	line, err := lr.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		lr.scratch = append(lr.scratch[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = lr.r.ReadSlice('\n')
			lr.scratch = append(lr.scratch, line...)
		}
		line = lr.scratch
	}
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("textio: read %s at byte %d: %w", lr.path, lr.pos+int64(len(line)), err)
	}
	if len(line) == 0 {
		return nil, io.EOF
	}
	lr.pos += int64(len(line))
	if line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
		line = bytes.TrimSuffix(line, []byte{'\r'})
	}
	return line, nil
}

// decodeError names the file and the line number of the line at byte
// offset start that did not decode. Ranges do not count lines as they read
// (a range that starts part way through a file does not know how many
// lines precede it), so this counts them from the start of the file, which
// only a failing run pays for.
func (r *rangeSource[T]) decodeError(start int64, err error) error {
	n, cerr := countLines(r.path, r.comp, start)
	if cerr != nil {
		return fmt.Errorf("textio: %s: line at byte %d: %w", r.path, start, err)
	}
	return fmt.Errorf("textio: %s:%d: %w", r.path, n+1, err)
}

// countLines counts the newlines in the first n bytes of the (decompressed)
// file at path.
func countLines(path string, comp Compression, n int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var src io.Reader = f
	if comp == Gzip {
		zr, err := gzip.NewReader(bufio.NewReader(f))
		if err != nil {
			return 0, err
		}
		defer zr.Close()
		src = zr
	}
	br := bufio.NewReaderSize(io.LimitReader(src, n), readBufferSize)
	var lines int64
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			lines++
		}
		if err == io.EOF {
			return lines, nil
		}
		if err != nil && err != bufio.ErrBufferFull {
			return 0, err
		}
	}
}

// batcher turns lines into batches of elements, reusing one batch.
type batcher[T any] struct {
	out   dataflow.Consumer[T]
	batch []dataflow.Elem[T]
}

func newBatcher[T any](out dataflow.Consumer[T]) *batcher[T] {
	return &batcher[T]{out: out, batch: make([]dataflow.Elem[T], 0, dataflow.BatchSize)}
}

func (b *batcher[T]) add(v T) error {
	b.batch = append(b.batch, dataflow.Elem[T]{Value: v, Time: dataflow.MinTime, Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane})
	if len(b.batch) >= dataflow.BatchSize {
		return b.flush()
	}
	return nil
}

func (b *batcher[T]) flush() error {
	if len(b.batch) == 0 {
		return nil
	}
	err := b.out.Consume(b.batch)
	clear(b.batch) // the consumer does not keep the batch; drop the strings for the GC
	b.batch = b.batch[:0]
	return err
}
