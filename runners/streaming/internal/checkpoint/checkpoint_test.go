package checkpoint

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	gocmp "github.com/google/go-cmp/cmp"

	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/streaming/internal/state"
)

func mustOpen(t *testing.T, fs vfs.FS, opts Options) *Dir {
	t.Helper()
	opts.FS = fs
	d, err := Open("job", opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func writeFile(t *testing.T, fs vfs.FS, name, contents string) {
	t.Helper()
	f, err := fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, contents); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeState writes what a Pebble checkpoint holds (as far as this package
// looks) into dir/state.
func fakeState(t *testing.T, fs vfs.FS, dir string) {
	t.Helper()
	sd := fs.PathJoin(dir, "state")
	if err := fs.MkdirAll(sd, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, contents := range map[string]string{
		"MANIFEST-000001": "manifest", "OPTIONS-000002": "options", "000003.sst": "table contents", "000004.log": "",
	} {
		writeFile(t, fs, fs.PathJoin(sd, name), contents)
	}
}

// complete makes checkpoint id complete, with fake state.
func complete(t *testing.T, d *Dir, id int64) string {
	t.Helper()
	p, err := d.NewCheckpoint(id)
	if err != nil {
		t.Fatal(err)
	}
	fakeState(t, d.fs, p)
	if err := d.Complete(p, Manifest{ID: id, Pipeline: "p", Watermark: id * 10}); err != nil {
		t.Fatal(err)
	}
	return p
}

func ids(t *testing.T, d *Dir) []string {
	t.Helper()
	infos, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range infos {
		s := in.Name
		if !in.Savepoint {
			s = fmt.Sprint(in.ID)
		}
		if !in.Complete {
			s += " incomplete"
		}
		if in.Err != nil {
			s += " corrupt"
		}
		out = append(out, s)
	}
	return out
}

func TestLatestOnAnEmptyDirectory(t *testing.T) {
	d := mustOpen(t, vfs.NewMem(), Options{})
	m, p, warnings, err := d.Latest()
	if !errors.Is(err, ErrNoCheckpoint) || p != "" || len(warnings) != 0 || m.ID != 0 {
		t.Errorf("Latest = %+v, %q, %v, %v; want ErrNoCheckpoint", m, p, warnings, err)
	}
	if id, err := d.NextID(); err != nil || id != 1 {
		t.Errorf("NextID = %d, %v; want 1", id, err)
	}
}

// TestRoundTripWithPebbleState takes a real state checkpoint into a
// checkpoint directory, completes it, finds it with Latest and restores it.
func TestRoundTripWithPebbleState(t *testing.T) {
	fs := vfs.NewMem()
	d := mustOpen(t, fs, Options{})
	so := state.Options{FS: fs}
	s, err := state.Open(d.StatePath(), so)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stage("count", state.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Backend([]byte("k")).Put(df.GlobalWindow, "v", nil, []byte("42")); err != nil {
		t.Fatal(err)
	}
	id, err := d.NextID()
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.NewCheckpoint(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(fs.PathJoin(p, "state")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := Manifest{
		ID:        id,
		Created:   time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC),
		Pipeline:  Fingerprint(map[string]string{"read": "source", "count": "pardo"}),
		StateDir:  "state",
		Sources:   map[string][][]byte{"read": {[]byte("offset-1"), []byte("offset-2")}},
		Sinks:     map[string][][]byte{"write": {[]byte("pre-commit")}},
		Operators: map[string][]byte{"count": {0, 1, 2}},
		Watermark: 12345,
	}
	if err := d.Complete(p, want); err != nil {
		t.Fatal(err)
	}
	d = mustOpen(t, fs, Options{}) // as after a restart
	m, lp, warnings, err := d.Latest()
	if err != nil || lp != p || len(warnings) != 0 {
		t.Fatalf("Latest = %q, %v, %v", lp, warnings, err)
	}
	if len(m.StateFiles) == 0 {
		t.Error("the manifest lists no state files")
	}
	m.StateFiles = nil
	if diff := gocmp.Diff(want, m); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	if err := m.CheckPipeline(want.Pipeline); err != nil {
		t.Error(err)
	}
	if err := state.Restore(fs.PathJoin(lp, m.StateDir), d.StatePath(), so); err != nil {
		t.Fatal(err)
	}
	s, err = state.Open(d.StatePath(), so)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err = s.Stage("count", state.StageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := st.Backend([]byte("k")).Get(df.GlobalWindow, "v", nil); err != nil || !ok || string(v) != "42" {
		t.Errorf("restored value = %q, %v, %v; want 42", v, ok, err)
	}
}

// TestTemporaryManifestIsIgnored: a crash while the manifest was written
// leaves MANIFEST.tmp, whole or torn; the checkpoint is not complete.
func TestTemporaryManifestIsIgnored(t *testing.T) {
	for _, torn := range []bool{false, true} {
		t.Run(fmt.Sprint("torn=", torn), func(t *testing.T) {
			fs := vfs.NewMem()
			d := mustOpen(t, fs, Options{})
			complete(t, d, 1)
			p, err := d.NewCheckpoint(2)
			if err != nil {
				t.Fatal(err)
			}
			fakeState(t, fs, p)
			data, err := encode(Manifest{ID: 2, StateDir: "state"})
			if err != nil {
				t.Fatal(err)
			}
			if torn {
				data = data[:len(data)/2]
			}
			writeFile(t, fs, fs.PathJoin(p, tmpName), string(data))

			d = mustOpen(t, fs, Options{})
			m, lp, warnings, err := d.Latest()
			if err != nil || m.ID != 1 || len(warnings) != 0 {
				t.Fatalf("Latest = %d at %q, %v, %v; want checkpoint 1 and no warning", m.ID, lp, warnings, err)
			}
			if got, want := ids(t, d), []string{"1", "2 incomplete"}; !slices.Equal(got, want) {
				t.Errorf("List = %q, want %q", got, want)
			}
			// The runner retries checkpoint 2: NewCheckpoint empties it.
			p, err = d.NewCheckpoint(2)
			if err != nil {
				t.Fatal(err)
			}
			if names, _ := fs.List(p); len(names) != 0 {
				t.Errorf("NewCheckpoint left %q in an incomplete checkpoint", names)
			}
		})
	}
}

// TestCorruptCheckpointFallsBack damages the newest checkpoint in each way
// and expects Latest to fall back to the one before, with one warning that
// names the file and the reason.
func TestCorruptCheckpointFallsBack(t *testing.T) {
	for _, c := range []struct {
		name    string
		damage  func(t *testing.T, fs vfs.FS, dir string)
		file    string // the warning names it (relative to dir)
		because string // and says this
	}{
		{"truncated manifest", func(t *testing.T, fs vfs.FS, dir string) {
			mp := fs.PathJoin(dir, manifestName)
			data := readFile(t, fs, mp)
			writeFile(t, fs, mp, string(data[:len(data)-10]))
		}, manifestName, "checksum line"},
		{"manifest cut inside the JSON", func(t *testing.T, fs vfs.FS, dir string) {
			mp := fs.PathJoin(dir, manifestName)
			writeFile(t, fs, mp, string(readFile(t, fs, mp)[:20]))
		}, manifestName, "truncated"},
		{"flipped byte", func(t *testing.T, fs vfs.FS, dir string) {
			mp := fs.PathJoin(dir, manifestName)
			data := readFile(t, fs, mp)
			data[len(data)/3] ^= 0x01
			writeFile(t, fs, mp, string(data))
		}, manifestName, "checksum mismatch"},
		{"empty manifest", func(t *testing.T, fs vfs.FS, dir string) {
			writeFile(t, fs, fs.PathJoin(dir, manifestName), "")
		}, manifestName, "truncated"},
		{"state directory deleted", func(t *testing.T, fs vfs.FS, dir string) {
			if err := fs.RemoveAll(fs.PathJoin(dir, "state")); err != nil {
				t.Fatal(err)
			}
		}, "state", "state directory missing"},
		{"table deleted", func(t *testing.T, fs vfs.FS, dir string) {
			if err := fs.Remove(fs.PathJoin(dir, "state", "000003.sst")); err != nil {
				t.Fatal(err)
			}
		}, "state/000003.sst", "state file missing"},
		{"Pebble manifest truncated", func(t *testing.T, fs vfs.FS, dir string) {
			writeFile(t, fs, fs.PathJoin(dir, "state", "MANIFEST-000001"), "man")
		}, "state/MANIFEST-000001", "has 3 bytes, the manifest says 8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := vfs.NewMem()
			d := mustOpen(t, fs, Options{})
			complete(t, d, 1)
			p := complete(t, d, 2)
			c.damage(t, fs, p)
			m, lp, warnings, err := d.Latest()
			if err != nil || m.ID != 1 {
				t.Fatalf("Latest = checkpoint %d at %q, %v; want checkpoint 1", m.ID, lp, err)
			}
			if len(warnings) != 1 {
				t.Fatalf("warnings = %v, want one", warnings)
			}
			w := warnings[0]
			var ce *CorruptError
			if !errors.Is(w, ErrCorrupt) || !errors.As(w, &ce) {
				t.Errorf("warning %v does not wrap ErrCorrupt", w)
			}
			if file := fs.PathJoin(p, c.file); !strings.Contains(w.Error(), file) || !strings.Contains(w.Error(), c.because) {
				t.Errorf("warning %q does not name %s and say %q", w, file, c.because)
			}
			// With the older one damaged too, there is nothing to restore.
			c.damage(t, fs, fs.PathJoin(d.checkpointsDir(), chkName(1)))
			if _, _, warnings, err := d.Latest(); !errors.Is(err, ErrNoCheckpoint) || len(warnings) != 2 {
				t.Errorf("Latest with both damaged: %v, %v; want ErrNoCheckpoint and two warnings", warnings, err)
			}
		})
	}
}

func TestRetention(t *testing.T) {
	fs := vfs.NewMem()
	d := mustOpen(t, fs, Options{Keep: 2})
	sp, err := d.NewSavepoint("before-upgrade")
	if err != nil {
		t.Fatal(err)
	}
	fakeState(t, fs, sp)
	if err := d.Complete(sp, Manifest{ID: 1, Savepoint: true}); err != nil {
		t.Fatal(err)
	}
	complete(t, d, 2)
	if _, err := d.NewCheckpoint(3); err != nil { // a crash: never completed
		t.Fatal(err)
	}
	complete(t, d, 4) // 3 is older than the newest complete one: removed
	if got, want := ids(t, d), []string{"2", "4", "before-upgrade"}; !slices.Equal(got, want) {
		t.Errorf("after 4: List = %q, want %q", got, want)
	}
	p5 := complete(t, d, 5)
	writeFile(t, fs, fs.PathJoin(p5, manifestName), "garbage") // corrupt: does not count
	complete(t, d, 6)
	if _, err := d.NewCheckpoint(7); err != nil { // in progress: kept
		t.Fatal(err)
	}
	complete(t, d, 8)
	// Kept: the two newest valid ones; 4 is one too many, 5 is corrupt
	// and 7 incomplete, both older than 8.
	if got, want := ids(t, d), []string{"6", "8", "before-upgrade"}; !slices.Equal(got, want) {
		t.Errorf("after 8: List = %q, want %q", got, want)
	}
	if _, _, err := d.ReadSavepoint("before-upgrade"); err != nil {
		t.Errorf("savepoint after retention: %v", err)
	}
	names, err := fs.List(d.checkpointsDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, delPrefix) {
			t.Errorf("left %s behind", n)
		}
	}
}

func TestInProgressCheckpointSurvivesRetention(t *testing.T) {
	fs := vfs.NewMem()
	d := mustOpen(t, fs, Options{Keep: 1})
	complete(t, d, 1)
	p3, err := d.NewCheckpoint(3) // begun before 2 completes
	if err != nil {
		t.Fatal(err)
	}
	complete(t, d, 2)
	if got, want := ids(t, d), []string{"2", "3 incomplete"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	fakeState(t, fs, p3)
	if err := d.Complete(p3, Manifest{ID: 3}); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(t, d), []string{"3"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func TestIDsAcrossReopen(t *testing.T) {
	fs := vfs.NewMem()
	d := mustOpen(t, fs, Options{})
	complete(t, d, 1)
	complete(t, d, 2)
	if _, err := d.NewCheckpoint(5); err != nil { // incomplete, from a crash
		t.Fatal(err)
	}
	// A removal a crash interrupted.
	if err := fs.MkdirAll(fs.PathJoin(d.checkpointsDir(), delPrefix+chkName(0)), 0o755); err != nil {
		t.Fatal(err)
	}
	d = mustOpen(t, fs, Options{})
	if id, err := d.NextID(); err != nil || id != 6 {
		t.Errorf("NextID after reopen = %d, %v; want 6", id, err)
	}
	for _, id := range []int64{1, 2, -1} {
		if _, err := d.NewCheckpoint(id); err == nil {
			t.Errorf("NewCheckpoint(%d) succeeded at or below a complete checkpoint", id)
		}
	}
	if got, want := ids(t, d), []string{"1", "2", "5 incomplete"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if m, _, _, err := d.Latest(); err != nil || m.ID != 2 {
		t.Errorf("Latest = %d, %v; want 2", m.ID, err)
	}
}

func TestSavepoints(t *testing.T) {
	fs := vfs.NewMem()
	d := mustOpen(t, fs, Options{})
	for _, bad := range []string{"", ".", "..", "a/b", delPrefix + "x"} {
		if _, err := d.NewSavepoint(bad); err == nil {
			t.Errorf("NewSavepoint(%q) succeeded", bad)
		}
	}
	p, err := d.NewSavepoint("v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.ReadSavepoint("v1"); err == nil || !strings.Contains(err.Error(), "not complete") {
		t.Errorf("ReadSavepoint of an incomplete savepoint: %v", err)
	}
	fakeState(t, fs, p)
	if err := d.Complete(p, Manifest{ID: 7}); err == nil {
		t.Error("Complete of a savepoint with Savepoint false succeeded")
	}
	if err := d.Complete(p, Manifest{ID: 7, Savepoint: true, Pipeline: "fp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.NewSavepoint("v1"); err == nil {
		t.Error("NewSavepoint over a complete savepoint succeeded")
	}
	for _, arg := range []string{"v1", p} {
		m, mp, err := d.ReadSavepoint(arg)
		if err != nil || mp != p || m.ID != 7 || !m.Savepoint {
			t.Errorf("ReadSavepoint(%q) = %+v, %q, %v", arg, m, mp, err)
		}
	}
	// Savepoints are not checkpoints: Latest does not return them, but
	// NextID counts them.
	if _, _, _, err := d.Latest(); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("Latest with only a savepoint: %v", err)
	}
	if id, _ := d.NextID(); id != 8 {
		t.Errorf("NextID = %d, want 8", id)
	}
	if err := d.Complete(fs.PathJoin("elsewhere", "x"), Manifest{}); err == nil {
		t.Error("Complete outside the job directory succeeded")
	}
}

func TestCompleteChecksTheState(t *testing.T) {
	fs := vfs.NewMem()
	d := mustOpen(t, fs, Options{})
	p, err := d.NewCheckpoint(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Complete(p, Manifest{ID: 1}); err == nil {
		t.Error("Complete without a state directory succeeded")
	}
	if err := fs.MkdirAll(fs.PathJoin(p, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.Complete(p, Manifest{ID: 1}); err == nil {
		t.Error("Complete with an empty state directory succeeded")
	}
	fakeState(t, fs, p)
	if err := d.Complete(p, Manifest{ID: 2}); err == nil {
		t.Error("Complete with another id succeeded")
	}
	if err := d.Complete(p, Manifest{ID: 1, StateDir: "../x"}); err == nil {
		t.Error("Complete with a state directory outside the checkpoint succeeded")
	}
	if err := d.Complete(p, Manifest{ID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := d.Complete(p, Manifest{ID: 1}); err == nil {
		t.Error("Complete twice succeeded")
	}
}

// TestStatePerPartition: StateDir holds one Pebble checkpoint per
// subdirectory; each is checked, and a damaged one is reported by path.
func TestStatePerPartition(t *testing.T) {
	fs := vfs.NewMem()
	d := mustOpen(t, fs, Options{})
	p, err := d.NewCheckpoint(1)
	if err != nil {
		t.Fatal(err)
	}
	fakeState(t, fs, fs.PathJoin(p, "state", "part-000"))
	if err := fs.MkdirAll(fs.PathJoin(p, "state", "part-001", "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, fs, fs.PathJoin(p, "state", "part-001", "state", "000005.sst"), "x")
	if err := d.Complete(p, Manifest{ID: 1}); err == nil || !strings.Contains(err.Error(), "part-001") {
		t.Errorf("Complete with a partition lacking Pebble's manifest: %v", err)
	}
	if err := fs.RemoveAll(fs.PathJoin(p, "state", "part-001")); err != nil {
		t.Fatal(err)
	}
	fakeState(t, fs, fs.PathJoin(p, "state", "part-001"))
	if err := d.Complete(p, Manifest{ID: 1}); err != nil {
		t.Fatal(err)
	}
	m, _, _, err := d.Latest()
	if err != nil || len(m.StateFiles) != 8 || m.StateFiles["part-001/state/000003.sst"] != int64(len("table contents")) {
		t.Fatalf("Latest = %v, %v", m.StateFiles, err)
	}
	if err := fs.Remove(fs.PathJoin(p, "state", "part-001", "state", "000003.sst")); err != nil {
		t.Fatal(err)
	}
	_, _, warnings, err := d.Latest()
	if !errors.Is(err, ErrNoCheckpoint) || len(warnings) != 1 || !strings.Contains(warnings[0].Error(), fs.PathJoin(p, "state", "part-001", "state", "000003.sst")) {
		t.Errorf("Latest with a partition's table deleted: %v, %v", warnings, err)
	}
}

func TestPipelineFingerprint(t *testing.T) {
	a := Fingerprint(map[string]string{"read": "source", "sum": "combine"})
	if b := Fingerprint(map[string]string{"sum": "combine", "read": "source"}); a != b {
		t.Errorf("fingerprint depends on map order: %s, %s", a, b)
	}
	for _, other := range []map[string]string{
		{"read": "source", "sum": "pardo"},
		{"read": "source", "sum2": "combine"},
		{"read": "source"},
		{"readsum": "source", "": "combine"}, // no ambiguity from concatenation
	} {
		if Fingerprint(other) == a {
			t.Errorf("Fingerprint(%v) equals Fingerprint of another pipeline", other)
		}
	}
	err := Manifest{ID: 3, Pipeline: a}.CheckPipeline("other")
	if !errors.Is(err, ErrPipelineMismatch) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), "other") {
		t.Errorf("CheckPipeline mismatch: %v", err)
	}
}

// tornFS makes every write of a file whose name starts with MANIFEST in
// a directory named torn write half its bytes and fail, as a crash in the
// middle of the write would leave it.
type tornFS struct{ vfs.FS }

type tornFile struct{ vfs.File }

func (f tornFile) Write(p []byte) (int, error) {
	n, _ := f.File.Write(p[:len(p)/2])
	return n, errors.New("crash")
}

func (fs tornFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	if err == nil && strings.HasPrefix(fs.PathBase(name), manifestName) && fs.PathBase(fs.PathDir(name)) == chkName(2) {
		return tornFile{f}, nil
	}
	return f, err
}

// TestCrashWhileWritingTheManifest: a manifest write cut short leaves the
// checkpoint incomplete, not corrupt: Latest falls back without a warning.
func TestCrashWhileWritingTheManifest(t *testing.T) {
	fs := tornFS{vfs.NewMem()}
	d := mustOpen(t, fs, Options{})
	complete(t, d, 1)
	p, err := d.NewCheckpoint(2)
	if err != nil {
		t.Fatal(err)
	}
	fakeState(t, fs, p)
	if err := d.Complete(p, Manifest{ID: 2}); err == nil {
		t.Fatal("Complete with a failing write succeeded")
	}
	d = mustOpen(t, fs, Options{})
	if m, _, warnings, err := d.Latest(); err != nil || m.ID != 1 || len(warnings) != 0 {
		t.Errorf("Latest = %d, %v, %v; want checkpoint 1 and no warning", m.ID, warnings, err)
	}
}

// TestCheckpointWithoutState: a checkpoint whose manifest says NoState
// has no state directory, is valid without one, and is still checked: a
// damaged manifest, a state directory beside it or a manifest that also
// names state files make it corrupt, and Latest falls back.
func TestCheckpointWithoutState(t *testing.T) {
	fs := vfs.NewMem()
	d := mustOpen(t, fs, Options{})
	complete(t, d, 1)
	p, err := d.NewCheckpoint(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Complete(p, Manifest{ID: 2, NoState: true, StateDir: "state"}); err == nil {
		t.Error("Complete of a checkpoint without state that names a state directory succeeded")
	}
	fakeState(t, fs, p)
	if err := d.Complete(p, Manifest{ID: 2, NoState: true}); err == nil || !strings.Contains(err.Error(), "state directory") {
		t.Errorf("Complete of a checkpoint without state that has a state directory: %v", err)
	}
	if err := fs.RemoveAll(fs.PathJoin(p, "state")); err != nil {
		t.Fatal(err)
	}
	if err := d.Complete(p, Manifest{ID: 2, NoState: true, Pipeline: "p", Operators: map[string][]byte{"op": []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	m, lp, warnings, err := d.Latest()
	if err != nil || len(warnings) > 0 || lp != p || m.ID != 2 || !m.NoState || m.StateDir != "" || m.StateFiles != nil || string(m.Operators["op"]) != "x" {
		t.Fatalf("Latest = %+v at %q, %v, %v", m, lp, warnings, err)
	}
	if got, want := ids(t, d), []string{"1", "2"}; !slices.Equal(got, want) {
		t.Errorf("checkpoints %v, want %v", got, want)
	}
	// A manifest with state encodes as before NoState existed.
	if b := readFile(t, fs, fs.PathJoin(d.checkpointsDir(), chkName(1), manifestName)); strings.Contains(string(b), "NoState") {
		t.Errorf("a manifest with state mentions NoState: %s", b)
	}

	good := readFile(t, fs, fs.PathJoin(p, manifestName))
	for _, c := range []struct {
		name    string
		damage  func()
		because string
	}{
		{"flipped byte", func() {
			b := slices.Clone(good)
			b[len(b)/3] ^= 0x01
			writeFile(t, fs, fs.PathJoin(p, manifestName), string(b))
		}, "checksum mismatch"},
		{"state directory beside it", func() {
			fakeState(t, fs, p)
		}, "state directory"},
		{"state files listed", func() {
			data, err := encode(Manifest{ID: 2, NoState: true, Pipeline: "p", StateFiles: map[string]int64{"000003.sst": 14}})
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, fs, fs.PathJoin(p, manifestName), string(data))
		}, "state files"},
		{"state directory named", func() {
			data, err := encode(Manifest{ID: 2, NoState: true, Pipeline: "p", StateDir: "state"})
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, fs, fs.PathJoin(p, manifestName), string(data))
		}, "names state directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			writeFile(t, fs, fs.PathJoin(p, manifestName), string(good))
			if err := fs.RemoveAll(fs.PathJoin(p, "state")); err != nil {
				t.Fatal(err)
			}
			c.damage()
			m, lp, warnings, err := d.Latest()
			if err != nil || m.ID != 1 || m.NoState {
				t.Fatalf("Latest = checkpoint %d at %q, %v; want checkpoint 1", m.ID, lp, err)
			}
			if len(warnings) != 1 || !errors.Is(warnings[0], ErrCorrupt) || !strings.Contains(warnings[0].Error(), c.because) {
				t.Errorf("warnings = %v, want one saying %q", warnings, c.because)
			}
		})
	}
}
