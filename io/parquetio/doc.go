// Package parquetio reads and writes Parquet files through
// github.com/parquet-go/parquet-go: rows of a Go struct T whose schema comes
// from parquet-go's struct tags.
//
// # Reading
//
// Read returns the rows of every file that its pattern (and the Files option)
// names: a file, a glob (filepath.Match syntax, whose matching directories
// count as directories) or a directory, which means every regular file under
// it, recursively, whose name and directories do not start with "." or "_"
// (writers keep staging and marker files under such names). Patterns are
// resolved when the pipeline runs, and every file is read once however many
// patterns name it.
//
// What Read promises:
//  1. Columns map to T's fields by name (their path, for nested structs), not
//     by position: files of other writers, with other column orders, extra
//     columns, optional (nullable) columns and nested groups, read alike.
//     Only the columns T declares are read and decoded (projection).
//  2. A null reads as the zero value, or nil for a pointer field. A column
//     that T declares and the file lacks reads as zero or nil if the field is
//     optional (a pointer, or tagged optional); a required one is an error, as
//     is a column whose type the field cannot hold (a string column for an
//     int64 field). Numbers convert between widths and to floats; TIMESTAMP
//     (any unit), DATE and INT96 columns fill time.Time fields, in UTC.
//  3. Flat structs (scalar fields and nested structs, no slices but []byte,
//     no maps, no pointers to structs) are decoded column by column straight
//     into the batches of elements, page by page, without a per-row
//     allocation: strings of a dictionary-encoded page share the dictionary's,
//     others one allocation per run of rows. Other T are read by parquet-go's
//     GenericReader[T], which converts by column name.
//  4. Splits: each row group is a split; a row group larger than SplitRows
//     (by default the rows divided by the runner's desired number of splits,
//     at least 64Ki) is several, when its file has an offset index to start
//     mid-row-group. Rows leave in batches of up to dataflow.BatchSize.
//  5. Hive partitions: the key=value directories on a file's path fill the
//     top-level fields of T whose column name is key (parsed as the field's
//     type; times as RFC 3339, dates or milliseconds; Hive's
//     __HIVE_DEFAULT_PARTITION__ is null). The directory wins over a column
//     of the same name in the file.
//  6. Event time: elements carry dataflow.MinTime, or the time of
//     EventTimeColumn (read even if T does not declare it) or of EventTime's
//     function, in milliseconds; always the global window and
//     dataflow.NoFiringPane.
//  7. Pushdown: TimeRange (with EventTimeColumn) and Where skip the row
//     groups whose column statistics rule out every row, then the pages that
//     the page index (column and offset indexes) rules out, before decoding
//     anything else; a Where on a partition key skips whole files unopened.
//     Rows that survive are filtered one by one, so the result never depends
//     on the statistics a writer left. A WithStats Stats counts what was
//     pruned, decoded and read.
//  8. Bad input fails the run with a *ReadError naming the file, the row
//     group (when one is at fault) and the column: a file that is not Parquet
//     or is truncated (its footer cannot be read), a damaged page, a schema
//     that does not fit T. With DeadLetter, such files go to a DeadLetters
//     instead: a bad footer or schema skips the whole file before any of its
//     rows is read; damage found while decoding a row group skips the rest of
//     that split (rows already emitted from it stay), and the file's other
//     row groups are still read. Errors of the pipeline downstream of Read
//     are never dead-lettered.
//
// # Writing
//
// Write writes one row per element into part files in a directory:
// dir/part-00000.parquet, ... (or under partition directories, with
// PartitionByWindow and PartitionBy), with RowGroupSize rows per row group
// and the Compression codec, through parquet-go's GenericWriter[T]. Files
// carry row group statistics and the page index, so that readers prune.
//
// Writes are two-phase, through the dataflow.Sink protocol, and each phase is
// separate (see Sink and Committer) for runners that commit on checkpoints:
//  1. write: each shard writer (one per worker) writes its files into a
//     staging directory inside dir (dir/.sluice-tmp-*/), which readers skip.
//  2. pre-commit: closing a shard writer finishes its files (footers written,
//     fsynced) and returns them as pending files.
//  3. commit, after every stage has succeeded: the pending files move into
//     place as part-00000.parquet, ... in each partition directory, numbered
//     without gaps, and every older part file under dir (in dir and its
//     key=value directories) that the new output does not replace is
//     removed: re-running a job replaces its output, never adds to it.
//     Abort, for a failed or cancelled run, removes the staging directory:
//     nothing new becomes visible.
//
// A process that dies before the commit leaves only its hidden staging
// directory behind (safe to delete). Commit renames each file atomically, but
// not the output as a whole: a reader that lists dir during Commit can see a
// mix of old and new parts. An empty output is one file with no rows, so that
// reading it back gives no rows rather than an error.
//
// # Streaming: one commit per checkpoint
//
// Sink is also a dataflow.EpochSink, which the streaming runner commits once
// per checkpoint for exactly-once output across crashes. Writers stage and
// pre-commit as above; EncodeResult stores a writer's pending files (JSON,
// staged paths relative to dir, so that a new process finds them).
// CommitEpoch moves each file to a name derived from its shard number
// (unique within a job across epochs and restarts) and its sequence among
// the shard's files, in its partition directory:
// dir/<partitions>/part-<shard, 12 or more digits>-<seq, 5 digits>.parquet.
// It removes nothing: output accumulates epoch after epoch. A file already
// in place (staged copy gone, final name present) is skipped, so the same
// results can be committed again after a crash; a file in neither place is
// an error. DiscardUncommitted removes the files of dir's staging
// directories that no kept result names (what a crashed process staged for
// epochs no complete checkpoint covers), and the directories left empty; it
// leaves this sink's own staging directory alone while one of its writers
// is open. In streaming, Abort must not be called while a complete
// checkpoint may still name staged files: it removes the staging directory.
// A later batch Write into dir replaces the streamed parts, as batch runs do.
//
// # Concurrency
//
// A sink made by Write belongs to one run at a time. Stats and DeadLetters
// are safe to read while a run goes on.
package parquetio
