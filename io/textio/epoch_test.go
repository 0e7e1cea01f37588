package textio_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
)

// These tests drive the sink of Write as the streaming runner does: writers
// per shard (shard = epoch*4096 + worker), closed at a checkpoint barrier,
// their results encoded into the checkpoint, CommitEpoch once it is
// complete; and after a crash, a new process's sink on the same directory.

// streamingSink builds a pipeline that writes to dir and returns its sink,
// as a runner finds it; each call is a new sink, as in a new process.
func streamingSink(t *testing.T, dir string, opts ...textio.WriteOption) (dataflow.AnySink, dataflow.EpochSink) {
	t.Helper()
	p := dataflow.NewPipeline()
	textio.Write(p.Root(), "Write", dir, lines(p.Root(), 1), opts...)
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	for _, tr := range p.Transforms() {
		if ws, ok := tr.Spec.(*dataflow.WriteSpec); ok {
			es, ok := dataflow.AsEpochSink(ws.Sink)
			if !ok {
				t.Fatalf("the sink of textio.Write, %v, is not an EpochSink", ws.Sink)
			}
			return ws.Sink, es
		}
	}
	t.Fatal("no Write transform")
	return nil, nil
}

// epochLines is what worker w writes in epoch e.
func epochLines(e, w, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("epoch %d worker %d line %d", e, w, i))
	}
	return out
}

