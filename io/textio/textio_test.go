package textio_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

func run(t *testing.T, ctx context.Context, p *dataflow.Pipeline, parallelism int) error {
	t.Helper()
	_, err := dataflow.Execute(ctx, direct.New(direct.Options{Parallelism: parallelism}), p)
	return err
}

// lines makes n distinct lines.
func lines(s dataflow.Scope, n int64) dataflow.PCollection[string] {
	seq := transforms.Sequence(s, "Sequence", 0, n)
	return transforms.Map(s, "Format", func(i int64) string { return fmt.Sprintf("line %d", i) }, seq)
}

func wantLines(n int) []string {
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprintf("line %d", i)
	}
	slices.Sort(want)
	return want
}

// readBack reads dir with textio.Read in a pipeline of its own.
func readBack(t *testing.T, pattern string, opts ...textio.ReadOption) []string {
	t.Helper()
	p := dataflow.NewPipeline()
	g := memio.Collect(p.Root(), "Gather", textio.Read(p.Root(), "Read", pattern, opts...))
	if err := run(t, context.Background(), p, 4); err != nil {
		t.Fatalf("read %s: %v", pattern, err)
	}
	out := g.Values()
	slices.Sort(out)
	return out
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func partNames(n int) []string {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("part-%05d.txt", i))
	}
	return names
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 1023, 1024, 1025, 100_000} {
		for _, par := range []int{1, 4} {
			t.Run(fmt.Sprintf("lines=%d/parallelism=%d", n, par), func(t *testing.T) {
				dir := t.TempDir()
				p := dataflow.NewPipeline()
				textio.Write(p.Root(), "Write", dir, lines(p.Root(), int64(n)))
				if err := run(t, context.Background(), p, par); err != nil {
					t.Fatal(err)
				}
				names := listDir(t, dir)
				if len(names) == 0 || len(names) > max(par, 1) || !slices.Equal(names, partNames(len(names))) {
					t.Errorf("output files %v, want part-00000.txt ... (at most %d), nothing else", names, par)
				}
				got := readBack(t, dir)
				if diff := cmp.Diff(wantLines(n), got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("read back (-want +got):\n%.2000s", diff)
				}
				// And with tiny byte ranges.
				if n <= 1025 {
					got = readBack(t, filepath.Join(dir, "part-*.txt"), textio.WithSplitSize(7))
					if !slices.Equal(wantLines(n), got) {
						t.Errorf("read back with 7-byte ranges: %d lines, want %d", len(got), n)
					}
				}
			})
		}
	}
}

func TestWriteOptions(t *testing.T) {
	dir := t.TempDir()
	p := dataflow.NewPipeline()
	textio.Write(p.Root(), "Write", dir, lines(p.Root(), 3), textio.WithPrefix("out"), textio.WithSuffix(".csv.gz"), textio.WithHeader("name"))
	if err := run(t, context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"out-00000.csv.gz"}) {
		t.Errorf("files %v, want [out-00000.csv.gz]", got)
	}
	got := readBack(t, dir)
	want := append(wantLines(3), "name")
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestInvalidOptions(t *testing.T) {
	p := dataflow.NewPipeline()
	in := lines(p.Root(), 3)
	textio.Write(p.Root(), "BadPrefix", t.TempDir(), in, textio.WithPrefix("a/b"))
	textio.Write(p.Root(), "HiddenPrefix", t.TempDir(), in, textio.WithPrefix(".x"))
	textio.Read(p.Root(), "BadPattern", "[", textio.WithSplitSize(1))
	textio.Read(p.Root(), "BadSize", "x", textio.WithSplitSize(0))
	err := p.Err()
	for _, name := range []string{"BadPrefix", "HiddenPrefix", "BadPattern", "BadSize"} {
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) {
			t.Errorf("pipeline error %v does not name %s", err, name)
		}
	}
}

var errBoom = errors.New("boom")

// failAt passes elements through and fails on value n, after the writers
// have received earlier elements.
func failAt(s dataflow.Scope, n int64, in dataflow.PCollection[int64]) dataflow.PCollection[string] {
	return transforms.MapErr(s, "FailAt", func(i int64) (string, error) {
		if i == n {
			return "", errBoom
		}
		return fmt.Sprintf("line %d", i), nil
	}, in)
}

