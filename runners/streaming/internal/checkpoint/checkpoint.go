package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

var (
	// ErrNoCheckpoint is returned by Latest when the job directory holds no
	// complete, valid checkpoint.
	ErrNoCheckpoint = errors.New("checkpoint: no complete checkpoint")
	// ErrCorrupt is wrapped by the errors that describe a damaged
	// checkpoint or savepoint.
	ErrCorrupt = errors.New("corrupt")
	// ErrPipelineMismatch is wrapped by CheckPipeline's error.
	ErrPipelineMismatch = errors.New("checkpoint: taken of another pipeline")
)

// Manifest describes a complete checkpoint or savepoint.
type Manifest struct {
	ID        int64     // increasing per job
	Savepoint bool      // taken on request, kept until removed by hand
	Created   time.Time // set by Complete when zero
	// Pipeline is the Fingerprint of the pipeline that took it.
	Pipeline string
	// StateDir is the directory of the Pebble checkpoint, relative to the
	// checkpoint's directory; default "state". It may instead hold one
	// Pebble checkpoint per subdirectory (one per partition).
	StateDir string
	// NoState marks a checkpoint that holds no state database: the job has
	// none (no keyed stage) or has finished, so nothing will read it.
	// StateDir and StateFiles are then empty, and no state directory may
	// exist. Manifests without it encode as before this field existed.
	NoState bool `json:",omitempty"`
	// Sources holds, per source transform, the position of each split in
	// split order.
	Sources map[string][][]byte
	// Sinks holds, per sink transform, its encoded pre-commit results
	// (dataflow.EpochSink.EncodeResult).
	Sinks map[string][][]byte
	// Operators holds other per-transform runner state (watermarks,
	// in-memory buffers).
	Operators map[string][]byte
	// Watermark is the job's output watermark (ms), for information.
	Watermark int64
	// StateFiles are the sizes of StateDir's files by slash-separated path
	// relative to StateDir, recorded by Complete and checked by Latest.
	StateFiles map[string]int64
}

// CheckPipeline returns an error wrapping ErrPipelineMismatch, naming
// both fingerprints, unless m was taken of the pipeline fingerprint.
func (m Manifest) CheckPipeline(fingerprint string) error {
	if m.Pipeline != fingerprint {
		return fmt.Errorf("%w: checkpoint %d has pipeline %q, the job is %q", ErrPipelineMismatch, m.ID, m.Pipeline, fingerprint)
	}
	return nil
}

