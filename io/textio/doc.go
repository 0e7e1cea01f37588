// Package textio reads and writes text files one line per element, as
// Beam's TextIO does, and JSON lines files (ReadJSON, WriteJSON: one
// encoding/json value per line) through the same machinery.
//
// # Reading
//
// Read returns the lines of every file that a pattern names: a glob
// (filepath.Match syntax), a single file, or a directory (every regular file
// directly in it whose name does not start with "." or "_", in name order).
// The pattern is resolved when the pipeline runs, not when it is built.
//
// What Read promises:
//  1. Every line of every file is read exactly once, however the source is
//     split. A line ends at "\n"; the "\n", or "\r\n", is not part of the
//     element. A final line without a newline is a line; an empty file has
//     none.
//  2. Splits: each file is at least one split, and an uncompressed file larger
//     than the split size (WithSplitSize, 32 MiB by default, smaller when the
//     runner asks for more parts than the files give) is cut into byte ranges.
//     A range [start, end) emits every line that starts in it: unless start
//     is 0 it begins after the first newline at or after start-1, and it reads
//     past end to finish the line that straddles it.
//  3. Compressed files (gzip, by the ".gz" extension or WithCompression) are
//     read whole, as one split each.
//  4. Elements carry timestamp dataflow.MinTime, the global window and
//     dataflow.NoFiringPane, and leave in batches of up to dataflow.BatchSize.
//  5. Errors name what failed: a pattern that matches no file names the
//     pattern; a read error names the file and the byte offset (of the
//     uncompressed stream, for compressed files); a line that ReadJSON
//     cannot decode, the file and the line number (path:line).
//
// # Writing
//
// Write writes one line per element into sharded files in a directory:
// dir/part-00000.txt, dir/part-00001.txt, ... (the prefix and suffix are
// options). Elements should not contain newlines; one that does becomes
// several lines.
//
// Writes are two-phase, through the dataflow.Sink protocol:
//  1. While the pipeline runs, each shard writer writes to a temporary
//     directory inside dir (dir/.sluice-tmp-*/), which readers of dir skip.
//  2. Commit, after every stage has succeeded, moves the shards into dir as
//     part-00000 ... part-(n-1), numbered without gaps, and removes every
//     older part file of the same prefix and suffix that the new output does
//     not replace. Re-running a pipeline therefore replaces its output; it
//     never adds to it.
//  3. Abort (a failed or cancelled run) removes the temporary directory: a run
//     that does not commit leaves no new visible file.
//  4. A process that dies before Commit or Abort leaves its temporary
//     directory behind; Read skips it, and it is safe to delete.
//  5. Shards that received no element are dropped, except that an empty
//     output is one empty file (with the header, if any), so that reading the
//     directory back gives zero lines rather than an error.
//
// Commit renames each file atomically, but not the output as a whole: a
// reader that lists dir during Commit can see a mix of old and new parts, and
// a crash during Commit can leave such a mix until the next run commits.
//
// # Streaming: one commit per checkpoint
//
// The sink is also a dataflow.EpochSink, which the streaming runner commits
// once per checkpoint for exactly-once output across crashes:
//  1. Writers stage their files in the sink's temporary directory as above;
//     closing a writer at a checkpoint barrier is the pre-commit. A writer's
//     result (EncodeResult: JSON) names its file relative to dir, so that a
//     new process finds what an old one staged.
//  2. CommitEpoch moves each staged file to a name derived from its shard
//     number, dir/<prefix>-<shard, 12 or more digits><suffix>, and leaves
//     every other file in place: output accumulates epoch after epoch.
//     Shards are unique within a job, so names never clash. Shards without
//     lines are removed, not committed. A file already in place (staged
//     copy gone, final name present) is skipped, so CommitEpoch can be run
//     again after a crash with the same results; a file that is in neither
//     place is an error, never skipped.
//  3. DiscardUncommitted removes the files of every temporary directory in
//     dir that the given results do not name, and the directories left
//     empty: what a crashed process staged for epochs that no complete
//     checkpoint covers. It leaves this sink's own directory alone while
//     one of its writers is open.
//
// In streaming, Abort must not be called on a sink whose staged files a
// complete checkpoint may still name: it removes the temporary directory
// with them. A later batch Write into the same directory replaces the
// streamed parts, as batch runs do.
//
// # Concurrency
//
// A sink made by Write belongs to one run at a time: running the same
// pipeline twice concurrently, or two pipelines into one directory, mixes
// their outputs.
package textio
