package parquetio

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// wideRow has a column of most kinds, nulls and a nested group.
type wideRow struct {
	ID    int64     `parquet:"id"`
	Name  string    `parquet:"name,dict"`
	Score *float64  `parquet:"score"`
	When  time.Time `parquet:"when,timestamp(millisecond)"`
	Raw   []byte    `parquet:"raw"`
	OK    bool      `parquet:"ok"`
	Small int32     `parquet:"small"`
	Inner struct {
		A uint16 `parquet:"a"`
		B string `parquet:"b"`
	} `parquet:"inner"`
}

func makeWide(i int64) wideRow {
	r := wideRow{ID: i, Name: fmt.Sprint("n", i%13), When: time.UnixMilli(1700000000000 + i*997).UTC(), Raw: []byte(strings.Repeat("x", int(i%5))), OK: i%3 == 0, Small: int32(-i)}
	if i%4 != 0 {
		s := float64(i) / 3
		r.Score = &s
	}
	if len(r.Raw) == 0 {
		r.Raw = nil
	}
	r.Inner.A, r.Inner.B = uint16(i), fmt.Sprint("b", i)
	return r
}

// visibleFiles lists the non-hidden files under dir, relative to it.
func visibleFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && hidden(d.Name()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// writeRows writes rows through a pipeline (spread over the workers by a Reshuffle).
func writeRows[T any](t testing.TB, dir string, rows []T, opts ...WriteOption) error {
	t.Helper()
	p := dataflow.NewPipeline()
	s := p.Root()
	in := dataflow.Reshuffle(s, "Spread", transforms.Create(s, "Rows", rows...))
	Write(s, "Write", dir, in, opts...)
	return runPipeline(t, p, 2)
}

func TestRoundTripSizes(t *testing.T) {
	for _, n := range []int64{0, 1, 1023, 1024, 1025, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir := t.TempDir()
			var rows []wideRow
			for i := range n {
				rows = append(rows, makeWide(i))
			}
			if err := writeRows(t, dir, rows, RowGroupSize(1024), Compression(Zstd)); err != nil {
				t.Fatal(err)
			}
			files := visibleFiles(t, dir)
			if len(files) == 0 {
				t.Fatal("no part file")
			}
			var groups int
			for i, f := range files {
				if want := fmt.Sprintf("part-%05d.parquet", i); f != want {
					t.Fatalf("files %v, want part-00000.parquet ... without gaps", files)
				}
				pf := openForTest(t, filepath.Join(dir, f))
				for _, rg := range pf.RowGroups() {
					groups++
					if rg.NumRows() > 1024 {
						t.Fatalf("%s has a row group of %d rows, more than RowGroupSize", f, rg.NumRows())
					}
				}
			}
			if n > 0 && int64(groups) < (n+1023)/1024 {
				t.Fatalf("%d row groups for %d rows of groups of 1024", groups, n)
			}
			for _, generic := range []bool{false, true} {
				var opts []ReadOption
				if generic {
					opts = append(opts, forceGeneric())
				}
				elems, err := readAll[wideRow](t, dir, 2, opts...)
				if err != nil {
					t.Fatal(err)
				}
				got := sortedBy(values(elems), func(r wideRow) int64 { return r.ID })
				if diff := cmp.Diff(rows, got, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("generic=%t (-want +got):\n%s", generic, diff)
				}
			}
		})
	}
}