// openWriter opens the writer of shard and writes lines to it.
func openWriter(t *testing.T, sink dataflow.AnySink, shard int, lines []string) dataflow.AnySinkWriter {
	t.Helper()
	w, err := sink.NewWriter(context.Background(), shard)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]dataflow.Elem[string], len(lines))
	for i, l := range lines {
		batch[i] = dataflow.Elem[string]{Value: l, Time: dataflow.MinTime, Window: dataflow.GlobalWindow}
	}
	if len(batch) > 0 {
		if err := w.Input().(dataflow.Consumer[string]).Consume(batch); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// preCommit writes epoch e on workers (lines per worker, 0 for an idle
// worker), closes the writers and returns the encoded results, as a
// checkpoint stores them, and the lines written.
func preCommit(t *testing.T, sink dataflow.AnySink, es dataflow.EpochSink, e int, perWorker []int) ([][]byte, []string) {
	t.Helper()
	var enc [][]byte
	var all []string
	for w, n := range perWorker {
		ls := epochLines(e, w, n)
		all = append(all, ls...)
		res, err := openWriter(t, sink, e*4096+w, ls).Close(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, err := es.EncodeResult(res)
		if err != nil {
			t.Fatal(err)
		}
		enc = append(enc, b)
	}
	return enc, all
}

// decode decodes results from a checkpoint.
func decode(t *testing.T, es dataflow.EpochSink, enc ...[][]byte) []any {
	t.Helper()
	var out []any
	for _, bs := range enc {
		for _, b := range bs {
			r, err := es.DecodeResult(b)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out
}

// visible returns the files that Read sees in dir, and staged the regular
// files in its hidden directories.
func visibleAndStaged(t *testing.T, dir string) (visible, staged []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, ".") {
			staged = append(staged, rel)
		} else {
			visible = append(visible, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return visible, staged
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestEpochCommitsAccumulate(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	sink, es := streamingSink(t, dir)
	var want []string

	enc1, lines1 := preCommit(t, sink, es, 1, []int{3, 0, 1500})
	if vis, _ := visibleAndStaged(t, dir); len(vis) != 0 {
		t.Fatalf("visible before the commit: %v", vis)
	}
	if err := es.CommitEpoch(ctx, decode(t, es, enc1)); err != nil {
		t.Fatal(err)
	}
	want = append(want, lines1...)
	vis, staged := visibleAndStaged(t, dir)
	if diff := cmp.Diff([]string{"part-000000004096.txt", "part-000000004098.txt"}, vis); diff != "" {
		t.Errorf("after epoch 1, files (-want +got):\n%s", diff)
	}
	if len(staged) != 0 {
		t.Errorf("after epoch 1, staged files left: %v", staged)
	}

	enc2, lines2 := preCommit(t, sink, es, 2, []int{2, 7, 0})
	if err := es.CommitEpoch(ctx, decode(t, es, enc2)); err != nil {
		t.Fatal(err)
	}
	want = append(want, lines2...)
	vis, staged = visibleAndStaged(t, dir)
	wantFiles := []string{"part-000000004096.txt", "part-000000004098.txt", "part-000000008192.txt", "part-000000008193.txt"}
	if diff := cmp.Diff(wantFiles, vis); diff != "" {
		t.Errorf("after epoch 2, files (-want +got):\n%s", diff)
	}
	if len(staged) != 0 {
		t.Errorf("after epoch 2, staged files left: %v", staged)
	}
	if diff := cmp.Diff(sorted(want), readBack(t, dir)); diff != "" {
		t.Errorf("read back (-want +got):\n%.2000s", diff)
	}

	// Committing either epoch again changes nothing.
	for _, enc := range [][][]byte{enc2, enc1} {
		if err := es.CommitEpoch(ctx, decode(t, es, enc)); err != nil {
			t.Fatalf("commit again: %v", err)
		}
	}
	if vis, _ := visibleAndStaged(t, dir); !slices.Equal(vis, wantFiles) {
		t.Errorf("after committing again, files %v", vis)
	}
	if diff := cmp.Diff(sorted(want), readBack(t, dir)); diff != "" {
		t.Errorf("read back after committing again (-want +got):\n%.2000s", diff)
	}
}

func TestEpochCrashRecovery(t *testing.T) {
	for _, discardFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("discardFirst=%t", discardFirst), func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()

			// The first process: epoch 1 committed; epoch 2's checkpoint
			// completed and its commit began (one file moved) before the
			// crash; epoch 3 pre-committed by one worker, another still
			// writing, and no checkpoint covers it.
			sink, es := streamingSink(t, dir)
			enc1, lines1 := preCommit(t, sink, es, 1, []int{5, 6})
			if err := es.CommitEpoch(ctx, decode(t, es, enc1)); err != nil {
				t.Fatal(err)
			}
			enc2, lines2 := preCommit(t, sink, es, 2, []int{4, 0, 9})
			if err := es.CommitEpoch(ctx, decode(t, es, enc2[:1])); err != nil {
				t.Fatal(err)
			}
			preCommit(t, sink, es, 3, []int{8})
			openWriter(t, sink, 3*4096+1, epochLines(3, 1, 100))
			if _, staged := visibleAndStaged(t, dir); len(staged) != 4 {
				t.Fatalf("staged before the crash: %v, want 4 files", staged)
			}

			// The second process restores epoch 2's checkpoint.
			_, es2 := streamingSink(t, dir)
			keep := decode(t, es2, enc2)
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
			want := sorted(append(slices.Clone(lines1), lines2...))
			if diff := cmp.Diff(want, readBack(t, dir)); diff != "" {
				t.Errorf("output (-want +got):\n%.2000s", diff)
			}
			vis, staged := visibleAndStaged(t, dir)
			wantFiles := []string{"part-000000004096.txt", "part-000000004097.txt", "part-000000008192.txt", "part-000000008194.txt"}
			if diff := cmp.Diff(wantFiles, vis); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if len(staged) != 0 {
				t.Errorf("staged files left: %v", staged)
			}
			if names := listDir(t, dir); len(names) != len(wantFiles) {
				t.Errorf("directory holds %v, want only the committed files", names)
			}

			// A second crash and restart from the same checkpoint.
			_, es3 := streamingSink(t, dir)
			if err := es3.DiscardUncommitted(ctx, decode(t, es3, enc2)); err != nil {
				t.Fatal(err)
			}
			if err := es3.CommitEpoch(ctx, decode(t, es3, enc2)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, readBack(t, dir)); diff != "" {
				t.Errorf("output after a second restart (-want +got):\n%.2000s", diff)
			}
		})
	}
}

func TestEpochCommitMissingFileFails(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	sink, es := streamingSink(t, dir)
	enc, _ := preCommit(t, sink, es, 1, []int{3})
	// Lost: neither staged nor committed. Committing must not pretend.
	if err := es.DiscardUncommitted(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := es.CommitEpoch(ctx, decode(t, es, enc)); err == nil {
		t.Error("CommitEpoch of a file that is gone succeeded")
	}
}

func TestEpochDecodeRejectsForeignPaths(t *testing.T) {
	_, es := streamingSink(t, t.TempDir())
	for _, b := range []string{
		`{"Shard":1,"Staged":"../../etc/passwd","Lines":1}`,
		`{"Shard":1,"Staged":"part-00000.txt","Lines":1}`,
		`{"Shard":1,"Staged":".sluice-tmp-1/../../x","Lines":1}`,
		`not json`,
	} {
		if _, err := es.DecodeResult([]byte(b)); err == nil {
			t.Errorf("DecodeResult(%s) succeeded", b)
		}
	}
}

// A batch run over a directory that a streaming job wrote replaces it, as
// batch runs do.
func TestBatchAfterEpochsReplaces(t *testing.T) {
	dir := t.TempDir()
	sink, es := streamingSink(t, dir)
	enc, _ := preCommit(t, sink, es, 1, []int{3, 4})
	if err := es.CommitEpoch(context.Background(), decode(t, es, enc)); err != nil {
		t.Fatal(err)
	}
	p := dataflow.NewPipeline()
	textio.Write(p.Root(), "Write", dir, lines(p.Root(), 10))
	if err := run(t, context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	if vis, _ := visibleAndStaged(t, dir); !cmp.Equal(partNames(1), vis, cmpopts.EquateEmpty()) {
		t.Errorf("files %v, want %v", vis, partNames(1))
	}
	if got := readBack(t, dir); !slices.Equal(got, wantLines(10)) {
		t.Errorf("read back %d lines, want 10", len(got))
	}
}

func TestWriteJSONIsEpochSink(t *testing.T) {
	p := dataflow.NewPipeline()
	textio.WriteJSON(p.Root(), "Write", t.TempDir(), lines(p.Root(), 1))
	for _, tr := range p.Transforms() {
		if ws, ok := tr.Spec.(*dataflow.WriteSpec); ok {
			if _, ok := dataflow.AsEpochSink(ws.Sink); !ok {
				t.Errorf("the sink of textio.WriteJSON is not an EpochSink")
			}
			return
		}
	}
	t.Fatal("no Write transform")
}
