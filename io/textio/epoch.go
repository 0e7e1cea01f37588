package textio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The streaming runner commits output once per checkpoint through
// dataflow.EpochSink. Shard writers stage their files in the sink's
// temporary directory as in a batch run; CommitEpoch then moves each
// non-empty shard to a name of its own, derived from its shard number
// (unique within a job across epochs and restarts), so output accumulates:
//
//	dir/part-000000004097.txt        committed by an earlier epoch
//	dir/part-000000008193.txt        committed by this one
//	dir/.sluice-tmp-123/part-000000012289.txt   staged, invisible
//
// A result names its staged file relative to dir, so that after a crash a
// sink of the new process finds the files that a sink of the old one
// staged, whatever its own temporary directory is called.

// epochName is where CommitEpoch puts a shard, relative to dir.
func (s *sink[T]) epochName(shard int) string {
	return fmt.Sprintf("%s-%012d%s", s.cfg.prefix, shard, s.cfg.suffix)
}

// CommitEpoch moves the staged files of results into dir under names
// derived from their shard numbers, and leaves every other file in dir as
// it is. A file that is already in place (staged copy gone, final name
// present) is skipped, so committing the same results again, after a crash
// part way or not, changes nothing. Shards without lines are removed
// instead of committed.
func (s *sink[T]) CommitEpoch(ctx context.Context, results []any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	parts, err := shardFiles("commit epoch", results)
	if err != nil {
		return err
	}
	s.mu.Lock()
	own := s.mu.tmp
	s.mu.Unlock()
	staging := map[string]bool{} // staging directories that may now be empty
	for _, p := range parts {
		if p.Shard < 0 {
			return fmt.Errorf("textio: commit epoch: negative shard %d", p.Shard)
		}
		src, err := s.stagedPath(p.Staged)
		if err != nil {
			return fmt.Errorf("textio: commit epoch: %w", err)
		}
		staging[filepath.Dir(src)] = true
		if p.Lines == 0 {
			if err := os.Remove(src); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("textio: commit epoch: %w", err)
			}
			continue
		}
		dst := filepath.Join(s.dir, s.epochName(p.Shard))
		if err := os.Rename(src, dst); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				if _, serr := os.Stat(dst); serr == nil {
					continue // committed before
				}
			}
			return fmt.Errorf("textio: commit epoch: shard %d: %w", p.Shard, err)
		}
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	for d := range staging {
		if d != own {
			os.Remove(d) // a crashed run's directory, once empty; fails harmlessly if not
		}
	}
	return nil
}

// stagedPath resolves a result's staged file, which must lie in one of
// dir's temporary directories: results come back from checkpoints, and a
// corrupt one must not move arbitrary files.
func (s *sink[T]) stagedPath(rel string) (string, error) {
	rel = filepath.Clean(rel)
	d, f := filepath.Split(rel)
	if f == "" || !strings.HasPrefix(d, tempPrefix) || strings.Count(filepath.ToSlash(rel), "/") != 1 {
		return "", fmt.Errorf("staged file %q is not in a temporary directory of %s", rel, s.dir)
	}
	return filepath.Join(s.dir, rel), nil
}

// DiscardUncommitted removes the files in dir's temporary directories that
// none of keep names, and then the directories left empty: what writers of
// a crashed run staged for epochs that no complete checkpoint covers. The
// runner calls it when it restarts, before the restarted run's writers
// pre-commit. While a writer of this sink is open, its temporary directory
// is left alone, so that a late call cannot remove a running writer's file.
func (s *sink[T]) DiscardUncommitted(ctx context.Context, keep []any) error {
	parts, err := shardFiles("discard", keep)
	if err != nil {
		return err
	}
	kept := make(map[string]bool, len(parts))
	for _, p := range parts {
		kept[filepath.Clean(p.Staged)] = true
	}
	// Hold the lock throughout: NewWriter must not create a file in the
	// sink's directory between the check below and its removal.
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := ""
	if len(s.mu.open) > 0 {
		busy = filepath.Base(s.mu.tmp)
	}
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing was ever staged
	}
	if err != nil {
		return fmt.Errorf("textio: discard: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) || e.Name() == busy {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		files, err := os.ReadDir(filepath.Join(s.dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		left := 0
		for _, f := range files {
			rel := filepath.Join(e.Name(), f.Name())
			if kept[rel] {
				left++
				continue
			}
			if err := os.RemoveAll(filepath.Join(s.dir, rel)); err != nil {
				errs = append(errs, err)
				left++
			}
		}
		if left == 0 {
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			if filepath.Join(s.dir, e.Name()) == s.mu.tmp {
				s.mu.tmp = "" // made again by the next writer
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("textio: discard: %w", err)
	}
	return nil
}

// EncodeResult encodes a writer's result for a checkpoint.
func (s *sink[T]) EncodeResult(result any) ([]byte, error) {
	sf, ok := result.(shardFile)
	if !ok {
		return nil, fmt.Errorf("textio: encode: unexpected writer result %T", result)
	}
	return json.Marshal(sf)
}

// DecodeResult decodes what EncodeResult encoded.
func (s *sink[T]) DecodeResult(b []byte) (any, error) {
	var sf shardFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, fmt.Errorf("textio: decode writer result: %w", err)
	}
	if _, err := s.stagedPath(sf.Staged); err != nil {
		return nil, fmt.Errorf("textio: decode writer result: %w", err)
	}
	return sf, nil
}

// RemoveCommittedFrom removes the committed files of shards numbered
// shard or more (dataflow.EpochRollback): output of epochs after the
// checkpoint a job was restored from.
func (s *sink[T]) RemoveCommittedFrom(ctx context.Context, shard int) error {
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("textio: rollback: %w", err)
	}
	prefix := s.cfg.prefix + "-"
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, s.cfg.suffix) {
			continue
		}
		num := strings.TrimSuffix(strings.TrimPrefix(name, prefix), s.cfg.suffix)
		n, err := strconv.Atoi(num)
		if err != nil || len(num) < 12 || n < shard {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
			return fmt.Errorf("textio: rollback: %w", err)
		}
	}
	return nil
}
