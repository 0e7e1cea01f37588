package parquetio

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// These tests drive Sink as the streaming runner does through
// dataflow.EpochSink: writers per shard (shard = epoch*4096 + worker),
// closed at a checkpoint barrier, results encoded into the checkpoint,
// CommitEpoch once it is complete; after a crash, a new sink on the same
// directory.

var epochT0 = time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)

// epochSink returns a new sink on dir (a new process's, after a crash) as
// the runner sees it.
func epochSink(t *testing.T, dir string) (*Sink[sale], dataflow.EpochSink) {
	t.Helper()
	// One open file per writer: a writer that goes back to a partition
	// writes a second file there, which must get a name of its own.
	s, err := NewSink[sale](dir, PartitionByWindow(), PartitionBy("category", func(x sale) string { return x.Category }), MaxOpenFiles(1))
	if err != nil {
		t.Fatal(err)
	}
	// The runner finds the EpochSink behind the WriteSpec's sink.
	p := dataflow.NewPipeline()
	Write(p.Root(), "Write", dir, transforms.Create(p.Root(), "Rows", sale{}))
	found := false
	for _, tr := range p.Transforms() {
		if ws, ok := tr.Spec.(*dataflow.WriteSpec); ok {
			_, found = dataflow.AsEpochSink(ws.Sink)
		}
	}
	if !found {
		t.Fatal("the sink of parquetio.Write is not an EpochSink")
	}
	return s, s
}

// epochRows is what worker w writes in epoch e: n rows over two hourly
// windows and two categories, alternating so that with one open file the
// writer closes and reopens partitions.
func epochRows(e, w, n int) []dataflow.Elem[sale] {
	var out []dataflow.Elem[sale]
	for i := range n {
		hour := epochT0.Add(time.Duration(i%2) * time.Hour)
		win := dataflow.IntervalWindow(dataflow.FromTime(hour), dataflow.FromTime(hour.Add(time.Hour)))
		out = append(out, dataflow.Elem[sale]{
			Value:  sale{ID: int64(e*1_000_000 + w*1000 + i), Category: []string{"a", "b"}[(i/2)%2]},
			Window: win,
		})
	}
	return out
}

func ids(rows []dataflow.Elem[sale]) []int64 {
	var out []int64
	for _, r := range rows {
		out = append(out, r.Value.ID)
	}
	return out
}

// preCommitEpoch writes epoch e and closes its writers; it returns the
// encoded results and the ids written.
func preCommitEpoch(t *testing.T, s *Sink[sale], es dataflow.EpochSink, e int, perWorker []int) ([][]byte, []int64) {
	t.Helper()
	ctx := context.Background()
	var enc [][]byte
	var all []int64
	for w, n := range perWorker {
		wr, err := s.NewWriter(ctx, e*4096+w)
		if err != nil {
			t.Fatal(err)
		}
		rows := epochRows(e, w, n)
		if err := wr.Write(rows); err != nil {
			t.Fatal(err)
		}
		res, err := wr.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := es.EncodeResult(res)
		if err != nil {
			t.Fatal(err)
		}
		enc = append(enc, b)
		all = append(all, ids(rows)...)
	}
	return enc, all
}