func openForTest(t testing.TB, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, _ := f.Stat()
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

type sale struct {
	ID       int64  `parquet:"id"`
	Category string `parquet:"category"`
	Cents    int64  `parquet:"cents"`
}

// saleOut is what reading a window- and category-partitioned output gives:
// window_start comes from the directory names.
type saleOut struct {
	WindowStart time.Time `parquet:"window_start"`
	ID          int64     `parquet:"id"`
	Category    string    `parquet:"category"`
	Cents       int64     `parquet:"cents"`
}

func TestWritePartitioned(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	var in []transforms.Timestamped[sale]
	cats := []string{"books", "toys", "a/b c"}
	for i := range int64(600) {
		in = append(in, transforms.Timestamped[sale]{
			Value: sale{ID: i, Category: cats[i%3], Cents: i},
			Time:  dataflow.FromTime(t0.Add(time.Duration(i) * 30 * time.Second)), // 5 hours
		})
	}
	p := dataflow.NewPipeline()
	s := p.Root()
	rows := dataflow.Reshuffle(s, "Spread", transforms.CreateTimestamped(s, "Sales", in))
	hourly := dataflow.WindowInto(s, "Hourly", dataflow.Fixed(time.Hour), rows)
	Write(s, "Write", dir, hourly, PartitionByWindow(), PartitionBy("category", func(x sale) string { return x.Category }), MaxOpenFiles(4))
	if err := runPipeline(t, p, 2); err != nil {
		t.Fatal(err)
	}
	files := visibleFiles(t, dir)
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(f)] = true
		if !strings.HasPrefix(filepath.Base(f), "part-") {
			t.Fatalf("unexpected file %s", f)
		}
	}
	if len(dirs) != 15 {
		t.Fatalf("%d partition directories, want 5 hours x 3 categories: %v", len(dirs), files)
	}
	if !dirs["window_start=2024-03-05T02:00:00Z/category=a%2Fb%20c"] {
		t.Fatalf("no directory for hour 2 and category a/b c: %v", files)
	}
	elems, err := readAll[saleOut](t, dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := sortedBy(values(elems), func(r saleOut) int64 { return r.ID })
	if len(got) != 600 {
		t.Fatalf("read %d rows", len(got))
	}
	for i, r := range got {
		want := saleOut{WindowStart: t0.Add(time.Duration(i/120) * time.Hour), ID: int64(i), Category: cats[i%3], Cents: int64(i)}
		if r != want {
			t.Fatalf("row %d: got %+v, want %+v", i, r, want)
		}
	}
	// A Where on a partition key prunes files unopened.
	var st Stats
	elems, err = readAll[saleOut](t, dir, 2, Where("category", Eq, "toys"), Where("window_start", Ge, t0.Add(3*time.Hour)), WithStats(&st))
	if err != nil {
		t.Fatal(err)
	}
	if len(elems) != 80 {
		t.Fatalf("read %d toys from hours 3 and 4, want 80", len(elems))
	}
	var toys int64
	for _, f := range files {
		if strings.Contains(f, "category=toys") && (strings.Contains(f, "T03:") || strings.Contains(f, "T04:")) {
			toys++
		}
	}
	if snap := st.Snapshot(); snap.Files != toys || snap.FilesPruned != int64(len(files))-toys {
		t.Fatalf("stats %v: want the %d files of toys in hours 3 and 4 read and the rest pruned", snap, toys)
	}
}

func TestRerunReplacesOutput(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	var rows []sale
	for i := range int64(1000) {
		rows = append(rows, sale{ID: i, Category: []string{"x", "y"}[i%2]})
	}
	key := PartitionBy("category", func(s sale) string { return s.Category })
	if err := writeRows(t, dir, rows, key, RowGroupSize(100)); err != nil {
		t.Fatal(err)
	}
	first := visibleFiles(t, dir)
	if err := writeRows(t, dir, rows[:10:10], key); err != nil { // x and y again, fewer files
		t.Fatal(err)
	}
	if err := writeRows(t, dir, []sale{{ID: 1, Category: "y"}}, key); err != nil { // only y
		t.Fatal(err)
	}
	got := visibleFiles(t, dir)
	if want := []string{"README", "category=y/part-00000.parquet"}; !slices.Equal(got, want) {
		t.Fatalf("after re-runs: %v, want %v (first run wrote %v)", got, want, first)
	}
	elems, err := readAll[sale](t, filepath.Join(dir, "category=y"), 1)
	if err != nil || len(elems) != 1 {
		t.Fatalf("read back %v, %v", elems, err)
	}
}

// failAfter is a DoFn that fails on element n.
func failAfter[T any](n int) dataflow.DoFn[T, T] {
	return dataflow.DoFnFunc[T, T](func(c *dataflow.Context, v T, emit dataflow.Emitter[T]) error {
		if any(v).(sale).ID == int64(n) {
			return errors.New("injected failure")
		}
		emit.Emit(v)
		return nil
	})
}

func TestFailedRunLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	var rows []sale
	for i := range int64(5000) {
		rows = append(rows, sale{ID: i, Category: "c"})
	}
	if err := writeRows(t, dir, rows[:10]); err != nil { // an earlier output, which must survive
		t.Fatal(err)
	}
	before := visibleFiles(t, dir)
	p := dataflow.NewPipeline()
	s := p.Root()
	in := dataflow.Reshuffle(s, "Spread", transforms.Create(s, "Rows", rows...))
	Write(s, "Write", dir, dataflow.ParDo(s, "Fail", failAfter[sale](4000), in))
	err := runPipeline(t, p, 2)
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("run: %v, want the injected failure", err)
	}
	if got := visibleFiles(t, dir); !slices.Equal(got, before) {
		t.Fatalf("after a failed run: %v, want the earlier output %v", got, before)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stagingPrefix) {
			t.Fatalf("staging directory %s left behind", e.Name())
		}
	}
	elems, err := readAll[sale](t, dir, 1)
	if err != nil || len(elems) != 10 {
		t.Fatalf("earlier output: %d rows, %v", len(elems), err)
	}
}

