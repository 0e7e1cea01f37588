// Command parquet-analytics is batch analytics over Parquet files: hourly
// revenue per product category in sliding windows (one hour long, starting
// every 15 minutes), and the top categories of each window, read from
// Parquet order files and written as Parquet files.
//
//	go run ./examples/parquet-analytics
//	go run ./examples/parquet-analytics -input='/data/orders/*.parquet' -output=/tmp/report -top=5
//	go run ./examples/parquet-analytics -input=/data/orders -from=2024-03-05T00:00:00Z -to=2024-03-06T00:00:00Z
//
// Without -input it first writes a small data set of generated orders (two
// days, see benchmarks/datagen) into a temporary directory, so it runs on a
// fresh machine. The orders are the columns of benchmarks/datagen -kind=orders:
// ts (a millisecond timestamp, the event time), category and amount_cents
// are the ones read; the others are never decoded.
//
// -from and -to make it a backfill of that time range: row groups outside it
// are skipped by their statistics, and the report says how many.
//
// -skip-bad skips files that are not readable Parquet (or do not hold
// orders) and lists them, instead of failing the run.
//
// The output directory gets revenue/ (one row per window and category) and
// top/ (the top categories of each window, ranked), replaced on each run.
package main
