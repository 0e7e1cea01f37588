// Package conformance is Sluice's runner conformance suite: one list of
// pipelines with expected results, checked with passert, that every runner
// runs (Beam's ValidatesRunner ground). A runner's test is one line:
//
//	func TestConformance(t *testing.T) { conformance.Run(t, myrunner.New(...)) }
//
// # What it covers
//
// ParDo (Map, FlatMap, Filter, multiple and unconsumed outputs, the DoFn
// lifecycle, Setup/Teardown pairing), side inputs (singleton with and without
// a default, slice, map, multimap, windowed side inputs mapped to the main
// window as Beam's default window mapping does), timestamps (WithTimestamps,
// EmitAt, allowed skew), GroupByKey, CoGroupByKey and joins, Flatten,
// Reshuffle, Combine lifted and unlifted (custom CombineFns, global combines
// and their defaults, the statistics of pkg/transforms), the four window
// kinds, timestamp combiners, triggers and panes on bounded input, failures
// (user errors and panics, invalid pipelines) and user metrics.
//
// # Semantics
//
// The expected results are Beam's for bounded input: the watermark stays at
// -inf while elements arrive and jumps to +inf at the end; a trigger sees
// each element on its own, in the order its GroupByKey receives them; session
// windows merge as elements arrive. Trigger cases feed one key from one
// Create so that order is deterministic, and check what does not depend on it
// (pane count, PaneInfo, sizes, how contents relate).
//
// # Rules
//
//  1. Each case builds a fresh pipeline through Case.Build, which says what
//     the run must produce (Expect); the zero Expect means success with every
//     assertion run and passed (passert.Verify).
//  2. A runner that rejects a feature fails the case with its error: no case
//     is ever skipped. A runner with a known, accepted difference names the
//     case with KnownDeviation; the case still runs and must still fail, and
//     the test fails when it starts to pass.
//  3. Case names ("Area/Case") are stable: runners and the Beam bridge refer
//     to them.
//  4. Cases observe only outputs, metrics, and, for Setup/Teardown
//     (ParDo/SetupTeardown), memory shared with the test, which requires the
//     DoFns to run in the test's process.
//
// # Concurrency
//
// Cases run one after the other unless Parallel is given, in which case the
// runner must allow concurrent runs. Each case's run is bounded by Timeout.
package conformance
