package parquetio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The streaming runner commits output once per checkpoint through
// dataflow.EpochSink. Shard writers stage their files in the sink's
// staging directory as in a batch run; CommitEpoch then moves each file to
// a name of its own in its partition directory, derived from its shard
// number (unique within a job across epochs and restarts) and its sequence
// number among the shard's files, so output accumulates:
//
//	dir/window_start=.../part-000000004097-00000.parquet   an earlier epoch
//	dir/window_start=.../part-000000008193-00000.parquet   this one
//	dir/.sluice-tmp-123/window_start=.../shard-12289-00000.parquet   staged
//
// Encoded results name staged files relative to dir, so that after a crash
// a sink of the new process finds what a sink of the old one staged.

// epochName is where CommitEpoch puts f, relative to the output directory.
func epochName(f PendingFile) string {
	return filepath.Join(f.Partition, fmt.Sprintf("part-%012d-%05d.parquet", f.Shard, f.Seq))
}

// CommitEpoch moves the pending files of results (each a []PendingFile)
// into place under names derived from their shards, and leaves all other
// output as it is. A file already in place (staged copy gone, final name
// present) is skipped, so committing the same results again, after a crash
// part way or not, changes nothing; a file in neither place is an error.
func (s *Sink[T]) CommitEpoch(ctx context.Context, results []any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	files, err := PendingFiles(results)
	if err != nil {
		return err
	}
	names := make([]string, len(files))
	roots := map[string]bool{} // staging directories that may now be empty
	for i, f := range files {
		if f.Shard < 0 || f.Seq < 0 {
			return fmt.Errorf("parquetio: commit epoch: file %s has shard %d, sequence %d", f.Staged, f.Shard, f.Seq)
		}
		rel, err := s.stagedRel(f)
		if err != nil {
			return fmt.Errorf("parquetio: commit epoch: %w", err)
		}
		roots[filepath.Join(s.dir, strings.SplitN(filepath.ToSlash(rel), "/", 2)[0])] = true
		names[i] = epochName(f)
	}
	dirs, err := moveIntoPlace(s.dir, files, names)
	if err != nil {
		return err
	}
	if err := syncDirs(dirs); err != nil {
		return err
	}
	s.mu.Lock()
	own := s.mu.staging
	s.mu.Unlock()
	for root := range roots {
		if root != own {
			removeEmptyDirs(root) // a crashed run's directory, once empty
		}
	}
	return nil
}

// stagedRel checks that f lies in a staging directory of the output
// directory and that its partition is a plain relative path, and returns
// its path relative to the output directory. Results come back from
// checkpoints: a corrupt one must not move files from or to anywhere else.
func (s *Sink[T]) stagedRel(f PendingFile) (string, error) {
	rel, err := filepath.Rel(s.dir, f.Staged)
	if err != nil {
		return "", err
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) < 2 || !strings.HasPrefix(parts[0], stagingPrefix) || !filepath.IsLocal(rel) {
		return "", fmt.Errorf("staged file %s is not in a staging directory of %s", f.Staged, s.dir)
	}
	if f.Partition != "" && !filepath.IsLocal(f.Partition) {
		return "", fmt.Errorf("file %s has partition %q outside %s", f.Staged, f.Partition, s.dir)
	}
	return rel, nil
}

// DiscardUncommitted removes the files in the output directory's staging
// directories that no pending file of keep (each a []PendingFile) names,
// and then the directories left empty: what writers of a crashed run
// staged for epochs that no complete checkpoint covers. The runner calls
// it when it restarts, before the restarted run's writers pre-commit.
// While a writer of this sink is open, its staging directory is left
// alone, so that a late call cannot remove a running writer's files.
func (s *Sink[T]) DiscardUncommitted(ctx context.Context, keep []any) error {
	files, err := PendingFiles(keep)
	if err != nil {
		return err
	}
	kept := make(map[string]bool, len(files))
	for _, f := range files {
		rel, err := s.stagedRel(f)
		if err != nil {
			return fmt.Errorf("parquetio: discard: %w", err)
		}
		kept[rel] = true
	}
	// Hold the lock throughout: NewWriter must not open a writer in the
	// sink's staging directory between the check below and the removal.
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := ""
	if len(s.mu.open) > 0 {
		busy = filepath.Base(s.mu.staging)
	}
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing was ever staged
	}
	if err != nil {
		return fmt.Errorf("parquetio: discard: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), stagingPrefix) || e.Name() == busy {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		root := filepath.Join(s.dir, e.Name())
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if rel, _ := filepath.Rel(s.dir, p); !kept[rel] {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					errs = append(errs, err)
				}
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
		if removeEmptyDirs(root) && root == s.mu.staging {
			s.mu.staging = "" // made again by the next writer
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("parquetio: discard: %w", err)
	}
	return nil
}

// removeEmptyDirs removes the empty directories under root, deepest first,
// and root itself if it ends up empty, which it reports.
func removeEmptyDirs(root string) bool {
	var dirs []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, harmlessly, unless empty
	}
	_, err := os.Stat(root)
	return errors.Is(err, os.ErrNotExist)
}

// epochFile is a PendingFile as a checkpoint stores it: the staged path
// relative to the output directory, which may be named differently (a
// relative path from another working directory) after a restart.
type epochFile struct {
	Staged    string
	Partition string
	Shard     int
	Seq       int
	Rows      int64
	Bytes     int64
}

// EncodeResult encodes a writer's result (a []PendingFile) for a checkpoint.
func (s *Sink[T]) EncodeResult(result any) ([]byte, error) {
	files, ok := result.([]PendingFile)
	if !ok {
		return nil, fmt.Errorf("parquetio: encode: unexpected writer result %T", result)
	}
	out := make([]epochFile, len(files))
	for i, f := range files {
		rel, err := s.stagedRel(f)
		if err != nil {
			return nil, fmt.Errorf("parquetio: encode: %w", err)
		}
		out[i] = epochFile{Staged: filepath.ToSlash(rel), Partition: filepath.ToSlash(f.Partition), Shard: f.Shard, Seq: f.Seq, Rows: f.Rows, Bytes: f.Bytes}
	}
	return json.Marshal(out)
}

// DecodeResult decodes what EncodeResult encoded, as a []PendingFile.
func (s *Sink[T]) DecodeResult(b []byte) (any, error) {
	var in []epochFile
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("parquetio: decode writer result: %w", err)
	}
	out := make([]PendingFile, len(in))
	for i, f := range in {
		out[i] = PendingFile{Staged: filepath.Join(s.dir, filepath.FromSlash(f.Staged)), Partition: filepath.FromSlash(f.Partition), Shard: f.Shard, Seq: f.Seq, Rows: f.Rows, Bytes: f.Bytes}
		if _, err := s.stagedRel(out[i]); err != nil {
			return nil, fmt.Errorf("parquetio: decode writer result: %w", err)
		}
	}
	return out, nil
}

// RemoveCommittedFrom removes the committed files of shards numbered
// shard or more (dataflow.EpochRollback), in every partition directory:
// output of epochs after the checkpoint a job was restored from.
func (s *Sink[T]) RemoveCommittedFrom(ctx context.Context, shard int) error {
	var errs []error
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if p != s.dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // staging
			}
			return nil
		}
		name, ok := strings.CutSuffix(d.Name(), ".parquet")
		if !ok {
			return nil
		}
		name, ok = strings.CutPrefix(name, "part-")
		num, _, ok2 := strings.Cut(name, "-")
		n, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil || len(num) < 12 || n < shard {
			return nil
		}
		if err := os.Remove(p); err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("parquetio: rollback: %w", err)
	}
	return nil
}