// Fingerprint identifies a pipeline by its transforms' names and kinds
// (name -> kind): the same transforms give the same fingerprint, in any
// order.
func Fingerprint(transforms map[string]string) string {
	names := make([]string, 0, len(transforms))
	for n := range transforms {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%d:%s%d:%s;", len(n), n, len(transforms[n]), transforms[n])
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Options configure a Dir. The zero value is valid.
type Options struct {
	// Keep is how many complete checkpoints retention keeps; default 3.
	Keep int
	// FS is the file system; default vfs.Default.
	FS vfs.FS
}

const (
	defaultKeep     = 3
	manifestName    = "MANIFEST"
	tmpName         = "MANIFEST.tmp"
	chkPrefix       = "chk-"
	delPrefix       = ".del-"
	defaultStateDir = "state"
	formatVersion   = 1
)

// Dir is a job directory.
type Dir struct {
	path string
	fs   vfs.FS
	keep int
	mu   sync.Mutex
}

// Info describes one checkpoint or savepoint directory, for tooling.
type Info struct {
	Path      string
	ID        int64 // from the directory name for checkpoints, the manifest for savepoints
	Name      string
	Savepoint bool
	Complete  bool  // has a MANIFEST
	Err       error // why a complete one is not valid, or nil
}

// Open opens (creating if need be) the job directory jobDir.
func Open(jobDir string, opts Options) (*Dir, error) {
	if opts.Keep == 0 {
		opts.Keep = defaultKeep
	}
	if opts.Keep < 1 {
		return nil, fmt.Errorf("checkpoint: Keep %d is below 1", opts.Keep)
	}
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	d := &Dir{path: jobDir, fs: opts.FS, keep: opts.Keep}
	for _, sub := range []string{d.checkpointsDir(), d.savepointsDir()} {
		if err := d.fs.MkdirAll(sub, 0o755); err != nil {
			return nil, fmt.Errorf("checkpoint: open %s: %w", jobDir, err)
		}
	}
	// Finish removals a crash interrupted.
	names, err := d.fs.List(d.checkpointsDir())
	if err != nil {
		return nil, fmt.Errorf("checkpoint: open %s: %w", jobDir, err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, delPrefix) {
			if err := d.fs.RemoveAll(d.fs.PathJoin(d.checkpointsDir(), n)); err != nil {
				return nil, fmt.Errorf("checkpoint: open %s: %w", jobDir, err)
			}
		}
	}
	return d, nil
}

// Path returns the job directory.
func (d *Dir) Path() string { return d.path }

// StatePath returns the directory of the live state database.
func (d *Dir) StatePath() string { return d.fs.PathJoin(d.path, "state") }

func (d *Dir) checkpointsDir() string { return d.fs.PathJoin(d.path, "checkpoints") }
func (d *Dir) savepointsDir() string  { return d.fs.PathJoin(d.path, "savepoints") }

func chkName(id int64) string { return fmt.Sprintf("%s%020d", chkPrefix, id) }

// parseChk returns the id of a checkpoint directory's name.
func parseChk(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, chkPrefix)
	if !ok || len(rest) != 20 {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id >= 0
}

// NextID returns an id above every checkpoint's (complete or not) and
// every savepoint's in the directory.
func (d *Dir) NextID() (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	infos, err := d.list()
	if err != nil {
		return 0, err
	}
	next := int64(1)
	for _, in := range infos {
		next = max(next, in.ID+1)
	}
	return next, nil
}

// NewCheckpoint creates the directory of checkpoint id and returns its
// path; the runner writes the state checkpoint (StateDir) and anything
// else inside, then calls Complete. It fails if a complete checkpoint has
// this id or a higher one; an incomplete directory of the same id (from a
// crash or a failed attempt) is emptied.
func (d *Dir) NewCheckpoint(id int64) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id < 0 {
		return "", fmt.Errorf("checkpoint: negative id %d", id)
	}
	infos, err := d.list()
	if err != nil {
		return "", err
	}
	for _, in := range infos {
		if !in.Savepoint && in.Complete && in.ID >= id {
			return "", fmt.Errorf("checkpoint: new checkpoint %d: checkpoint %d is complete", id, in.ID)
		}
	}
	return d.create(d.checkpointsDir(), chkName(id))
}

// NewSavepoint creates the directory of savepoint name and returns its
// path, like NewCheckpoint. The name must be a plain file name. It fails
// if a complete savepoint has this name.
func (d *Dir) NewSavepoint(name string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, delPrefix) {
		return "", fmt.Errorf("checkpoint: bad savepoint name %q", name)
	}
	p := d.fs.PathJoin(d.savepointsDir(), name)
	if _, err := d.fs.Stat(d.fs.PathJoin(p, manifestName)); err == nil {
		return "", fmt.Errorf("checkpoint: savepoint %q exists", name)
	}
	return d.create(d.savepointsDir(), name)
}

// create makes parent/name empty and durable.
func (d *Dir) create(parent, name string) (string, error) {
	p := d.fs.PathJoin(parent, name)
	if err := d.fs.RemoveAll(p); err != nil {
		return "", fmt.Errorf("checkpoint: create %s: %w", p, err)
	}
	if err := d.fs.MkdirAll(p, 0o755); err != nil {
		return "", fmt.Errorf("checkpoint: create %s: %w", p, err)
	}
	// The new directory's entry is made durable by Complete, which syncs
	// the parent: until then a crash may lose it, and an incomplete
	// checkpoint is worthless anyway. (Creating is on the path that
	// blocks processing; completing is not.)
	return p, nil
}

