// Package direct is Sluice's bounded runner: it runs any pipeline over
// bounded input (files, Create, in-memory sources) on every core, with the
// Beam model's batch semantics.
//
// What it promises:
//  1. The results Beam defines for bounded input: the watermark stays at -inf
//     while input flows and jumps to +inf when it ends, so every window fires
//     its on-time pane once its input is complete; count triggers fire early
//     panes as elements arrive (in the order an exchange partition receives
//     them); processing time is frozen for the run.
//  2. Parallelism: the graph is cut into stages at GroupByKey, lifted
//     Combine, Reshuffle and ParDos with side inputs; element-wise transforms
//     are fused into one goroutine per worker and pass batches of elements,
//     not single elements. Exchanges partition by a hash of the encoded key.
//  3. Combine is lifted (partial accumulators per worker before the exchange)
//     when its trigger fires once per window and windows do not merge.
//  4. GroupByKey buffers stay within Options.MemoryBudget, all together, and
//     spill sorted runs to disk past it. One key and window must fit in memory.
//  5. A user error or panic fails the run with an error naming the transform
//     and the element (value, timestamp, window); every worker stops, sinks
//     abort, and nothing is committed. Cancelling the context or the Result
//     stops every goroutine.
//  6. Sinks commit only after every stage succeeded (two-phase).
//
// See INTERNALS.md for the goroutine model.
package direct
