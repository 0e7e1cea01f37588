package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// ErrMaxParallelism is returned (wrapped) by Open when the database was
// created with another MaxParallelism: its keys are grouped differently.
var ErrMaxParallelism = errors.New("max parallelism differs from the job's")

// formatVersion is the version of the key layout (doc.go), stored in the
// database. Bump it with any change to the layout or to KeyGroup.
const formatVersion = 1

// Store is the state of one job: one Pebble database in a job directory,
// a write batch that holds every write until it is committed, and a bounded
// read cache in front of both. See doc.go for the contract.
type Store struct {
	// rangeDels counts the range deletions applied since the memtable was
	// last flushed for them (ExpireWindows).
	rangeDels int

	db    *pebble.DB
	dir   string
	opts  Options
	batch *pebble.Batch // indexed: reads see it; committed by Flush
	// spillTo, when not nil, receives what the cache spills instead of the
	// batch: Flush spills into a plain batch that it commits right after
	// the indexed one, sparing the indexed batch's skiplist inserts.
	spillTo *pebble.Batch
	cache   *cache

	stages map[string]*Stage
	// iters counts open iterators over the batch. While any is open the
	// batch is not committed early: committing resets it under them.
	iters int
	// timerGen changes with every timer write, so DueTimers knows when the
	// timers it read ahead may be stale.
	timerGen uint64
	// seq numbers the chunks of bags and element buffers, store-wide. It is
	// stored with every commit, so a reopened or restored store continues
	// after every chunk it holds.
	seq uint64
	// err is sticky: after a failed commit the batch's fate is unknown, and
	// every later call fails with it.
	err error

	// pending is the checkpoint whose Pebble part is still running in the
	// background, or nil. While it is set nothing is written to Pebble
	// (doc.go, invariant 9): the batch keeps every write, so the checkpoint
	// holds exactly the state of its BeginCheckpoint. settle clears it.
	pending *PendingCheckpoint
	// deferredFlush is set by a Flush made while a checkpoint was pending,
	// whose writes the batch holds: Close commits them. Any commit clears it.
	deferredFlush bool
	// stalls and stalled count the waits of writes for a pending checkpoint
	// because the batch outgrew deferredBatchBytes, and maxTrim is the
	// longest trimBatch (for benchmarks).
	stalls  int
	stalled time.Duration
	maxTrim time.Duration
	// epoch numbers the checkpoints' cuts, for the cache's entry.cut.
	epoch uint8
	// beforeApply, if set (by tests), is called by a checkpoint's goroutine
	// before it applies the cut to Pebble.
	beforeApply func()

	// Scratch buffers for keys, one per role so that a key built in one
	// role survives the building of another (sbuf and cbuf are spill's,
	// which runs inside cache evictions). The Store is used by one
	// goroutine at a time, so they are never shared.
	kbuf, ibuf, hbuf, mbuf, sbuf, cbuf []byte
}

// quietLogger drops Pebble's informational messages (one per flush and
// compaction) and keeps its errors.
type quietLogger struct{ pebble.Logger }

func (quietLogger) Infof(string, ...any) {}

// Open opens (creating if need be) the state database in dir.
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	bc := pebble.NewCache(opts.blockCacheBytes())
	defer bc.Unref() // the DB holds its own reference
	db, err := pebble.Open(dir, &pebble.Options{
		FS:           opts.FS,
		Cache:        bc,
		MemTableSize: opts.memTableBytes(),
		// Flush and early commits apply batches as large as a memtable;
		// room for a few queued memtables keeps them from stalling.
		MemTableStopWritesThreshold: 4,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      quietLogger{pebble.DefaultLogger},
	})
	if err != nil {
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	s := &Store{
		db:     db,
		dir:    dir,
		opts:   opts,
		cache:  newCache(opts.stateCacheBudget()),
		stages: map[string]*Stage{},
	}
	s.cache.spill = s.spill
	if err := s.checkMeta(); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	if err := s.loadSeq(); err != nil {
		db.Close()
		return nil, fmt.Errorf("state: open %s: %w", dir, err)
	}
	s.batch = db.NewIndexedBatch()
	return s, nil
}

func metaKey(name string) []byte { return append([]byte{globalPrefix, nsMeta}, name...) }

