// Package transforms is Sluice's transform library: the everyday transforms
// of Apache Beam's SDKs (Create, Map, Filter, CoGroupByKey and joins,
// Combine.globally, Count, Sum, Mean, Top, Distinct, Sample, Latest,
// approximate distinct counts and quantiles, Partition, ...) written in typed,
// generic Go.
//
// # Contract
//
//  1. Every transform is built only from the model's primitives (Impulse, Read,
//     ParDo, GroupByKey, Flatten, WindowInto, CombinePerKey, Reshuffle), so
//     every runner, and the Beam bridge, runs all of it. Nothing here executes
//     anything or knows about a runner.
//  2. Each transform answers what its Beam namesake answers on the same input;
//     its doc comment names that transform. Where Sluice differs (for example,
//     a global Min of an empty collection emits nothing, where Beam Java emits
//     null), the doc comment says so.
//  3. Composite transforms build their parts in the child scope s.Scope(name),
//     under fixed child names, so that every name depends only on how the
//     pipeline was built (checkpoints, metrics and the Beam bridge key off
//     names).
//  4. Transforms never fail on the spot: a bad argument (a negative count, a
//     type without a coder, a key without a deterministic encoding) records an
//     error on the pipeline through Scope.Errorf and returns an invalid
//     PCollection; Pipeline.Err and every runner report it before anything
//     runs. Bad data at run time fails the element with an error that names the
//     transform, never a panic of the runtime.
//  5. No registration, no per-arity APIs and no reflection per element: all
//     type-dependent setup (coders, CombineFns) happens once, when the pipeline
//     is built. Keyed transforms take K comparable, and their keys need a
//     deterministic coder, checked at build time by GroupByKey.
//  6. Combining transforms are CombineFns applied with CombinePerKey, so that
//     runners lift them (partial combining before the shuffle). Each CombineFn
//     is also exported (CountFn, SumFn, TopFn, ...) for use with CombinePerKey
//     or CombineGlobally directly. Accumulators are plain structs with exported
//     fields, so their coders are derived.
//
// # Windows and defaults
//
// Everything here works per window, as in Beam. The global combines
// (CombineGlobally and the transforms built on it) emit one value per window
// that has input; in the global window they also emit the CombineFn's default,
// fn.ExtractOutput(fn.CreateAccumulator()), when the input is empty, as Beam's
// Combine.globally does. Combines whose CombineFn has no sensible identity
// (Min, Max, Reduce, Latest) never emit a default.
//
// # Concurrency
//
// Building a pipeline is safe from one goroutine at a time. User functions
// passed to these transforms (the fn of Map, the less of Top, ...) may be
// called from several goroutines at once, one per worker, and must not keep
// state between calls; CombineFns exported here are safe for concurrent use.
package transforms