func TestFailedRunLeavesNoOutput(t *testing.T) {
	for _, existing := range []bool{false, true} {
		t.Run(fmt.Sprintf("existing=%t", existing), func(t *testing.T) {
			dir := t.TempDir()
			if existing {
				p := dataflow.NewPipeline()
				textio.Write(p.Root(), "Write", dir, lines(p.Root(), 10))
				if err := run(t, context.Background(), p, 2); err != nil {
					t.Fatal(err)
				}
			}
			before := listDir(t, dir)
			p := dataflow.NewPipeline()
			seq := transforms.Sequence(p.Root(), "Sequence", 0, 50_000)
			textio.Write(p.Root(), "Write", dir, failAt(p.Root(), 40_000, seq))
			err := run(t, context.Background(), p, 4)
			if !errors.Is(err, errBoom) {
				t.Fatalf("run error %v, want %v", err, errBoom)
			}
			if after := listDir(t, dir); !slices.Equal(before, after) {
				t.Errorf("files after the failed run %v, before %v", after, before)
			}
			if existing {
				if got := readBack(t, dir); !slices.Equal(got, wantLines(10)) {
					t.Errorf("the earlier output changed: %d lines", len(got))
				}
			}
		})
	}
}

func TestCancelledRunLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := dataflow.NewPipeline()
	seq := transforms.Sequence(p.Root(), "Sequence", 0, 1_000_000)
	out := transforms.Map(p.Root(), "Format", func(i int64) string {
		if i == 500_000 {
			cancel()
		}
		return fmt.Sprint(i)
	}, seq)
	textio.Write(p.Root(), "Write", dir, out)
	res, err := dataflow.Execute(ctx, direct.New(direct.Options{Parallelism: 4}), p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run error %v, want context.Canceled", err)
	}
	// Execute returns as soon as ctx is done; the run aborts its sinks
	// after that. Wait (without a deadline) for it to end.
	if err := res.Wait(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("run ended with %v, want context.Canceled", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("files after the cancelled run: %v", names)
	}
}

func TestRerunReplaces(t *testing.T) {
	dir := t.TempDir()
	// A file that is not ours stays.
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		n, par int
	}{{50_000, 4}, {50_000, 4}, {5, 1}, {3000, 3}} {
		p := dataflow.NewPipeline()
		textio.Write(p.Root(), "Write", dir, lines(p.Root(), int64(tc.n)))
		if err := run(t, context.Background(), p, tc.par); err != nil {
			t.Fatal(err)
		}
		names := listDir(t, dir)
		parts := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "README" })
		if len(parts) == len(names) || !slices.Equal(parts, partNames(len(parts))) {
			t.Errorf("run %d: files %v", i, names)
		}
		if got := readBack(t, filepath.Join(dir, "part-*")); !slices.Equal(got, wantLines(tc.n)) {
			t.Errorf("run %d: read back %d lines, want %d", i, len(got), tc.n)
		}
	}
}

func TestReadErrorsInPipeline(t *testing.T) {
	pattern := filepath.Join(t.TempDir(), "missing-*.txt")
	p := dataflow.NewPipeline()
	memio.Collect(p.Root(), "Gather", textio.Read(p.Root(), "Read", pattern))
	err := run(t, context.Background(), p, 2)
	if err == nil || !strings.Contains(err.Error(), pattern) {
		t.Errorf("run error %v, want one naming %s", err, pattern)
	}
}

// Example reads a file, counts its lines by first letter and writes the
// counts.
func Example() {
	dir, err := os.MkdirTemp("", "textio-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("apple\navocado\nbanana\r\ncherry"), 0o644); err != nil {
		fmt.Println(err)
		return
	}

	p := dataflow.NewPipeline()
	s := p.Root()
	words := textio.Read(s, "Read", in)
	first := transforms.Map(s, "First", func(w string) string { return w[:1] }, words)
	counts := transforms.CountPerElement(s, "Count", first)
	formatted := transforms.Map(s, "Format", func(kv dataflow.KV[string, int64]) string {
		return fmt.Sprintf("%s: %d", kv.Key, kv.Value)
	}, counts)
	out := filepath.Join(dir, "out")
	textio.Write(s, "Write", out, formatted)
	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{Parallelism: 1}), p); err != nil {
		fmt.Println(err)
		return
	}
	b, err := os.ReadFile(filepath.Join(out, "part-00000.txt"))
	if err != nil {
		fmt.Println(err)
		return
	}
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	slices.Sort(got)
	fmt.Println(strings.Join(got, "\n"))
	// Output:
	// a: 2
	// b: 1
	// c: 1
}