// checkMeta records the format version and MaxParallelism in a new
// database and checks them in an existing one.
func (s *Store) checkMeta() error {
	want := map[string]uint64{"format": formatVersion, "max-parallelism": uint64(s.opts.MaxParallelism)}
	b := s.db.NewBatch()
	defer b.Close()
	for _, name := range []string{"format", "max-parallelism"} {
		v, closer, err := s.db.Get(metaKey(name))
		switch {
		case errors.Is(err, pebble.ErrNotFound):
			if err := s.checkEmpty(); err != nil {
				return err
			}
			// A new database: everything it will ever hold is written
			// through this Store, so the cache knows what is absent.
			s.cache.fresh = true
			b.Set(metaKey(name), binary.AppendUvarint(nil, want[name]), nil)
			continue
		case err != nil:
			return fmt.Errorf("read %s: %w", name, err)
		}
		got, n := binary.Uvarint(v)
		closer.Close()
		if n <= 0 {
			return fmt.Errorf("corrupt %s record %x", name, v)
		}
		switch {
		case name == "format" && got != formatVersion:
			return fmt.Errorf("state format version %d, this build reads %d", got, formatVersion)
		case name == "max-parallelism" && got != want[name]:
			return fmt.Errorf("the job's state has MaxParallelism %d, options say %d: %w", got, want[name], ErrMaxParallelism)
		}
	}
	return s.db.Apply(b, pebble.Sync)
}

// loadSeq reads the chunk sequence number.
func (s *Store) loadSeq() error {
	v, closer, err := s.db.Get(metaKey("seq"))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read seq: %w", err)
	}
	defer closer.Close()
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return fmt.Errorf("corrupt seq record %x", v)
	}
	s.seq = n
	return nil
}

// checkEmpty fails if the database holds state but no metadata.
func (s *Store) checkEmpty() error {
	it, err := s.db.NewIter(&pebble.IterOptions{UpperBound: []byte{globalPrefix, nsMeta}})
	if err != nil {
		return err
	}
	found := it.First()
	if err := it.Close(); err != nil {
		return err
	}
	if found {
		return errors.New("database holds state but no metadata: not a Sluice state directory")
	}
	return nil
}

// MaxParallelism returns the number of key groups.
func (s *Store) MaxParallelism() int { return s.opts.MaxParallelism }

// KeyGroup returns the key group of an encoded user key in this store.
func (s *Store) KeyGroup(key []byte) uint16 { return KeyGroup(key, s.opts.MaxParallelism) }

// Stage returns the state of the stage (a transform name, stable across
// versions of the job). Asking again for the same name returns the same
// Stage; asking with other options is an error.
func (s *Store) Stage(name string, opts StageOptions) (*Stage, error) {
	if st, ok := s.stages[name]; ok {
		if st.opts != opts {
			return nil, fmt.Errorf("state: stage %q opened with options %+v and then %+v", name, st.opts, opts)
		}
		return st, nil
	}
	if opts.AllowedLateness < 0 {
		return nil, fmt.Errorf("state: stage %q: negative allowed lateness %d", name, opts.AllowedLateness)
	}
	st := &Stage{s: s, id: uint32(len(s.stages)), name: name, opts: opts, lpName: appendLP(nil, name)}
	s.stages[name] = st
	return st, nil
}

// Flush commits every write so far to Pebble. It does not sync: the live
// database is never a recovery source (doc.go, invariant 7); checkpoints
// are. While a checkpoint is pending it only moves the cache's unwritten
// state into the batch, which is committed once the checkpoint is done
// (invariant 9); reads see the same either way.
func (s *Store) Flush() error {
	if err := s.check(); err != nil {
		return err
	}
	if s.iters > 0 {
		return errors.New("state: Flush while an iterator over state is open")
	}
	if !s.settle(false) {
		err := s.cache.spillAll()
		if err == nil {
			err = s.spillTimers()
		}
		if err != nil {
			s.err = fmt.Errorf("state: flush: %w", err)
			return s.err
		}
		s.deferredFlush = true
		return s.wrote()
	}
	if err := s.commit(); err != nil {
		return err
	}
	// Nothing reads between here and the commit below, so the cache's
	// unwritten state goes to a plain batch, applied after the indexed one
	// (its values are newer than any the indexed batch holds).
	pb := s.db.NewBatch()
	defer pb.Close()
	s.spillTo = pb
	err := s.cache.spillAll()
	if err == nil {
		err = s.spillTimers()
	}
	s.spillTo = nil
	if err == nil && !pb.Empty() {
		if err = pb.Set(metaKey("seq"), binary.AppendUvarint(nil, s.seq), nil); err == nil {
			err = s.db.Apply(pb, pebble.NoSync)
		}
	}
	if err != nil {
		s.err = fmt.Errorf("state: flush: %w", err)
		return s.err
	}
	return nil
}