func (d *Dir) syncDir(dir string) error {
	f, err := d.fs.OpenDir(dir)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// whose returns where path lies: a checkpoint (with its id) or a savepoint.
func (d *Dir) whose(path string) (id int64, savepoint bool, err error) {
	parent, name := d.fs.PathDir(path), d.fs.PathBase(path)
	switch filepath.Clean(parent) {
	case filepath.Clean(d.checkpointsDir()):
		if id, ok := parseChk(name); ok {
			return id, false, nil
		}
	case filepath.Clean(d.savepointsDir()):
		return 0, true, nil
	}
	return 0, false, fmt.Errorf("checkpoint: %s is not a checkpoint or savepoint directory of %s", path, d.path)
}

// Complete makes the checkpoint or savepoint at path (from NewCheckpoint or
// NewSavepoint) complete by writing its manifest: to a temporary file,
// synced, then renamed into place, and the directory synced. m.ID must be
// the checkpoint's id, and m.Savepoint must say which it is. Then, for a
// checkpoint, it applies retention (doc.go); an error from retention wraps
// ErrRetention, and the checkpoint is complete all the same.
func (d *Dir) Complete(path string, m Manifest) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, savepoint, err := d.whose(path)
	if err != nil {
		return err
	}
	if savepoint != m.Savepoint {
		return fmt.Errorf("checkpoint: complete %s: Manifest.Savepoint is %v", path, m.Savepoint)
	}
	if !savepoint && m.ID != id {
		return fmt.Errorf("checkpoint: complete %s: Manifest.ID is %d", path, m.ID)
	}
	mp := d.fs.PathJoin(path, manifestName)
	if _, err := d.fs.Stat(mp); err == nil {
		return fmt.Errorf("checkpoint: complete %s: already complete", path)
	}
	if m.Created.IsZero() {
		m.Created = time.Now().UTC()
	}
	if m.NoState {
		if m.StateDir != "" {
			return fmt.Errorf("checkpoint: complete %s: a checkpoint without state names state directory %q", path, m.StateDir)
		}
		if err := d.checkNoState(path); err != nil {
			return fmt.Errorf("checkpoint: complete %s: %w", path, err)
		}
		m.StateFiles = nil
	} else {
		if m.StateDir == "" {
			m.StateDir = defaultStateDir
		}
		files, err := d.stateFiles(path, m.StateDir)
		if err != nil {
			return fmt.Errorf("checkpoint: complete %s: %w", path, err)
		}
		m.StateFiles = files
	}
	data, err := encode(m)
	if err != nil {
		return fmt.Errorf("checkpoint: complete %s: %w", path, err)
	}
	tmp := d.fs.PathJoin(path, tmpName)
	if err := d.writeSynced(tmp, data); err != nil {
		return fmt.Errorf("checkpoint: complete %s: %w", path, err)
	}
	if err := d.fs.Rename(tmp, mp); err != nil {
		return fmt.Errorf("checkpoint: complete %s: %w", path, err)
	}
	if err := d.syncDir(path); err != nil {
		return fmt.Errorf("checkpoint: complete %s: %w", path, err)
	}
	if err := d.syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("checkpoint: complete %s: %w", path, err)
	}
	if savepoint {
		return nil
	}
	if err := d.retain(); err != nil {
		return fmt.Errorf("%w: after completing %s: %w", ErrRetention, path, err)
	}
	return nil
}

// ErrRetention is wrapped by Complete's error when the checkpoint is
// complete but removing old ones failed.
var ErrRetention = errors.New("checkpoint: retention")

