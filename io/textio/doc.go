// Package textio reads and writes text files one line per element, as
// Beam's TextIO does.
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
//     uncompressed stream, for compressed files).
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
// # Concurrency
//
// A sink made by Write belongs to one run at a time: running the same
// pipeline twice concurrently, or two pipelines into one directory, mixes
// their outputs.
package textio