// spillTimers writes every stage's in-memory timer index to the batch (or
// where the cache spills).
func (s *Store) spillTimers() error {
	for _, st := range s.stages {
		if err := st.spillTimers(); err != nil {
			return err
		}
	}
	return nil
}

// commit writes the batch to Pebble. The caller has settled the pending
// checkpoint: nothing may reach Pebble while one runs.
func (s *Store) commit() error {
	if s.pending != nil {
		panic("state: commit while a checkpoint is pending")
	}
	if s.batch.Empty() {
		return nil
	}
	if err := s.batch.Set(metaKey("seq"), binary.AppendUvarint(nil, s.seq), nil); err != nil {
		return fmt.Errorf("state: commit: %w", err)
	}
	if err := s.batch.Commit(pebble.NoSync); err != nil {
		s.err = fmt.Errorf("state: commit: %w", err)
		return s.err
	}
	s.batch.Reset()
	s.deferredFlush = false
	return nil
}

// wrote is called after every write: it commits the batch early when it has
// grown past its share of CacheBytes, so memory stays bounded between
// Flushes. While a checkpoint is pending the batch may grow to
// deferredBatchBytes; past that the write waits for the checkpoint.
func (s *Store) wrote() error {
	if s.iters > 0 || s.batch.Len() <= s.opts.batchBytes() {
		return nil
	}
	if !s.settle(false) {
		if s.batch.Len()-s.pending.cutLen <= s.opts.deferredBatchBytes() {
			return nil
		}
		start := time.Now()
		s.settle(true)
		s.stalls++
		s.stalled += time.Since(start)
	}
	return s.commit()
}

// settle forgets the pending checkpoint if it is done (or, with block, once
// it is), and reports whether none is pending: whether Pebble may be
// written. The checkpoint's error is Wait's to report, not the Store's: the
// live state is intact whatever became of the copy.
func (s *Store) settle(block bool) bool {
	p := s.pending
	if p == nil {
		return true
	}
	if block {
		<-p.done
	} else {
		select {
		case <-p.done:
		default:
			return false
		}
	}
	s.pending = nil
	if p.applied && s.iters == 0 {
		// Pebble holds the cut: the batch keeps only what followed it, and
		// the cache entries the cut wrote that have not changed since are
		// written. Otherwise (the background apply failed, or an iterator
		// is open over the batch) the whole batch is committed later, and
		// the cache entries stay unwritten; applying the batch's part
		// before the cut twice leaves the state as applying it once, since
		// each key ends with the last of its writes either way.
		start := time.Now()
		if p.cutLen > 0 {
			if err := s.trimBatch(p.cutLen, p.cutCount); err != nil {
				s.err = fmt.Errorf("state: after checkpoint to %s: %w", p.dir, err)
				return true
			}
		}
		s.cache.markWritten(p.epoch, p.cutRefs)
		s.maxTrim = max(s.maxTrim, time.Since(start))
	}
	return true
}

// trimBatch replaces the batch with one holding only its entries after the
// first cutLen bytes (cutCount entries), which Pebble already holds. The
// new batch indexes them again; the old one is closed. No iterator may be
// open over the batch.
func (s *Store) trimBatch(cutLen int, cutCount uint32) error {
	nb := s.db.NewIndexedBatch()
	repr := s.batch.Repr()
	if n := s.batch.Count() - cutCount; n > 0 {
		tail := make([]byte, batchHeaderLen, batchHeaderLen+len(repr)-cutLen)
		binary.LittleEndian.PutUint32(tail[8:], n)
		tail = append(tail, repr[cutLen:]...)
		tb := s.db.NewBatch()
		err := tb.SetRepr(tail)
		if err == nil {
			err = nb.Apply(tb, nil)
		}
		tb.Close()
		if err != nil {
			nb.Close()
			return err
		}
	}
	s.batch.Close()
	s.batch = nb
	return nil
}

