// Package beam runs Sluice pipelines on Apache Beam's runners: Prism (in
// this process, or as a job server), and any portable job server (Flink,
// Spark, Dataflow's) through the universal runner. It is the only Sluice
// package that imports Beam's Go SDK.
//
//	r := beam.New(beam.Options{})                 // Prism, in process
//	res, err := dataflow.Execute(ctx, r, p)
//
//	r := beam.New(beam.Options{Runner: "universal", Endpoint: "localhost:8099",
//		Environment: "PROCESS", EnvironmentConfig: "/path/to/this/program"})
//
// # What crosses Beam
//
// Every collection crosses Beam as []byte, encoded with the collection's
// Sluice coder (ElemType.Coder), and GroupByKey input as KV<[]byte,[]byte>
// of the encoded key and value (the key encoding is deterministic). Beam
// therefore sees a few registered DoFn types only; user code stays plain Go
// closures. Timestamps are milliseconds on both sides and round-trip
// exactly, as do windows: Beam's IntervalWindow [start, end) is Sluice's
// Window, and the global windows coincide. Panes come from Beam.
//
// Collections without a coder (the iter.Seq values of a GroupByKey, and
// what ParDos make of them, such as passert's reified elements) cross Beam
// only when they must: the ParDos that read them run inside the Beam DoFn
// that produces them, with the operators fused as in Sluice's own runners.
// When something else reads them (a WindowInto, Flatten, Reshuffle, Write
// or side input, passert on a GroupByKey's output among them), they cross
// Beam with the bridge's fallback codec: a sequence as its count and its
// values, each with the GroupByKey's value coder, decoded into a sequence
// over a slice (re-iterable, as grouped values are); the rest of the type
// by reflection, part by part, with the pipeline's coder of a part's type
// where there is one. That path reflects per element; only collections
// without a coder take it. A type the fallback cannot encode either
// (channels, functions other than sequences, interfaces without a coder)
// fails at Run.
//
// Sluice operators choose the window of some of their output: FinishBundle
// output goes to the window the DoFn names, and the bridge's own window
// assignment (below) moves elements into new windows. Beam's Go SDK gives
// emitted elements the windows of the element being processed, and the
// global window in FinishBundle, so the bridge registers its own emitter
// (exec.RegisterEmitter) for its DoFns, which puts an element into the
// window the operator chose. An interval window in a globally windowed
// collection, or the reverse, fails the bundle: Beam's window coders
// encode one kind.
//
// # Translation
//
//	Impulse      Impulse + a DoFn that emits the encoded empty []byte
//	Read         Impulse + DoFn that splits the source + Reshuffle + DoFn
//	             that reads split i (every worker splits the source again:
//	             Split must be deterministic)
//	ReadUnbounded  only a finite, scripted source (the test kit's TestStream):
//	             read at submission into Beam's TestStream, which the runner
//	             plays (elements, watermark and processing-time advances)
//	ParDo        one DoFn running the ParDo (and the ParDos fused behind it);
//	             several outputs are one tagged Beam output split by a
//	             dynamic DoFn; side inputs are one Beam side input of
//	             tagged, window-reified elements in the global window, and
//	             Sluice maps main windows to side windows itself (Beam's
//	             default mapping)
//	StatefulParDo  DoFn keying the encoded elements by their encoded key +
//	             a stateful DoFn with a fixed set of Beam state and timers:
//	             one map-state cell holds every Sluice state ("id\x00sub"
//	             keys; bags keep a sequence number), and one timer family
//	             per time domain carries every Sluice timer with the dynamic
//	             tag "family|tag"; fire time, output timestamp and window of
//	             each timer are kept in the cell; with side inputs, the
//	             stateful DoFn reads them as other ParDos do
//	GroupByKey   DoFn (key/value split) + GroupByKey + DoFn that decodes the
//	             groups and runs their consumers
//	Flatten      Flatten (of no inputs: an empty Impulse-based collection)
//	WindowInto   WindowInto with Beam's window fn; the trigger, accumulation
//	             mode, allowed lateness, timestamp combiner and on-time
//	             behavior are written into the pipeline proto, per
//	             collection, after Beam's Go SDK marshals it (the SDK cannot
//	             express several of them; runners, not the SDK, evaluate
//	             them). GroupByKey outputs get the continuation trigger.
//	             Fixed and sliding windows with an offset: Beam's Go SDK
//	             window fns have none, and its harness ignores the offset
//	             in the proto, so Beam's WindowInto with fixed windows of the
//	             same size (for the interval window coder) + a DoFn running
//	             Sluice's window assignment, which emits each element into
//	             its windows; the proto's strategies get the offset.
//	Combine      Beam's CombinePerKey, which Beam's runners lift (combine.go:
//	             accumulators stay Sluice values in memory, encoded with the
//	             combine's accumulator coder when they move), where Sluice's
//	             runners lift too (default trigger, windows that do not
//	             merge) with end-of-window timestamps and no allowed
//	             lateness; elsewhere its expansion (GroupByKey + ParDo), as
//	             Beam Go's lifted combine neither combines timestamps nor
//	             keeps panes
//	Reshuffle    Reshuffle
//	Write        DoFn writing one shard per bundle and emitting the writer's
//	             result; one commit step (Impulse + DoFn reading every result
//	             as a side input) commits the sink on a worker. With workers
//	             in this process results stay in memory; with separate
//	             worker processes they are gob-encoded (register their types
//	             with gob.Register if the committing worker may not have
//	             written). A failed job calls Sink.Abort(nil) in the launcher.
//
// Sluice metrics become Beam user metrics of the bridge's DoFns, named
// after the Sluice transform, and come back as Sluice metrics in Result.
// Teardown runs once per Setup: Beam calls it on a best-effort basis, so the
// launcher tears down what Beam did not when a job with workers in its
// process ends.
//
// Run fails before submitting, with an error naming the transform and the
// feature, for what the bridge cannot translate: GroupByKeyWithLateData,
// unbounded sources other than a scripted TestStream, StatefulParDos on
// collections without a coder, and collections that must cross Beam but
// that neither have a coder nor can be encoded by the fallback codec.
//
// # Workers: the contract for programs
//
// Beam runners run user code in worker processes that start the same
// binary. With LOOPBACK (the default on Prism in process) the workers are
// goroutines of the launching process, and nothing more is needed. With
// PROCESS, EXTERNAL or DOCKER environments, the worker is a new process of
// the program, and the program must:
//
//  1. build the same pipeline in the same way (transform names are how the
//     bridge finds closures again; a fingerprint of the names is checked),
//     with the same values captured by closures, and
//  2. call Run on a beam.Runner with it.
//
// In a worker process (IsWorker reports it: the runner passed
// --provision_endpoint or --worker), Run does not submit anything: it
// registers the rebuilt pipeline, hands over to Beam's harness and exits the
// process when the runner is done with it; it never returns. The user never
// calls beam.Init or registers anything. Values a worker needs that the
// launcher chose at run time (output paths, endpoints) reach it through the
// environment, which Prism passes on to the processes it starts.
//
// For Prism's PROCESS environment, EnvironmentConfig is the command to run
// (Prism appends --id and --provision_endpoint). WorkerCommand writes a
// script that runs this binary with extra arguments; a test binary passes
// "-test.run=^TestName$" so that the worker runs the test that builds the
// pipeline, and that test starts with:
//
//	if beam.IsWorker() {
//		r.Run(ctx, buildPipeline(), dataflow.RunOptions{}) // never returns
//	}
//
// # Flags
//
// Beam's Go SDK defines flags on flag.CommandLine when imported
// (-parallelism, -endpoint, ...). The bridge takes its settings from Options
// and removes those flags again when it is initialized, so programs keep
// their own flag names; it defines the worker flags (-worker, -id,
// -provision_endpoint, ...) so that programs that parse flags accept them.
//
// # Concurrency
//
// A Runner may be used for several runs at once; each run has its own job
// token, under which its DoFns find its pipeline. Prism's in-process job
// server is started once per process. Beam calls each DoFn instance from one
// goroutine at a time; the bridge's per-instance state is not locked.
package beam
