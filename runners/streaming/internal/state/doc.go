// Package state keeps the streaming runner's state in Pebble: the element
// buffers and trigger state of GroupByKeys, the user state and timers of
// stateful ParDos, in one database per job directory.
//
// A Store is the database, an indexed write batch and a bounded write-back
// cache. A Stage is the state of one transform; its KeyedBackend for a key
// is the dataflow.StateBackend a stateful ParDo uses. The per-element
// operations (value and trigger state written per element, appends to bags
// and element buffers, timers set and fired) touch only the cache and the
// Stage's in-memory timer index; what the cache evicts or must
// make visible to an iteration is written to the batch, which reads see;
// Flush writes the rest and commits the batch, which is also committed early
// when it outgrows its share of Options.CacheBytes. BeginCheckpoint takes
// the cut (invariant 9) and writes a Pebble checkpoint (hard-linked SSTs,
// copied WAL and manifest) in the background while processing goes on;
// PendingCheckpoint.Wait reports when it is complete, and Checkpoint is the
// two in a row. Restore puts a checkpoint back in place.
//
// # Key layout
//
// Every key of state begins with its key group, so the state of a range of
// key groups (what a worker owns, what rescaling moves, what a restore of
// part of a job reads) is a range of keys:
//
//	kg:2 | lp(stage) | kind:1 | [lp(id)] | window:16 | lp(key) | tail
//
//	kind 1, element buffer   tail = seq:8               value = chunk of elements
//	kind 2, trigger state    tail = ""                  value = trigger.WindowState bytes
//	kind 3, timer            tail = lp(family) lp(tag)  value = domain:1 fireAt:8 hold:8
//	kind 4, user state id    tail = 0x01 seq:8          value = chunk of bag values
//	                         tail = 0x02 sub            value = a value or map entry
//
// A chunk is values appended in a row, each uvarint length-prefixed; seq is
// the store-wide number of the chunk (meta record "seq").
//
// kg is KeyGroup(key, MaxParallelism) big-endian; lp(x) is x with a uvarint
// length prefix; times are 8 bytes big-endian with the sign bit flipped,
// and a window is its start then its end. Keys that belong to no key group
// start with 0xFF:
//
//	0xFF 1 | name                                      metadata (format, max-parallelism, seq)
//	0xFF 2 | lp(stage) domain:1 fireAt:8 kg:2 lp(key) window:16 lp(family) lp(tag)
//	                                                   timer index; value = hold:8
//	0xFF 3 | lp(stage) gc:8 window:16 kg:2 kind:1 [lp(id)]
//	                                                   window index; value empty
//	0xFF 4 | lp(stage) hold:8                          pending timers per hold; value = count
//
// # Invariants
//
//  1. Key groups are fixed for a job: MaxParallelism and the format version
//     are stored in the database, and Open fails on a mismatch
//     (ErrMaxParallelism). KeyGroup's hash never changes within a format.
//  2. MaxParallelism <= 1<<15, so a key group prefix is below 0x8000 and
//     never collides with the 0xFF prefix; all state of one user key in a
//     stage lies under one key group prefix, and key groups never interleave.
//  3. Byte order is time order: encoded times and windows compare as the
//     values do, so the timer index is ordered by fire time and the window
//     index by garbage-collection time (window MaxTimestamp plus the stage's
//     allowed lateness, capped at the end of the global window, as
//     trigger.Reducer's GarbageCollectionTime).
//  4. Length-prefixed fields are prefix-free: the keys of one (stage, kind,
//     id, window, user key) form one contiguous range, so a scan of a bag or
//     map and the deletion of a window's state are range operations.
//  5. A timer is stored twice, by identity (kind 3; setting it again or
//     clearing it finds the old entry) and in the timer index, and its hold
//     is counted once under 0xFF 4; the three change together. An index
//     entry is in the Stage's in-memory index (timer_mem.go: the timers
//     set since it was last spilled) or in the batch and Pebble, never in
//     both: deleting it removes it from memory if it is there, and writes
//     a deletion to the batch otherwise; Flush and BeginCheckpoint spill
//     the in-memory index to the batch (so does SetTimer when it outgrows
//     maxMemTimers timers or a quarter of the state cache), and DueTimers
//     and MinTimer merge the two. Below a Stage's in-memory floor for a domain the index has no
//     live entry, so popping timers never steps over the tombstones of
//     fired ones.
//  6. Every window that holds state of a stage has a window-index entry for
//     each key group and kind/id of that state, written with the state;
//     ExpireWindows deletes exactly the ranges those entries name (plus the
//     index and hold entries of the windows' timers), never scanning state.
//     Its range deletions go straight to Pebble after the batch is
//     committed: the indexed batch never holds one, since each would make
//     the batch re-fragment its range tombstones on its next read.
//  7. The batch, the cache and the stages' in-memory timer indexes hold
//     every write. Values without a sub-key (value, combining and trigger
//     state), timer records (kind 3), hold counts and pending appends are
//     written back; timer index entries stay in memory (invariant 5); map
//     entries and window-index entries go to the batch at once, so the
//     iterations over them (Scan's map entries, ExpireWindows' reading of
//     the window index) never miss a write. An iteration over
//     written-back state spills it first: Scan the one value and the one
//     bag of its range, Elements the one buffer, WatermarkHold the hold
//     counts, ExpireWindows the timer records of the windows it expires.
//     But where the cache holds a scope whole (cache.complete: the Store
//     created the database and nothing of the scope was evicted since),
//     Elements and ExpireWindows read the cache and write nothing: a
//     window whose state lives and expires between two checkpoints, and
//     fits the cache, never reaches Pebble but for its window-index
//     entries. Flush spills everything. The live database is
//     never a recovery source; only checkpoints are consistent cuts. So
//     commits do not sync, and an early commit between two checkpoints is
//     harmless (but see 9).
//  8. Chunk numbers grow with every chunk written and are stored with every
//     commit, and a buffer's pending values (all in the cache, however
//     many, until it is spilled or evicted) are written as consecutive
//     chunks of about maxChunkBytes, so the chunks of a buffer sort in
//     append order, across reopens and restores. Appending never reads.
//  9. A checkpoint holds exactly the writes made before its
//     BeginCheckpoint. The cut is the batch, after the buffers' pending
//     values and the in-memory timer indexes are written to it (its bytes
//     copied), and a second batch
//     holding the cache's dirty values; a goroutine applies both to
//     Pebble, then takes Pebble's checkpoint. Nothing else is written to
//     Pebble from the cut until that goroutine is done, because Pebble's
//     checkpoint copies the WAL files at its end and they would carry any
//     later commit. Instead the batch keeps every write made meanwhile:
//     early commits wait (until the batch has grown by
//     Options.deferredBatchBytes since the cut, four times its share;
//     past that a write waits for the checkpoint), Flush only spills the
//     cache and the timer indexes into the batch, and ExpireWindows puts
//     its range deletions in
//     the batch. The dirty values the cut wrote stay dirty in the cache
//     (marked with the cut's epoch), so reads keep finding them there and
//     iterations get them spilled into the batch first, whether or not
//     Pebble holds the cut yet; Clear, which deletes a value it does not
//     spill, first spills a value the cut holds, so that its deletion finds
//     it. When the Store learns that the checkpoint is done it drops the
//     batch's entries up to the cut, which Pebble now holds, and marks
//     clean the values the cut wrote that have not changed since. If the
//     apply failed it does neither: the batch is committed whole later and
//     the values are written when next spilled (writing the same writes
//     twice leaves the same state, each key ending with the last of its
//     writes). Pebble's own background work (flushes, compactions) changes
//     files, not contents, and the checkpoint holds on to its version's
//     files and WAL.
//
// # Concurrency
//
// A Store and its Stages and KeyedBackends are used by one goroutine at a
// time; Size may be called from any goroutine while the Store is open, and
// a PendingCheckpoint's Wait and Done from any goroutine, even after Close.
// A pending checkpoint's goroutine uses only the Pebble database, never the
// Store's batch or cache; the Store learns that it is done when it next
// commits, flushes, expires windows or checkpoints. BeginCheckpoint while
// another checkpoint is pending waits for that one first; Close waits for
// a pending checkpoint.
//
// Values returned by reads must not be modified; those of Get and
// GetWindowState stay valid, those of Scan and Elements until the
// iteration advances. Writes made while an iteration is open are not seen
// by it; the batch is never committed under an open iterator, and Flush,
// Checkpoint, BeginCheckpoint and ExpireWindows fail while one is open. An
// iterator opened while a checkpoint is pending sees the state as usual,
// and may stay open when the checkpoint completes.
package state