// batchHeaderLen is the length of a Pebble batch's header: an 8-byte
// sequence number, then a 4-byte little-endian count of entries.
const batchHeaderLen = 12

// PendingCheckpoint is a checkpoint begun by BeginCheckpoint whose files
// are being written in the background.
type PendingCheckpoint struct {
	dir  string
	done chan struct{}
	// Written by the background goroutine before done is closed.
	err     error
	applied bool // the cut is in Pebble
	// The batch's length and count at the cut, for trimBatch.
	cutLen   int
	cutCount uint32
	// The cut's epoch and the point entries of the cache it wrote, for
	// markWritten.
	epoch   uint8
	cutRefs []dirtyRef
}

// Dir returns the directory the checkpoint is written to.
func (p *PendingCheckpoint) Dir() string { return p.dir }

// Done returns a channel closed when the checkpoint is complete or has
// failed; Wait then returns at once.
func (p *PendingCheckpoint) Done() <-chan struct{} { return p.done }

// Wait waits for the checkpoint and returns nil once its directory holds
// a complete checkpoint, ready for Restore. On error the directory has
// been removed (as far as the file system allowed). Wait may be called
// from any goroutine, any number of times.
func (p *PendingCheckpoint) Wait() error {
	<-p.done
	return p.err
}

// BeginCheckpoint starts a checkpoint of the state as of the call into
// dir, which must not exist, and returns once the cut is taken: every
// write before the call is in the checkpoint, none after it. The Store may
// be used again right away, including while the checkpoint's files are
// written in the background; Wait reports when they are complete.
//
// The synchronous part writes buffers' pending values to the batch and the
// cache's dirty values into a new batch, and copies the batch's bytes;
// nothing is written to Pebble, so no Pebble write stall holds up the
// caller. In the background the two are
// applied to Pebble, then Pebble's checkpoint (a WAL sync, hard-linked
// SSTs, copied manifest and WAL) is taken. Until that is done the Store
// writes nothing to Pebble (doc.go, invariant 9), so what the checkpoint
// holds is exactly the cut. A BeginCheckpoint while another is pending
// first waits for that one.
func (s *Store) BeginCheckpoint(dir string) (*PendingCheckpoint, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.iters > 0 {
		return nil, errors.New("state: checkpoint while an iterator over state is open")
	}
	s.settle(true)
	if err := s.check(); err != nil {
		return nil, err
	}
	// Pebble checks this too, but only in the background: an existing
	// directory is the caller's mistake and is better reported here.
	if _, err := s.opts.FS.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			err = fs.ErrExist
		}
		return nil, fmt.Errorf("state: checkpoint to %s: %w", dir, err)
	}
	// The timers in the stages' in-memory indexes go to the batch, and so
	// into the cut.
	if err := s.spillTimers(); err != nil {
		s.err = fmt.Errorf("state: checkpoint: %w", err)
		return nil, s.err
	}
	s.epoch++
	if s.epoch == 0 {
		s.epoch = 1
	}
	p := &PendingCheckpoint{dir: dir, done: make(chan struct{}), epoch: s.epoch}
	// The cut is the batch with the buffers' pending values (copied: it
	// goes on growing, and Pebble rewrites a batch's header as it applies
	// it) and the cache's dirty values, written to a batch of their own
	// but left dirty in the cache, where reads find them, and spilled
	// before any iteration over them, until Pebble holds the cut.
	cb := s.db.NewBatchWithSize(int(min(s.cache.used, int64(s.opts.CacheBytes)) + 64))
	refs, err := s.cache.spillCut(s.epoch, func(k string, e *entry) error { return s.writeCut(cb, k, e) })
	if err == nil {
		p.cutRefs = refs
		err = cb.Set(metaKey("seq"), binary.AppendUvarint(nil, s.seq), nil)
	}
	if err != nil {
		cb.Close()
		s.err = fmt.Errorf("state: checkpoint: %w", err)
		return nil, s.err
	}
	var cut []byte
	if !s.batch.Empty() {
		cut = bytes.Clone(s.batch.Repr())
		p.cutLen, p.cutCount = len(cut), s.batch.Count()
	}
	s.pending = p
	db, beforeApply := s.db, s.beforeApply
	go func() {
		defer close(p.done)
		defer cb.Close()
		if beforeApply != nil {
			beforeApply()
		}
		var err error
		if cut != nil {
			b := db.NewBatch()
			if err = b.SetRepr(cut); err == nil {
				err = db.Apply(b, pebble.NoSync)
			}
			b.Close()
		}
		if err == nil {
			err = db.Apply(cb, pebble.NoSync) // after the batch: its values are newer
		}
		if err != nil {
			p.err = fmt.Errorf("state: checkpoint to %s: apply: %w", dir, err)
			return
		}
		p.applied = true
		if err := db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
			p.err = fmt.Errorf("state: checkpoint to %s: %w", dir, err)
		}
	}()
	return p, nil
}

