package streaming_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/streaming"
	"github.com/sluicedata/sluice/runners/streaming/internal/checkpoint"
)

// TestFinishedJobCheckpointHoldsNoState runs a job with keyed state to its
// end: its final checkpoint records no state, a restart of the finished
// job reads none and changes nothing, and once that checkpoint is damaged
// a restart falls back to the previous one, with state, and still
// produces the exact output.
func TestFinishedJobCheckpointHoldsNoState(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	jobDir := filepath.Join(dir, "job")
	const n = 10_000
	build := func() *dataflow.Pipeline {
		p := dataflow.NewPipeline()
		s := p.Root()
		in := transforms.Generate(s, "Events", event, transforms.GeneratorOptions{Count: n, Rate: 20_000})
		textio.Write(s, "Out", out, sideJob(s, in))
		return p
	}
	var log bytes.Buffer
	opts := streaming.Options{JobDir: jobDir, CheckpointInterval: 20 * time.Millisecond, ReadBatch: 500, Log: &log}
	if _, err := dataflow.Execute(t.Context(), streaming.New(opts), build()); err != nil {
		t.Fatal(err)
	}
	want := directSideLines(t, n)
	if d := cmp.Diff(want, readLines(t, out)); d != "" {
		t.Fatalf("output differs from the direct runner's (-want +got):\n%s", d)
	}

	d, err := checkpoint.Open(jobDir, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, final, warnings, err := d.Latest()
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Latest: %v, %v", warnings, err)
	}
	if !m.NoState || m.StateDir != "" || len(m.StateFiles) > 0 {
		t.Errorf("the final checkpoint records state: NoState %v, StateDir %q, %d files", m.NoState, m.StateDir, len(m.StateFiles))
	}
	if _, err := os.Stat(filepath.Join(final, "state")); !os.IsNotExist(err) {
		t.Errorf("the final checkpoint has a state directory: %v", err)
	}
	older, _ := filepath.Glob(filepath.Join(jobDir, "checkpoints", "chk-*", "state", "p0000", "MANIFEST-*"))
	if len(older) == 0 {
		t.Fatal("no earlier checkpoint with state was retained; the test needs one")
	}

	// A restart of the finished job: nothing to do, no state opened.
	if err := os.RemoveAll(filepath.Join(jobDir, "state")); err != nil {
		t.Fatal(err)
	}
	if _, err := dataflow.Execute(t.Context(), streaming.New(opts), build()); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, readLines(t, out)); d != "" {
		t.Fatalf("output after restarting the finished job differs (-want +got):\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(jobDir, "state")); !os.IsNotExist(err) {
		t.Errorf("the restart of a finished job opened state: %v", err)
	}

	// The final checkpoint damaged: the restart falls back to the previous
	// checkpoint, which holds state, and finishes the job again.
	mp := filepath.Join(final, "MANIFEST")
	b, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(mp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if _, err := dataflow.Execute(t.Context(), streaming.New(opts), build()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "falling back") || !strings.Contains(log.String(), mp) {
		t.Fatalf("the restart did not report the corrupt checkpoint %s; log:\n%s", mp, log.String())
	}
	if d := cmp.Diff(want, readLines(t, out)); d != "" {
		t.Fatalf("output after falling back from the final checkpoint differs (-want +got):\n%s", d)
	}
	if m, _, _, err := d.Latest(); err != nil || !m.NoState {
		t.Errorf("after the second finish: Latest = NoState %v, %v", m.NoState, err)
	}
}

// TestStatelessJobHasNoStateDatabase: a job with no keyed stage opens no
// state database; its checkpoints record none, and it resumes from them
// with exactly-once output.
func TestStatelessJobHasNoStateDatabase(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	jobDir := filepath.Join(dir, "job")
	const n = 20_000
	build := func() *dataflow.Pipeline {
		p := dataflow.NewPipeline()
		s := p.Root()
		in := transforms.Generate(s, "Events", event, transforms.GeneratorOptions{Count: n, Rate: 40_000})
		lines := transforms.Map(s, "Line", func(kv dataflow.KV[int64, int64]) string { return fmt.Sprintf("v=%d", kv.Value) }, in)
		textio.Write(s, "Out", out, lines)
		return p
	}
	opts := streaming.Options{JobDir: jobDir, CheckpointInterval: 20 * time.Millisecond, ReadBatch: 500, Log: io.Discard}
	res, err := streaming.New(opts).Run(t.Context(), build(), dataflow.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	res.Cancel()
	res.Wait(t.Context())
	d, err := checkpoint.Open(jobDir, checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, _, err := d.Latest()
	if err != nil {
		t.Fatalf("no checkpoint before the cancel: %v", err)
	}
	if !m.NoState {
		t.Errorf("a checkpoint of a job without keyed state records state (StateDir %q)", m.StateDir)
	}
	if _, err := os.Stat(filepath.Join(jobDir, "state")); !os.IsNotExist(err) {
		t.Errorf("a job without keyed state opened a state database: %v", err)
	}
	if _, err := dataflow.Execute(t.Context(), streaming.New(opts), build()); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("v=%d", i))
	}
	slices.Sort(want)
	if d := cmp.Diff(want, readLines(t, out)); d != "" {
		t.Fatalf("output after the restart (-want +got):\n%s", d)
	}
}
