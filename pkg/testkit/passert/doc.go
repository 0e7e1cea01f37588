// Package passert is Beam's PAssert for Sluice: assertions about the contents
// of PCollections that are part of the pipeline itself, so that they run on
// every runner (direct, streaming, the Beam bridge) under plain `go test`.
//
//	p := dataflow.NewPipeline()
//	s := p.Root()
//	words := transforms.Create(s, "Words", "a", "b", "a")
//	counts := transforms.CountPerElement(s, "Count", words)
//	passert.Equals(s, "CheckCounts", counts, dataflow.Pair("a", int64(2)), dataflow.Pair("b", int64(1)))
//	if _, err := passert.Execute(ctx, direct.New(direct.Options{}), p); err != nil {
//		t.Fatal(err)
//	}
//
// # What it promises
//
//  1. An assertion is a composite transform named by the caller, built only
//     from the model's primitives: ParDo "Reify" (each element with its
//     timestamp, window and pane), WindowInto "GlobalWindow" (the global
//     window, default trigger), Impulse "Impulse", and ParDo "Check", which
//     reads the reified elements as a slice side input. Because the check
//     runs once on the impulse, an empty input is checked too.
//  2. A failed assertion fails the run: Check returns an *Error that names the
//     assertion, the windows and panes it was narrowed to, and what differs:
//     the missing and unexpected elements and a go-cmp diff (-want +got).
//     Runners wrap it in their error for the Check transform, so the run's
//     error names "<assertion>/Check".
//  3. Every Check reports one passert/success or passert/failure counter.
//     Verify (and Execute, which calls it) fails when an assertion did not
//     report success, so a runner cannot pass a test by not running it.
//  4. Values are compared with go-cmp, unexported fields included, nil and
//     empty slices and maps equal, plus the options given to WithCmpOptions.
//     Multisets (Equals, ContainsAll, WindowedEquals, ...) are matched by
//     printed form first and pairwise for what is left, so large collections
//     are checked in about linear time. No reflection runs per element in
//     the pipeline; the checker's comparisons are go-cmp's.
//  5. Assertions are about elements, with Beam's pane selectors (InWindow,
//     InOnTimePane, InFinalPane, InEarlyPanes, InLatePanes, InNonLatePanes,
//     InOnlyPane) and pane-by-pane expectations (Panes). Without a selector an
//     assertion is about every element of every window and pane, as Beam's
//     PAssert.that is.
//
// # Order
//
// Runners define no order between elements. EqualsList compares in order and
// is only meaningful where one worker produced the elements in sequence (a
// collection of one element per window, such as a global combine's). Grouped
// values (iter.Seq) have no order and cannot be compared: Grouped and
// GroupedFunc turn GroupByKey output into sorted slices first.
//
// # Concurrency
//
// Building assertions is part of building the pipeline (one goroutine at a
// time). Predicates and checks given to True, False, Satisfies and
// SatisfiesElems run once per run, on a worker, and must not keep state
// between runs.
package passert