// writeCut writes a dirty point entry of the cache to the cut's batch cb.
func (s *Store) writeCut(cb *pebble.Batch, k string, e *entry) error {
	kb := append(s.sbuf[:0], k...)
	s.sbuf = kb
	if e.present {
		return cb.Set(kb, e.val, nil)
	}
	return cb.Delete(kb, nil)
}

// Checkpoint writes a consistent snapshot of the state to dir, which must
// not exist: BeginCheckpoint, then Wait. SSTs are hard-linked (on the same
// file system), so the cost is the WAL and manifest copies, not the size
// of the state.
func (s *Store) Checkpoint(dir string) error {
	p, err := s.BeginCheckpoint(dir)
	if err != nil {
		return err
	}
	return p.Wait()
}

// Size returns the disk space the state uses, in bytes (Pebble's
// DiskSpaceUsage: live and obsolete tables, WAL and manifest). Unlike the
// other methods it may be called from any goroutine, but not after Close.
func (s *Store) Size() uint64 { return s.db.Metrics().DiskSpaceUsage() }

// Close waits for a pending checkpoint, then closes the database. Writes
// not Flushed are discarded, except those an early commit already wrote.
func (s *Store) Close() error {
	if s.db == nil {
		return errors.New("state: store closed twice")
	}
	s.settle(true)
	var err error
	if s.deferredFlush && s.check() == nil {
		err = s.commit()
	}
	s.batch.Close()
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	s.db = nil
	if err != nil {
		return fmt.Errorf("state: close %s: %w", s.dir, err)
	}
	return nil
}

// Restore replaces the state database in dir with a copy of the checkpoint
// in checkpointDir, ready for Open. SSTs and blob files, which Pebble never
// modifies, are hard-linked when the file system allows; the WAL, manifest
// and options files, which an opened database appends to or recycles, are
// copied so the checkpoint stays intact. The copy is made beside dir and
// renamed into place. Only opts.FS is used.
func Restore(checkpointDir, dir string, opts Options) error {
	fs := opts.FS
	if fs == nil {
		fs = vfs.Default
	}
	names, err := fs.List(checkpointDir)
	if err != nil {
		return fmt.Errorf("state: restore %s: %w", checkpointDir, err)
	}
	tmp := dir + ".restoring"
	if err := fs.RemoveAll(tmp); err != nil {
		return fmt.Errorf("state: restore: %w", err)
	}
	if err := fs.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("state: restore: %w", err)
	}
	for _, name := range names {
		src, dst := fs.PathJoin(checkpointDir, name), fs.PathJoin(tmp, name)
		info, err := fs.Stat(src)
		if err != nil {
			return fmt.Errorf("state: restore %s: %w", src, err)
		}
		if info.IsDir() {
			return fmt.Errorf("state: restore %s: unexpected directory in a checkpoint", src)
		}
		if strings.HasSuffix(name, ".sst") || strings.HasSuffix(name, ".blob") {
			err = vfs.LinkOrCopy(fs, src, dst)
		} else {
			err = vfs.Copy(fs, src, dst)
		}
		if err != nil {
			return fmt.Errorf("state: restore %s: %w", src, err)
		}
	}
	if err := fs.RemoveAll(dir); err != nil {
		return fmt.Errorf("state: restore: %w", err)
	}
	if err := fs.Rename(tmp, dir); err != nil {
		return fmt.Errorf("state: restore: %w", err)
	}
	return nil
}

