// Package metricshttp serves metrics in the Prometheus text exposition
// format, version 0.0.4, without a Prometheus dependency: the streaming
// runner's job and user metrics, at /metrics, for a Prometheus server to
// scrape.
//
// What it promises:
//  1. Every metric name matches [a-zA-Z_:][a-zA-Z0-9_:]* and every label
//     name [a-zA-Z_][a-zA-Z0-9_]*: other characters become "_", and a name
//     that would start with a digit gets a "_" in front.
//  2. Label values and HELP texts are escaped as the format defines:
//     backslash as \\, newline as \n, and (label values only) double quote
//     as \".
//  3. The samples of one metric name form one group under one # HELP (if
//     any sample has a help text) and one # TYPE line (the first sample's
//     type: "counter" or "gauge"; anything else is written "untyped").
//     Groups are in name order, samples in a group in label order, so the
//     same samples always give the same text. Of two samples with the same
//     name and labels, the first is written and the other dropped, since a
//     scraper rejects duplicate series.
//  4. Values are Go's shortest float formatting, and +Inf, -Inf and NaN.
//
// FromMetrics turns a snapshot of Sluice user metrics (dataflow.Metrics)
// into samples. Handler and Serve call a Gatherer on every scrape, from
// the HTTP server's goroutines: a Gatherer must be safe to call
// concurrently with the job and with itself.
package metricshttp