func TestCancelledRunLeavesNoOutput(t *testing.T) {
	dir := t.TempDir()
	var rows []sale
	for i := range int64(20000) {
		rows = append(rows, sale{ID: i, Category: "c"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := dataflow.NewPipeline()
	s := p.Root()
	in := dataflow.Reshuffle(s, "Spread", transforms.Create(s, "Rows", rows...))
	slow := dataflow.ParDo(s, "Cancel", dataflow.DoFnFunc[sale, sale](func(c *dataflow.Context, v sale, emit dataflow.Emitter[sale]) error {
		if v.ID == 10000 {
			cancel()
		}
		emit.Emit(v)
		return nil
	}), in)
	Write(s, "Write", dir, slow)
	_, err := dataflow.Execute(ctx, newRunner(), p)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v, want context.Canceled", err)
	}
	if got := visibleFiles(t, dir); len(got) != 0 {
		t.Fatalf("a cancelled run left %v", got)
	}
}

// TestCrashBetweenPreCommitAndCommit drives the phases by hand: files that
// were written and pre-committed but never committed are invisible, and
// committing them later (twice, as a restarted committer might) makes them
// visible once.
func TestCrashBetweenPreCommitAndCommit(t *testing.T) {
	dir := t.TempDir()
	sink, err := NewSink[sale](dir, PartitionBy("category", func(s sale) string { return s.Category }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var results []any
	for shard := range 2 {
		w, err := sink.NewWriter(ctx, shard)
		if err != nil {
			t.Fatal(err)
		}
		var batch []dataflow.Elem[sale]
		for i := range int64(300) {
			batch = append(batch, dataflow.Elem[sale]{Value: sale{ID: int64(shard)*1000 + i, Category: []string{"a", "b"}[i%2]}, Window: dataflow.GlobalWindow})
		}
		if err := w.Write(batch); err != nil {
			t.Fatal(err)
		}
		res, err := w.Close(ctx) // pre-commit
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}
	// The process dies here.
	if got := visibleFiles(t, dir); len(got) != 0 {
		t.Fatalf("pre-committed output is visible: %v", got)
	}
	if _, err := readAll[sale](t, dir, 1); err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Fatalf("reading the output before commit: %v, want no file", err)
	}
	// A restarted job commits the pending files it recorded.
	files, err := PendingFiles(results)
	if err != nil {
		t.Fatal(err)
	}
	c := Committer{Dir: dir, Replace: true}
	for range 2 { // idempotent
		if err := c.Commit(ctx, files); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"category=a/part-00000.parquet", "category=a/part-00001.parquet", "category=b/part-00000.parquet", "category=b/part-00001.parquet"}
	if got := visibleFiles(t, dir); !slices.Equal(got, want) {
		t.Fatalf("after commit: %v, want %v", got, want)
	}
	elems, err := readAll[sale](t, dir, 2)
	if err != nil || len(elems) != 600 {
		t.Fatalf("read %d rows, %v", len(elems), err)
	}
}

func TestAppendCommitter(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for round := range 3 { // one commit per checkpoint
		sink, err := NewSink[sale](dir)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := sink.NewWriter(ctx, 0)
		if err := w.Write([]dataflow.Elem[sale]{{Value: sale{ID: int64(round)}}}); err != nil {
			t.Fatal(err)
		}
		res, err := w.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := PendingFiles([]any{res})
		if err := (Committer{Dir: dir}).Commit(ctx, files); err != nil {
			t.Fatal(err)
		}
	}
	if got := visibleFiles(t, dir); len(got) != 3 {
		t.Fatalf("after 3 appending commits: %v", got)
	}
	elems, err := readAll[sale](t, dir, 1)
	if err != nil || len(elems) != 3 {
		t.Fatalf("read %d rows, %v", len(elems), err)
	}
}

func TestWriteOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opts []WriteOption
		want string
	}{
		{[]WriteOption{RowGroupSize(0)}, "RowGroupSize"},
		{[]WriteOption{PartitionBy("k", func(wideRow) string { return "" })}, "PartitionBy function"},
		{[]WriteOption{PartitionBy("a/b", func(sale) string { return "" })}, "plain directory name"},
		{[]WriteOption{Compression(Codec(9))}, "compression"},
	} {
		p := dataflow.NewPipeline()
		s := p.Root()
		Write(s, "Write", t.TempDir(), transforms.Create(s, "Rows", sale{}), tc.opts...)
		if err := p.Err(); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Write") {
			t.Errorf("Write(%d options): %v, want an error naming the transform and %q", len(tc.opts), err, tc.want)
		}
	}
}