func (d *Dir) writeSynced(name string, data []byte) error {
	f, err := d.fs.Create(name, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkNoState checks that the checkpoint directory dir holds no state
// directory (defaultStateDir): a checkpoint without state has none.
func (d *Dir) checkNoState(dir string) error {
	if _, err := d.fs.Stat(d.fs.PathJoin(dir, defaultStateDir)); err == nil {
		return fmt.Errorf("a checkpoint without state has a state directory")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// stateFiles checks that stateDir (relative to dir) holds Pebble
// checkpoints, itself or in subdirectories (one per partition), and returns
// the sizes of its files by slash-separated path relative to stateDir.
func (d *Dir) stateFiles(dir, stateDir string) (map[string]int64, error) {
	if !filepath.IsLocal(stateDir) {
		return nil, fmt.Errorf("state directory %q is not a local relative path", stateDir)
	}
	files := map[string]int64{}
	var walk func(rel string) error
	walk = func(rel string) error {
		p := d.fs.PathJoin(dir, stateDir, filepath.FromSlash(rel))
		names, err := d.fs.List(p)
		if err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
		slices.Sort(names)
		for _, n := range names {
			info, err := d.fs.Stat(d.fs.PathJoin(p, n))
			if err != nil {
				return fmt.Errorf("state directory: %w", err)
			}
			r := n
			if rel != "" {
				r = rel + "/" + n
			}
			if info.IsDir() {
				if err := walk(r); err != nil {
					return err
				}
				continue
			}
			files[r] = info.Size()
		}
		return nil
	}
	if err := walk(""); err != nil {
		return nil, err
	}
	if err := checkPebbleDirs(files); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", d.fs.PathJoin(dir, stateDir), err)
	}
	return files, nil
}

// checkPebbleDirs checks that the files (slash-separated paths) make up
// Pebble checkpoints: each directory that holds files holds a MANIFEST-*
// and an OPTIONS-* file, and there is at least one.
func checkPebbleDirs(files map[string]int64) error {
	type seen struct{ manifest, options bool }
	dirs := map[string]*seen{}
	for f := range files {
		dir, base := path.Split(f)
		s := dirs[dir]
		if s == nil {
			s = &seen{}
			dirs[dir] = s
		}
		s.manifest = s.manifest || strings.HasPrefix(base, "MANIFEST-")
		s.options = s.options || strings.HasPrefix(base, "OPTIONS-")
	}
	if len(dirs) == 0 {
		return errors.New("holds no Pebble checkpoint (no files)")
	}
	names := make([]string, 0, len(dirs))
	for dir := range dirs {
		names = append(names, dir)
	}
	slices.Sort(names)
	for _, dir := range names {
		if s := dirs[dir]; !s.manifest || !s.options {
			return fmt.Errorf("directory %q holds files but no Pebble MANIFEST-* and OPTIONS-* files", "./"+dir)
		}
	}
	return nil
}

// manifestFile is what a MANIFEST holds, before its checksum line.
type manifestFile struct {
	Format int
	Manifest
}

func encode(m Manifest) ([]byte, error) {
	data, err := json.Marshal(manifestFile{Format: formatVersion, Manifest: m})
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	sum := sha256.Sum256(data)
	return fmt.Appendf(data, "sha256 %x\n", sum), nil
}

func decode(data []byte) (Manifest, error) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return Manifest{}, errors.New("no checksum line (truncated?)")
	}
	body, trailer := data[:i+1], data[i+1:]
	hexSum, ok := strings.CutPrefix(string(trailer), "sha256 ")
	if !ok || !strings.HasSuffix(hexSum, "\n") || len(hexSum) != 2*sha256.Size+1 {
		return Manifest{}, fmt.Errorf("bad checksum line %q (truncated?)", trailer)
	}
	if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != hexSum[:len(hexSum)-1] {
		return Manifest{}, fmt.Errorf("checksum mismatch: contents hash to %x, the file says %s", sum, hexSum[:len(hexSum)-1])
	}
	var mf manifestFile
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mf); err != nil {
		return Manifest{}, fmt.Errorf("unparsable: %w", err)
	}
	if mf.Format != formatVersion {
		return Manifest{}, fmt.Errorf("format %d, this build reads %d", mf.Format, formatVersion)
	}
	return mf.Manifest, nil
}

