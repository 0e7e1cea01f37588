// Package checkpoint keeps a streaming job's checkpoints and savepoints in
// its job directory: it creates their directories, makes them complete by
// writing a manifest atomically, finds the newest valid one at restart,
// and removes old ones. What goes inside (the Pebble checkpoint of the
// state, source positions, sink pre-commits) is the runner's; this package
// only stores and checks it.
//
// # Layout
//
//	<job>/state/                            the live state database (the runner's; never a recovery source)
//	<job>/checkpoints/chk-<id:020d>/        one checkpoint; id increases per job
//	<job>/checkpoints/chk-<id>/MANIFEST     present only once the checkpoint is complete
//	<job>/checkpoints/chk-<id>/MANIFEST.tmp the manifest being written (ignored)
//	<job>/checkpoints/chk-<id>/<StateDir>/  the Pebble checkpoint (default "state"), or one per subdirectory;
//	                                        absent when the manifest says NoState
//	<job>/savepoints/<name>/                a savepoint: the same contents
//	<job>/checkpoints/.del-chk-<id>/        a checkpoint being removed (ignored; removed by Open)
//
// A manifest is the JSON encoding of Manifest (with a format number and
// the names and sizes of the files of StateDir), a newline, then a line
// "sha256 <hex>" holding the SHA-256 of the JSON line, newline included.
//
// # Contract
//
//  1. A checkpoint is complete exactly when its MANIFEST exists. Complete
//     writes it after the runner has written everything else (the state
//     checkpoint first: Complete checks that StateDir, or each of its
//     subdirectories that holds files, holds Pebble's MANIFEST-* and
//     OPTIONS-* files, and records every file's size). A checkpoint
//     whose manifest says NoState (a job without keyed state, or one
//     that has finished) has no state directory, and Complete checks
//     that there is none.
//  2. Latest returns the complete checkpoint with the highest id whose
//     manifest is valid: it parses, its checksum matches, and its state
//     directory holds every file the manifest lists, at the listed sizes
//     (or, with NoState, it lists none and there is no state directory).
//     Each complete checkpoint that fails these checks is skipped with a
//     warning (an error wrapping ErrCorrupt that names the file and why),
//     and the next older one is tried.
//  3. Retention, applied by Complete to checkpoints (never to savepoints):
//     the newest Options.Keep valid complete checkpoints stay; older
//     complete ones, and incomplete or corrupt ones older than the newest
//     valid one, are removed. Incomplete ones newer than it may still be
//     in progress and stay.
//  4. Ids: NewCheckpoint refuses an id not above every complete
//     checkpoint's; NextID is one above every id in the directory,
//     complete or not, and above every savepoint's.
//  5. A restore refuses a checkpoint of another pipeline: Manifest.Pipeline
//     is a Fingerprint, and CheckPipeline's error names both.
//
// # Crash safety
//
// What a crash can leave, and what happens to it:
//
//   - A checkpoint directory with part of its state and no MANIFEST (the
//     crash came before Complete): incomplete, so Latest ignores it;
//     retention removes it once a newer checkpoint is complete, and
//     NewCheckpoint with its id empties it.
//   - A MANIFEST.tmp, whole or torn, and no MANIFEST: the same; only the
//     name MANIFEST counts. The temporary file is synced before it is
//     renamed, so a MANIFEST never has unsynced contents.
//   - A MANIFEST whose rename or directory sync did not reach the disk:
//     either the rename is lost (the case above) or it is there in full.
//     The checksum and the file list still catch a manifest or state
//     damaged any other way, and Latest falls back to the previous one.
//   - A checkpoint half removed by retention: removal first renames the
//     directory to .del-chk-<id> (atomic, then synced), so a checkpoint is
//     either whole under its name or ignored; Open removes leftovers.
//
// Sinks commit on checkpoint completion; if the job crashes after Complete
// and before the commit, the restored manifest still holds the
// pre-commit results (Manifest.Sinks), and the runner commits them again,
// which EpochSink commits are built to allow.
//
// # Concurrency
//
// A Dir's methods may be called from several goroutines; they serialize
// on a mutex. One process at a time owns a job directory.
package checkpoint
