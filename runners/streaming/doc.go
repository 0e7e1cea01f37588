// Package streaming is Sluice's unbounded runner: it runs any pipeline,
// on unbounded input (UnboundedSources, TestStream) and bounded input read
// as the first part of an unbounded job, for as long as the input lasts,
// with keyed state and timers in Pebble, periodic checkpoints, crash
// recovery and exactly-once file output.
//
// # Execution
//
// The graph is cut into stages as in the direct runner: a stage starts at
// a source or at a keyed operator (GroupByKey, lifted Combine, stateful
// ParDo, ParDo with side inputs) and fuses the element-wise transforms
// behind it; exchanges route each element by the key group of its encoded
// key (hash mod MaxParallelism) to the partition that owns the key group's
// range. Each partition has its own Pebble database under
// JobDir/state/pNNNN (a job without keyed stages opens none).
//
// A single coordinator runs the job in rounds. A round visits the stages in
// dependency order: sources read (bounded splits whole, one per worker and
// more while the round is young and what they produced for keyed stages is
// small; up to ReadBatch elements of every unbounded split), every
// partition of every keyed stage
// processes what reached it, at the input watermark of the previous round,
// then advances its input watermark to the least output watermark of its
// inputs and fires what is due (window panes, user timers, garbage
// collection). A stage's output watermark is its input watermark held back
// by the holds of its pending timers (trigger state keeps a window's holds
// in the timer index) and buffered elements. Workers run the splits and
// partitions of one stage in parallel; batches pass between fused
// operators with no channel. So watermarks move in band with the data, and
// at the end of a round nothing is in flight: the end of a round is the
// checkpoint barrier.
//
// Processing time is Options.Clock, read once per round; a TestStream
// drives it instead, and each TestStream event gets a round of its own, so
// everything an event causes is processed before the next one (Beam's
// TestStream contract). When every source has ended the watermark reaches
// +inf, every window fires and expires, processing time moves to its end
// (processing-time timers fire), a final checkpoint is taken and the job
// is done. The final checkpoint records that the job has finished, the
// sinks' last results and no state: a restart of a finished job only
// commits those results again.
//
// # Checkpoints and exactly-once output
//
// Every CheckpointInterval, at a round boundary: sinks pre-commit (their
// writers of the epoch close; staged files are complete but invisible),
// every partition's Pebble database is checkpointed (the synchronous part
// is a flush of the write-back cache and a WAL-copying Pebble checkpoint
// started in the background), source positions and the runtime state
// (watermarks, bounded splits done) are recorded, and a manifest written
// by atomic rename makes the checkpoint complete (a job without keyed
// state, and a finished job's final checkpoint, record no state
// databases, and their manifests say so). Then sinks that
// implement dataflow.EpochSink (textio, parquetio) commit the epoch's files.
// On restart with the same JobDir the runner restores the latest complete
// checkpoint (a corrupt one is skipped with a notice naming the file, and
// the previous one is used), commits its sink results again (idempotent),
// discards staged output no complete checkpoint covers, and reopens the
// sources at their positions. Output files of an EpochSink are therefore
// exactly once across crashes. Other sinks (memio, custom sinks) commit
// once, when a bounded job ends, and are not crash-safe.
//
// Result.Savepoint takes a savepoint (kept until removed by hand) and
// Result.Stop takes one and stops; Options.FromSavepoint starts a job from
// it. Parallelism and MaxParallelism are fixed for a job directory.
//
// # Semantics and known differences
//
// Windows, triggers, allowed lateness and panes follow the same reducer as
// the direct runner (runners/internal/trigger): triggers are evaluated
// after every element, late elements within the allowed lateness produce
// late panes, later ones are dropped and counted (Status: LateDropped).
// Combine is lifted when its trigger is the default one, its windows do
// not merge and the allowed lateness is zero. Side inputs are ready for a
// main-input window once the side input's watermark passes the end of the
// side window it maps to; main-input elements wait until then.
//
// Known limits: side-input data and the main input waiting for it are
// kept in memory and are not part of checkpoints; rescaling a job
// directory to another Parallelism is not supported; a stateful ParDo with
// side inputs is rejected.
package streaming