// check returns the sticky error, if any.
func (s *Store) check() error {
	if s.err == nil && s.cache.err != nil {
		s.err = fmt.Errorf("state: write back: %w", s.cache.err)
	}
	return s.err
}

// getPoint reads k through the cache, then the batch and Pebble. The value
// must not be modified; it stays valid (later writes of k never reuse it).
func (s *Store) getPoint(sc scope, k []byte) ([]byte, bool, error) {
	if err := s.check(); err != nil {
		return nil, false, err
	}
	if e, ok := s.cache.get(sc, k); ok {
		return e.val, e.present, nil
	}
	if s.cache.complete(sc) {
		return nil, false, nil // never written, or expired with its window
	}
	v, closer, err := s.batch.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		s.cache.put(sc, k, entry{})
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state: get %x: %w", k, err)
	}
	val := bytes.Clone(v)
	closer.Close()
	s.cache.put(sc, k, entry{present: true, val: val})
	return val, true, nil
}

// setPoint writes k=v. With writeBack (and the cache on) the write stays
// in the cache until it is spilled; otherwise it goes to the batch at once.
func (s *Store) setPoint(sc scope, k, v []byte, writeBack bool) error {
	return s.writePoint(sc, k, v, true, writeBack)
}

// deletePoint deletes k, like setPoint.
func (s *Store) deletePoint(sc scope, k []byte, writeBack bool) error {
	return s.writePoint(sc, k, nil, false, writeBack)
}

func (s *Store) writePoint(sc scope, k, v []byte, present, writeBack bool) error {
	if err := s.check(); err != nil {
		return err
	}
	if s.cache.budget == 0 || !writeBack {
		var err error
		if present {
			err = s.batch.Set(k, v, nil)
		} else {
			err = s.batch.Delete(k, nil)
		}
		if err != nil {
			return fmt.Errorf("state: write: %w", err)
		}
		if s.cache.budget == 0 {
			return nil
		}
	}
	// A fresh copy, never the old value's buffer: a value returned by Get
	// may have been decoded without copying (a user's coder may alias its
	// input), and must not change under the caller, as with memBackend.
	var val []byte
	if present {
		val = bytes.Clone(v)
	}
	s.cache.put(sc, k, entry{present: present, dirty: writeBack, val: val})
	return nil
}

// spill writes an entry's unwritten state to the batch (the cache's spill
// function).
func (s *Store) spill(sc scope, k string, e *entry) error {
	kb := append(s.sbuf[:0], k...)
	s.sbuf = kb
	if e.buffer {
		return s.writeChunk(kb, e)
	}
	var err error
	if e.present {
		err = s.spillBatch().Set(kb, e.val, nil)
	} else {
		err = s.spillBatch().Delete(kb, nil)
	}
	if err != nil {
		return fmt.Errorf("state: write: %w", err)
	}
	e.dirty, e.cut = false, 0
	return nil
}

// spillBatch is where spilled state goes.
func (s *Store) spillBatch() *pebble.Batch {
	if s.spillTo != nil {
		return s.spillTo
	}
	return s.batch
}

// newIter opens an iterator over the batch and Pebble within [lo, hi).
// The caller must call closeIter. The bounds are copied: Pebble needs them
// unchanged while the iterator is open, and callers pass scratch buffers.
func (s *Store) newIter(lo, hi []byte) (*pebble.Iterator, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	it, err := s.batch.NewIter(&pebble.IterOptions{LowerBound: bytes.Clone(lo), UpperBound: bytes.Clone(hi)})
	if err != nil {
		return nil, fmt.Errorf("state: iterate: %w", err)
	}
	s.iters++
	return it, nil
}

func (s *Store) closeIter(it *pebble.Iterator) error {
	s.iters--
	if err := it.Close(); err != nil {
		return fmt.Errorf("state: iterate: %w", err)
	}
	return nil
}