func decodeAll(t *testing.T, es dataflow.EpochSink, enc [][]byte) []any {
	t.Helper()
	var out []any
	for _, b := range enc {
		r, err := es.DecodeResult(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// stagedFiles returns the regular files under dir's hidden directories.
func stagedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if rel, _ := filepath.Rel(dir, p); strings.HasPrefix(rel, ".") {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// readIDs reads dir back through the direct runner.
func readIDs(t *testing.T, dir string) []int64 {
	t.Helper()
	elems, err := readAll[saleOut](t, dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range elems {
		if want := epochT0.Add(time.Duration(e.Value.ID%2) * time.Hour); !e.Value.WindowStart.Equal(want) {
			t.Errorf("row %d read from window %v, want %v", e.Value.ID, e.Value.WindowStart, want)
		}
		out = append(out, e.Value.ID)
	}
	slices.Sort(out)
	return out
}

func sortedIDs(xs ...[]int64) []int64 {
	out := slices.Concat(xs...)
	slices.Sort(out)
	return out
}

func TestEpochCommitsAccumulate(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, es := epochSink(t, dir)
	enc1, ids1 := preCommitEpoch(t, s, es, 1, []int{7, 0})
	if got := visibleFiles(t, dir); len(got) != 0 {
		t.Fatalf("visible before the commit: %v", got)
	}
	if err := es.CommitEpoch(ctx, decodeAll(t, es, enc1)); err != nil {
		t.Fatal(err)
	}
	enc2, ids2 := preCommitEpoch(t, s, es, 2, []int{3, 2})
	if err := es.CommitEpoch(ctx, decodeAll(t, es, enc2)); err != nil {
		t.Fatal(err)
	}
	w0 := "window_start=" + epochT0.Format(time.RFC3339Nano)
	w1 := "window_start=" + epochT0.Add(time.Hour).Format(time.RFC3339Nano)
	want := []string{
		// Epoch 1, worker 0 (shard 4096), rows 0..6: partitions
		// (w0,a) (w1,a) (w0,b) (w1,b) (w0,a) (w1,a) (w0,b), one file each.
		w0 + "/category=a/part-000000004096-00000.parquet",
		w0 + "/category=a/part-000000004096-00004.parquet",
		w0 + "/category=a/part-000000008192-00000.parquet",
		w0 + "/category=a/part-000000008193-00000.parquet",
		w0 + "/category=b/part-000000004096-00002.parquet",
		w0 + "/category=b/part-000000004096-00006.parquet",
		w0 + "/category=b/part-000000008192-00002.parquet",
		w1 + "/category=a/part-000000004096-00001.parquet",
		w1 + "/category=a/part-000000004096-00005.parquet",
		w1 + "/category=a/part-000000008192-00001.parquet",
		w1 + "/category=a/part-000000008193-00001.parquet",
		w1 + "/category=b/part-000000004096-00003.parquet",
	}
	if diff := cmp.Diff(want, visibleFiles(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if staged := stagedFiles(t, dir); len(staged) != 0 {
		t.Errorf("staged files left: %v", staged)
	}
	if diff := cmp.Diff(sortedIDs(ids1, ids2), readIDs(t, dir)); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	for _, enc := range [][][]byte{enc2, enc1} { // idempotent
		if err := es.CommitEpoch(ctx, decodeAll(t, es, enc)); err != nil {
			t.Fatalf("commit again: %v", err)
		}
	}
	if diff := cmp.Diff(want, visibleFiles(t, dir)); diff != "" {
		t.Errorf("files after committing again (-want +got):\n%s", diff)
	}
}

func TestEpochCrashRecovery(t *testing.T) {
	for _, discardFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("discardFirst=%t", discardFirst), func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			// The first process: epoch 1 committed; epoch 2's checkpoint
			// complete and its commit cut short by the crash after the
			// first worker's files; epoch 3 pre-committed by one worker
			// and still being written by another, under no checkpoint.
			s, es := epochSink(t, dir)
			enc1, ids1 := preCommitEpoch(t, s, es, 1, []int{5, 3})
			if err := es.CommitEpoch(ctx, decodeAll(t, es, enc1)); err != nil {
				t.Fatal(err)
			}
			enc2, ids2 := preCommitEpoch(t, s, es, 2, []int{4, 6})
			if err := es.CommitEpoch(ctx, decodeAll(t, es, enc2[:1])); err != nil {
				t.Fatal(err)
			}
			preCommitEpoch(t, s, es, 3, []int{9})
			wr, err := s.NewWriter(ctx, 3*4096+1)
			if err != nil {
				t.Fatal(err)
			}
			if err := wr.Write(epochRows(3, 1, 10)); err != nil {
				t.Fatal(err)
			}
			if len(stagedFiles(t, dir)) == 0 {
				t.Fatal("nothing staged before the crash")
			}

			// The second process restores epoch 2's checkpoint.
			s2, es2 := epochSink(t, dir)
			keep := decodeAll(t, es2, enc2)
			steps := []func() error{
				func() error { return es2.CommitEpoch(ctx, keep) },
				func() error { return es2.DiscardUncommitted(ctx, keep) },
			}
			if discardFirst {
				slices.Reverse(steps)
			}
			for _, step := range steps {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			want := sortedIDs(ids1, ids2)
			if diff := cmp.Diff(want, readIDs(t, dir)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if staged := stagedFiles(t, dir); len(staged) != 0 {
				t.Errorf("staged files left: %v", staged)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, stagingPrefix+"*")); len(m) != 0 {
				t.Errorf("staging directories left: %v", m)
			}

			// The restarted run goes on, under shard numbers of its own.
			enc3, ids3 := preCommitEpoch(t, s2, es2, 5, []int{2})
			if err := es2.CommitEpoch(ctx, decodeAll(t, es2, enc3)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(sortedIDs(ids1, ids2, ids3), readIDs(t, dir)); diff != "" {
				t.Errorf("output after the next epoch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEpochDiscardSparesOpenWriters(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, es := epochSink(t, dir)
	wr, err := s.NewWriter(ctx, 4096)
	if err != nil {
		t.Fatal(err)
	}
	rows := epochRows(1, 0, 3)
	if err := wr.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := es.DiscardUncommitted(ctx, nil); err != nil {
		t.Fatal(err)
	}
	res, err := wr.Close(ctx)
	if err != nil {
		t.Fatalf("close after a discard: %v", err)
	}
	if err := es.CommitEpoch(ctx, []any{res}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(rows), readIDs(t, dir)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEpochCommitMissingFileFails(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, es := epochSink(t, dir)
	enc, _ := preCommitEpoch(t, s, es, 1, []int{2})
	if err := es.DiscardUncommitted(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := es.CommitEpoch(ctx, decodeAll(t, es, enc)); err == nil {
		t.Error("CommitEpoch of files that are gone succeeded")
	}
}

func TestEpochDecodeRejectsForeignPaths(t *testing.T) {
	_, es := epochSink(t, t.TempDir())
	for _, b := range []string{
		`[{"Staged":"../x/.sluice-tmp-1/a.parquet","Shard":1}]`,
		`[{"Staged":"part-00000.parquet","Shard":1}]`,
		`[{"Staged":".sluice-tmp-1/a.parquet","Partition":"../../etc","Shard":1}]`,
		`{}`,
	} {
		if _, err := es.DecodeResult([]byte(b)); err == nil {
			t.Errorf("DecodeResult(%s) succeeded", b)
		}
	}
}