// CorruptError describes a complete checkpoint or savepoint that cannot be
// used. It wraps ErrCorrupt.
type CorruptError struct {
	Path string // the file or directory at fault
	Err  error  // why
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("checkpoint: %s: %v", e.Path, e.Err)
}

func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

// read reads and validates the manifest of the checkpoint or savepoint at
// dir. A missing MANIFEST is an fs.ErrNotExist error; anything wrong with
// a present one is a *CorruptError.
func (d *Dir) read(dir string) (Manifest, error) {
	mp := d.fs.PathJoin(dir, manifestName)
	f, err := d.fs.Open(mp)
	if err != nil {
		return Manifest{}, err
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return Manifest{}, &CorruptError{mp, err}
	}
	m, err := decode(data)
	if err != nil {
		return Manifest{}, &CorruptError{mp, err}
	}
	if m.NoState {
		// Nothing to check beyond the manifest itself, but a manifest
		// that says both is not one this package wrote.
		if m.StateDir != "" || len(m.StateFiles) != 0 {
			return Manifest{}, &CorruptError{mp, fmt.Errorf("a checkpoint without state names state directory %q and %d state files", m.StateDir, len(m.StateFiles))}
		}
		if err := d.checkNoState(dir); err != nil {
			return Manifest{}, &CorruptError{d.fs.PathJoin(dir, defaultStateDir), err}
		}
		return m, nil
	}
	if m.StateDir == "" || !filepath.IsLocal(m.StateDir) {
		return Manifest{}, &CorruptError{mp, fmt.Errorf("bad state directory %q", m.StateDir)}
	}
	sp := d.fs.PathJoin(dir, m.StateDir)
	if _, err := d.fs.Stat(sp); err != nil {
		return Manifest{}, &CorruptError{sp, fmt.Errorf("state directory missing: %w", err)}
	}
	names := make([]string, 0, len(m.StateFiles))
	for n := range m.StateFiles {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !filepath.IsLocal(filepath.FromSlash(n)) {
			return Manifest{}, &CorruptError{mp, fmt.Errorf("bad state file name %q", n)}
		}
		fp := d.fs.PathJoin(sp, filepath.FromSlash(n))
		info, err := d.fs.Stat(fp)
		if err != nil {
			return Manifest{}, &CorruptError{fp, fmt.Errorf("state file missing: %w", err)}
		}
		if info.Size() != m.StateFiles[n] {
			return Manifest{}, &CorruptError{fp, fmt.Errorf("state file has %d bytes, the manifest says %d", info.Size(), m.StateFiles[n])}
		}
	}
	if err := checkPebbleDirs(m.StateFiles); err != nil {
		return Manifest{}, &CorruptError{mp, fmt.Errorf("state files: %w", err)}
	}
	return m, nil
}

// Latest returns the manifest and path of the newest complete checkpoint
// that is valid, with a warning for each newer complete one that is not
// (doc.go, contract 2). With none it returns ErrNoCheckpoint.
func (d *Dir) Latest() (m Manifest, path string, warnings []error, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids, err := d.checkpointIDs()
	if err != nil {
		return Manifest{}, "", nil, err
	}
	for i := len(ids) - 1; i >= 0; i-- {
		p := d.fs.PathJoin(d.checkpointsDir(), chkName(ids[i]))
		m, err := d.read(p)
		switch {
		case err == nil:
			if m.ID != ids[i] || m.Savepoint {
				warnings = append(warnings, &CorruptError{d.fs.PathJoin(p, manifestName), fmt.Errorf("manifest of checkpoint %d (savepoint %v) in the directory of checkpoint %d", m.ID, m.Savepoint, ids[i])})
				continue
			}
			return m, p, warnings, nil
		case errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrCorrupt):
			// Incomplete: not a warning, it may be in progress.
		case errors.Is(err, ErrCorrupt):
			warnings = append(warnings, err)
		default:
			return Manifest{}, "", warnings, fmt.Errorf("checkpoint: %s: %w", p, err)
		}
	}
	return Manifest{}, "", warnings, ErrNoCheckpoint
}

