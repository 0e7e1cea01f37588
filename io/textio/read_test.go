package textio

import (
	"bytes"
	"compress/gzip"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// These tests drive the sources directly, as a runner would: Split, then
// Read every part.

// wantLines is the reference splitting of content into lines.
func wantLines(content string) []string {
	if content == "" {
		return nil
	}
	lines := strings.Split(content, "\n")
	if strings.HasSuffix(content, "\n") {
		lines = lines[:len(lines)-1]
	}
	for i := range lines {
		if i < len(lines)-1 || strings.HasSuffix(content, "\n") {
			lines[i] = strings.TrimSuffix(lines[i], "\r")
		}
	}
	return lines
}

// collect is a Consumer that keeps copies of what it receives and checks the
// batch contract.
type collect struct {
	t     *testing.T
	lines []string
}

func (c *collect) Consume(b []dataflow.Elem[string]) error {
	c.t.Helper()
	if len(b) == 0 || len(b) > dataflow.BatchSize {
		c.t.Errorf("batch of %d elements", len(b))
	}
	for _, e := range b {
		if e.Time != dataflow.MinTime || e.Window != dataflow.GlobalWindow || e.Pane != dataflow.NoFiringPane {
			c.t.Errorf("element %q has time %v window %v pane %v", e.Value, e.Time, e.Window, e.Pane)
		}
		c.lines = append(c.lines, e.Value)
	}
	return nil
}

// readSplits splits src into parts and reads them in order.
func readSplits(t *testing.T, src dataflow.BoundedSource[string], desired int) ([]string, int) {
	t.Helper()
	ctx := context.Background()
	parts, err := src.Split(ctx, desired)
	if err != nil {
		t.Fatalf("Split: %v", err)
	}
	c := &collect{t: t}
	for _, p := range parts {
		if err := p.Read(ctx, c); err != nil {
			t.Fatalf("Read %v: %v", p, err)
		}
	}
	return c.lines, len(parts)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var splitCases = []struct {
	name, content string
}{
	{"empty", ""},
	{"one newline", "\n"},
	{"newlines", "\n\n\n"},
	{"one line no newline", "hello"},
	{"one line", "hello\n"},
	{"trailing newline", "alpha\nbeta\ngamma\ndelta\nepsilon\n"},
	{"no trailing newline", "alpha\nbeta\ngamma\ndelta\nepsilon"},
	{"crlf", "alpha\r\nbeta\r\n\r\ngamma\r\ndelta"},
	{"crlf trailing", "alpha\r\nbeta\r\n\r\ngamma\r\ndelta\r\n"},
	{"lone cr kept", "a\rb\nc\r"},
	{"empty lines", "a\n\n\nb\n\n"},
	{"long and short", strings.Repeat("x", 40) + "\n" + "y\n" + strings.Repeat("z", 17) + "\nw"},
	{"utf8", "grüße\nκόσμε\n日本語\n"},
}

func TestSplitReadsEveryLineOnce(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range splitCases {
		path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
		writeFile(t, path, tc.content)
		want := wantLines(tc.content)
		for size := int64(1); size <= int64(len(tc.content))+1; size++ {
			src := lineSource(path, newReadConfig([]ReadOption{WithSplitSize(size)}))
			got, parts := readSplits(t, src, 1)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("case %d %q, split size %d (%d parts): lines differ (-want +got):\n%s", i, tc.name, size, parts, diff)
			}
		}
		// The unsplit source reads the same.
		src := lineSource(path, newReadConfig(nil))
		c := &collect{t: t}
		if err := src.Read(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, c.lines); diff != "" {
			t.Errorf("case %q unsplit: lines differ (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestSplitSevenBytes is the brief's case: ranges of 7 bytes over lines of
// every length around 7, with and without \r\n and a final newline.
func TestSplitSevenBytes(t *testing.T) {
	var b strings.Builder
	for n := range 20 {
		b.WriteString(strings.Repeat(string(rune('a'+n)), n))
		if n%3 == 0 {
			b.WriteString("\r\n")
		} else {
			b.WriteString("\n")
		}
	}
	for _, content := range []string{b.String(), strings.TrimSuffix(b.String(), "\n")} {
		path := filepath.Join(t.TempDir(), "seven.txt")
		writeFile(t, path, content)
		src := lineSource(path, newReadConfig([]ReadOption{WithSplitSize(7)}))
		got, parts := readSplits(t, src, 4)
		if want := (len(content) + 6) / 7; parts != want {
			t.Errorf("%d parts, want %d", parts, want)
		}
		if diff := cmp.Diff(wantLines(content), got); diff != "" {
			t.Errorf("lines differ (-want +got):\n%s", diff)
		}
	}
}

func TestSplitRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	alphabet := "ab\n\r"
	for i := range 200 {
		buf := make([]byte, rng.IntN(64))
		for j := range buf {
			buf[j] = alphabet[rng.IntN(len(alphabet))]
		}
		content := string(buf)
		path := filepath.Join(dir, "random.txt")
		writeFile(t, path, content)
		size := int64(1 + rng.IntN(16))
		src := lineSource(path, newReadConfig([]ReadOption{WithSplitSize(size)}))
		got, _ := readSplits(t, src, 1)
		if diff := cmp.Diff(wantLines(content), got); diff != "" {
			t.Fatalf("seed %d, iteration %d, content %q, split size %d: lines differ (-want +got):\n%s", seed, i, content, size, diff)
		}
	}
}

func TestLongLines(t *testing.T) {
	// Lines longer than the read buffer, across split boundaries.
	long := strings.Repeat("L", readBufferSize+12345)
	content := "short\n" + long + "\n" + long + "\r\nend"
	path := filepath.Join(t.TempDir(), "long.txt")
	writeFile(t, path, content)
	for _, size := range []int64{50000, readBufferSize / 3, readBufferSize, DefaultSplitSize} {
		src := lineSource(path, newReadConfig([]ReadOption{WithSplitSize(size)}))
		got, _ := readSplits(t, src, 1)
		if diff := cmp.Diff(wantLines(content), got); diff != "" {
			t.Errorf("split size %d: lines differ (-want +got):\n%.500s", size, diff)
		}
	}
}

func TestSplitDesired(t *testing.T) {
	dir := t.TempDir()
	// 3 MiB in lines of 100 bytes: the runner asks for 16 parts; ranges do
	// not go below 1 MiB.
	line := strings.Repeat("x", 99) + "\n"
	content := strings.Repeat(line, 3<<20/len(line))
	writeFile(t, filepath.Join(dir, "big.txt"), content)
	writeFile(t, filepath.Join(dir, "small.txt"), "one\ntwo\n")
	src := lineSource(dir, newReadConfig(nil))
	got, parts := readSplits(t, src, 16)
	if parts != 4 { // 3 ranges of big.txt, and small.txt
		t.Errorf("%d parts, want 4", parts)
	}
	if want := len(wantLines(content)) + 2; len(got) != want {
		t.Errorf("%d lines, want %d", len(got), want)
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.txt", "a.txt", "c.log", ".hidden", "_SUCCESS"} {
		writeFile(t, filepath.Join(dir, n), n+"\n")
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub", "d.txt"), "d.txt\n")
	for _, tc := range []struct {
		pattern string
		want    []string
	}{
		{dir, []string{"a.txt", "b.txt", "c.log"}},
		{filepath.Join(dir, "*.txt"), []string{"a.txt", "b.txt"}},
		{filepath.Join(dir, "*", "*.txt"), []string{"d.txt"}},
		{filepath.Join(dir, "c.log"), []string{"c.log"}},
		{filepath.Join(dir, ".hidden"), []string{".hidden"}}, // named explicitly
	} {
		got, _ := readSplits(t, lineSource(tc.pattern, newReadConfig(nil)), 8)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("pattern %q: (-want +got):\n%s", tc.pattern, diff)
		}
	}
}

func TestNoMatchNamesPattern(t *testing.T) {
	pattern := filepath.Join(t.TempDir(), "nothing-*.txt")
	src := lineSource(pattern, newReadConfig(nil))
	_, err := src.Split(context.Background(), 4)
	if err == nil || !strings.Contains(err.Error(), pattern) {
		t.Errorf("Split error %v, want one naming %q", err, pattern)
	}
	err = src.Read(context.Background(), &collect{t: t})
	if err == nil || !strings.Contains(err.Error(), pattern) {
		t.Errorf("Read error %v, want one naming %q", err, pattern)
	}
	// An empty directory matches nothing too.
	empty := t.TempDir()
	if _, err := lineSource(empty, newReadConfig(nil)).Split(context.Background(), 1); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("Split of an empty directory: error %v, want one naming it", err)
	}
}

func gzipBytes(t *testing.T, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzip(t *testing.T) {
	dir := t.TempDir()
	content := "one\r\ntwo\nthree"
	if err := os.WriteFile(filepath.Join(dir, "a.txt.gz"), gzipBytes(t, content), 0o644); err != nil {
		t.Fatal(err)
	}
	// Compressed files are one split each, whatever the split size.
	src := lineSource(dir, newReadConfig([]ReadOption{WithSplitSize(2)}))
	got, parts := readSplits(t, src, 8)
	if parts != 1 {
		t.Errorf("%d parts, want 1", parts)
	}
	if diff := cmp.Diff(wantLines(content), got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Without the extension, by option.
	if err := os.Rename(filepath.Join(dir, "a.txt.gz"), filepath.Join(dir, "a.z")); err != nil {
		t.Fatal(err)
	}
	src = lineSource(dir, newReadConfig([]ReadOption{WithCompression(Gzip)}))
	got, _ = readSplits(t, src, 8)
	if diff := cmp.Diff(wantLines(content), got); diff != "" {
		t.Errorf("WithCompression(Gzip): (-want +got):\n%s", diff)
	}
}

func TestReadErrorNamesFileAndOffset(t *testing.T) {
	dir := t.TempDir()
	content := strings.Repeat("some line of text\n", 10000)
	z := gzipBytes(t, content)
	path := filepath.Join(dir, "truncated.txt.gz")
	if err := os.WriteFile(path, z[:len(z)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	src := lineSource(path, newReadConfig(nil))
	parts, err := src.Split(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	err = parts[0].Read(context.Background(), &collect{t: t})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "at byte ") {
		t.Errorf("error %v, want one naming %s and a byte offset", err, path)
	}
	t.Logf("error: %v", err)
}

func TestReadCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "many.txt")
	writeFile(t, path, strings.Repeat("x\n", 10*dataflow.BatchSize))
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := lineSource(path, newReadConfig(nil)).Read(ctx, dataflow.ConsumerFunc[string](func(b []dataflow.Elem[string]) error {
		n += len(b)
		cancel()
		return nil
	}))
	if err != context.Canceled {
		t.Errorf("error %v after %d lines, want context.Canceled", err, n)
	}
}

// lineSource is the source of Read.
func lineSource(pattern string, cfg readConfig) *patternSource[string] {
	return &patternSource[string]{pattern: pattern, cfg: cfg, kind: "textio.Read", decode: readString}
}
