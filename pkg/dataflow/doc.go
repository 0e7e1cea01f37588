// Package dataflow is Sluice's model: the Beam programming model in typed Go.
// It is pure data: it builds graphs and never executes them, does no I/O and
// imports no runner or connector.
//
// # Building pipelines
//
// A Pipeline is built through Scopes. Every builder function takes a Scope
// and a name; names are hierarchical ("Parent/Child"), must be unique, and
// must be stable from one build to the next, because checkpoints, metrics and
// the Beam bridge key off them. Builders never fail on the spot: they record
// an error that names the transform, and Pipeline.Err and every runner report
// it before anything runs.
//
// A PCollection[T] is a typed handle on a collection of elements. Each element
// is an Elem[T]: a value, its event timestamp (EventTime, milliseconds, with
// Beam's MinTime, MaxTime and EndOfGlobalWindow), exactly one Window and the
// PaneInfo of the firing that produced it. A collection is bounded or
// unbounded, and has a WindowingStrategy: a WindowFn (global, fixed, sliding,
// sessions), a Trigger (an immutable, sealed value), an accumulation mode,
// an allowed lateness and a timestamp combiner.
//
// # The graph handed to runners
//
// Pipeline.Transforms returns the transforms in topological order. Each has a
// Spec, one of the primitives of the Beam model, which translates one to one
// into a Beam primitive:
//
//	Impulse     -> beam:transform:impulse
//	Read        -> beam:transform:read (bounded source; Impulse + SDF in Beam)
//	ParDo       -> beam:transform:pardo (side inputs, multiple outputs)
//	GroupByKey  -> beam:transform:group_by_key
//	Flatten     -> beam:transform:flatten
//	WindowInto  -> beam:transform:window_into
//	Combine     -> beam:transform:combine_per_key (composite; Expansion holds
//	               GroupByKey + ParDo for runners that do not lift it)
//	Reshuffle   -> beam:transform:reshuffle
//	Write       -> a ParDo with a finalizing commit step
//
// Specs carry the user's functions and, because Go generics are erased at the
// runner's boundary, small typed kernels (ElemType, Op, GBKKernel,
// CombineKernel) created when the pipeline is built. Runners compose these
// kernels; they never reflect per element and never see user types.
//
// # Invariants
//
//  1. Imports only point down: dataflow imports nothing of Sluice.
//  2. Transform names are unique within a pipeline and depend only on how the
//     pipeline was built.
//  3. An Elem is in exactly one window; runners explode multi-window
//     assignment at WindowInto.
//  4. Operators exchange batches through Consumer.Consume; a consumer never
//     keeps the batch slice after it returns.
//  5. Grouping keys have deterministic coders, checked when the pipeline is
//     built (floats, pointers and interfaces are rejected, as Beam Java does).
//  6. A GroupByKey's output is windowed like its input, with the trigger's
//     continuation (Beam's getContinuationTrigger).
//
// # Concurrency
//
// Building a pipeline is safe from one goroutine at a time. Runners create
// one operator instance per worker; DoFn values that are pointers to structs
// are shallow-copied per instance, so per-instance fields belong in Setup.
// Metrics are updated through the element's Context and read from a run's
// Result while it runs.
//
// # State and timers
//
// A StatefulParDo keeps user state (value, bag, combining, map, set) and
// timers (event time, processing time, with output timestamps) per key and
// window, declared as fields of its DoFn. Runners provide them through the
// narrow StateBackend interface (bytes per window, state id and sub-key for
// the current key), so the execution core holds no storage engine.
//
// # Unbounded input
//
// UnboundedSource and UnboundedReader (checkpointable positions, per-split
// watermarks, idle splits) and the BoundedOutOfOrderness estimator define
// unbounded input; ReadUnbounded makes an unbounded collection. The direct
// runner rejects unbounded collections; the streaming runner (in progress)
// will read them. TestStream arrives with it.
package dataflow