// ReadSavepoint returns the manifest of a complete savepoint and its
// path, given its name (a directory of savepoints/) or a path to its
// directory anywhere (a savepoint may be copied to start another job).
func (d *Dir) ReadSavepoint(nameOrPath string) (Manifest, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := nameOrPath
	if !strings.ContainsAny(nameOrPath, `/\`) {
		p = d.fs.PathJoin(d.savepointsDir(), nameOrPath)
	}
	m, err := d.read(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrCorrupt) {
			return Manifest{}, "", fmt.Errorf("checkpoint: savepoint %s is not complete: %w", p, err)
		}
		return Manifest{}, "", err
	}
	if !m.Savepoint {
		return Manifest{}, "", &CorruptError{d.fs.PathJoin(p, manifestName), errors.New("not a savepoint's manifest")}
	}
	return m, p, nil
}

// checkpointIDs returns the ids of the checkpoint directories, ascending.
func (d *Dir) checkpointIDs() ([]int64, error) {
	names, err := d.fs.List(d.checkpointsDir())
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list %s: %w", d.checkpointsDir(), err)
	}
	var ids []int64
	for _, n := range names {
		if id, ok := parseChk(n); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// List describes every checkpoint (by id) and savepoint (by name).
func (d *Dir) List() ([]Info, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.list()
}

func (d *Dir) list() ([]Info, error) {
	ids, err := d.checkpointIDs()
	if err != nil {
		return nil, err
	}
	var out []Info
	add := func(in Info) {
		_, err := d.read(in.Path)
		if errors.Is(err, fs.ErrNotExist) && !errors.Is(err, ErrCorrupt) {
			err = nil
		} else {
			in.Complete = true
			in.Err = err
		}
		out = append(out, in)
	}
	for _, id := range ids {
		add(Info{Path: d.fs.PathJoin(d.checkpointsDir(), chkName(id)), ID: id, Name: chkName(id)})
	}
	names, err := d.fs.List(d.savepointsDir())
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list %s: %w", d.savepointsDir(), err)
	}
	slices.Sort(names)
	for _, n := range names {
		p := d.fs.PathJoin(d.savepointsDir(), n)
		in := Info{Path: p, Name: n, Savepoint: true}
		if m, err := d.read(p); err == nil {
			in.ID = m.ID
		}
		add(in)
	}
	return out, nil
}

// retain applies retention to the checkpoints (doc.go, contract 3).
func (d *Dir) retain() error {
	infos, err := d.list()
	if err != nil {
		return err
	}
	var valid []int64
	for _, in := range infos {
		if !in.Savepoint && in.Complete && in.Err == nil {
			valid = append(valid, in.ID)
		}
	}
	if len(valid) == 0 {
		return nil
	}
	newest := valid[len(valid)-1]
	oldestKept := valid[max(len(valid)-d.keep, 0)]
	for _, in := range infos {
		if in.Savepoint {
			continue
		}
		valid := in.Complete && in.Err == nil
		if valid && in.ID < oldestKept || !valid && in.ID < newest {
			if err := d.remove(in.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove removes checkpoint id: renamed first, so that a crash never
// leaves a complete-looking checkpoint with missing files.
func (d *Dir) remove(id int64) error {
	from := d.fs.PathJoin(d.checkpointsDir(), chkName(id))
	to := d.fs.PathJoin(d.checkpointsDir(), delPrefix+chkName(id))
	if err := d.fs.RemoveAll(to); err != nil {
		return err
	}
	if err := d.fs.Rename(from, to); err != nil {
		return err
	}
	if err := d.syncDir(d.checkpointsDir()); err != nil {
		return err
	}
	return d.fs.RemoveAll(to)
}
