// Command nexmark runs the Nexmark queries on Sluice's runners and on a
// hand-written single-goroutine Go baseline (the COST baseline: the
// queries' references in benchmarks/nexmark/queries), over the same
// generated events, checks that every runner agrees with the baseline, and
// reports events per second per query and runner:
//
//	go run ./benchmarks/nexmark -runners=direct -queries=all -events=1000000
//
// It prints a table, writes the same table as CSV (-csv, default
// nexmark.csv in -out) and a bar chart as PNG (-png, default nexmark.png in
// -out; "-" turns either off), and exits with status 1 if a runner's results
// differ from the baseline's. Results are compared by fingerprint: the count
// and order-independent sums of 64-bit hashes of every output element. With
// -repeat=R each query runs R times per runner and baseline and the fastest
// run counts.
//
// Events per second are the number of input events over the run's wall time,
// from building the pipeline to its last result. With -source=generate (the
// default, as Beam's Nexmark) the runners and the baseline generate the
// events as they read them, so generation is part of every figure; with
// -source=memory the events are generated once beforehand, laid out densely
// (generator.Compact) and read from memory, so the figures are the queries'
// alone; with -source=parquet
// -parquet-dir=DIR they are written once as Parquet files in DIR (reused
// by later runs with the same -events) and every runner reads them from
// there.
//
// Runners: direct, streaming (Pebble state, a checkpoint every 2 s) and
// prism (the Beam bridge on Beam's Prism runner, in process). A query a
// runner cannot run (Prism rejects session windows with a count trigger,
// apache/beam#31438) is reported as failed with the reason, and the other
// queries go on; disagreeing results make the command exit with status 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/benchmarks/nexmark/generator"
	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	"github.com/sluicedata/sluice/benchmarks/nexmark/queries"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/direct"
	"github.com/sluicedata/sluice/runners/streaming"
)

func main() {
	var o options
	flag.StringVar(&o.runners, "runners", "direct", "comma-separated runners: direct, streaming, prism")
	flag.StringVar(&o.queries, "queries", "all", "comma-separated queries (q0..q9, q11, q12) or all")
	flag.Int64Var(&o.events, "events", 1_000_000, "number of events")
	flag.StringVar(&o.source, "source", "generate", "generate: generate events while reading them; memory: generate them beforehand and read them from memory; parquet: write them once as Parquet files in -parquet-dir and read them from there")
	flag.StringVar(&o.parquetDir, "parquet-dir", "", "with -source=parquet: where the events' Parquet files are (written on the first run)")
	flag.IntVar(&o.parallelism, "parallelism", 0, "workers of each runner (default GOMAXPROCS)")
	flag.IntVar(&o.repeat, "repeat", 1, "run each query this many times per runner and baseline and keep the fastest")
	flag.IntVar(&o.rate, "rate", generator.DefaultConfig().EventsPerSecond, "events per second of event time (Beam's firstEventRate)")
	flag.StringVar(&o.out, "out", ".", "directory for the default CSV and PNG")
	flag.StringVar(&o.csv, "csv", "", `CSV path (default <out>/nexmark.csv; "-" for none)`)
	flag.StringVar(&o.png, "png", "", `PNG path (default <out>/nexmark.png; "-" for none)`)
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "nexmark:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	err := run(context.Background(), o, os.Stdout, os.Stderr)
	var usage usageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "nexmark:", err)
		pprof.StopCPUProfile()
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "nexmark:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type options struct {
	runners, queries string
	events           int64
	source           string
	parquetDir       string
	parallelism      int
	repeat           int
	rate             int
	out, csv, png    string
}

// usageError is a mistake in the flags, found before anything runs.
type usageError struct{ error }

// runnerNames are the runners the command knows, in the order it reports them.
var runnerNames = []string{"direct", "streaming", "prism"}

// newRunner returns the runner called name, or why there is none.
func newRunner(name string, parallelism int) (df.Runner, error) {
	switch name {
	case "direct":
		return direct.New(direct.Options{Parallelism: parallelism, Progress: direct.ProgressOff}), nil
	case "streaming":
		// Pebble state in a temporary job directory, a checkpoint every 2s.
		return streaming.New(streaming.Options{Parallelism: parallelism, CheckpointInterval: 2 * time.Second, Log: io.Discard}), nil
	case "prism":
		return newPrism(), nil
	}
	return nil, fmt.Errorf("unknown runner %q (runners: %s)", name, strings.Join(runnerNames, ", "))
}

type namedRunner struct {
	name string
	r    df.Runner
}

func parseRunners(list string, parallelism int) ([]namedRunner, error) {
	var out []namedRunner
	var errs []error
	for _, name := range splitList(list) {
		if slices.ContainsFunc(out, func(r namedRunner) bool { return r.name == name }) {
			continue
		}
		r, err := newRunner(name, parallelism)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, namedRunner{name, r})
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("no runner given"))
	}
	return out, errors.Join(errs...)
}

func parseQueries(list string) ([]queries.Query, error) {
	if list == "all" {
		return queries.All, nil
	}
	var out []queries.Query
	var errs []error
	for _, name := range splitList(list) {
		q, ok := queries.ByName(strings.ToLower(name))
		if !ok {
			names := make([]string, len(queries.All))
			for i, q := range queries.All {
				names[i] = q.Name
			}
			errs = append(errs, fmt.Errorf("unknown query %q (queries: %s, or all)", name, strings.Join(names, ", ")))
			continue
		}
		if !slices.ContainsFunc(out, func(o queries.Query) bool { return o.Name == q.Name }) {
			out = append(out, q)
		}
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("no query given"))
	}
	return out, errors.Join(errs...)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// measurement is one query on one runner (or the baseline).
type measurement struct {
	query, title string
	runner       string // "baseline" for the hand-written loop
	events       int64
	seconds      float64 // of the fastest repetition
	results      model.Fingerprint
	agrees       bool // results equal the baseline's (always true for the baseline)
	// err is why the runner could not run the query (a feature it lacks);
	// the measurement then has no figure.
	err string
}

func (m measurement) eventsPerSec() float64 {
	if m.seconds <= 0 {
		return 0
	}
	return float64(m.events) / m.seconds
}

const baselineName = "baseline"

func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	runners, err := parseRunners(o.runners, o.parallelism)
	if err != nil {
		return usageError{err}
	}
	qs, err := parseQueries(o.queries)
	if err != nil {
		return usageError{err}
	}
	if o.events < 0 {
		return usageError{fmt.Errorf("-events=%d is negative", o.events)}
	}
	if o.repeat < 1 {
		return usageError{fmt.Errorf("-repeat=%d, want at least 1", o.repeat)}
	}
	if o.source != "generate" && o.source != "memory" && o.source != "parquet" {
		return usageError{fmt.Errorf("-source=%q, want generate, memory or parquet", o.source)}
	}
	if o.source == "parquet" && o.parquetDir == "" {
		return usageError{fmt.Errorf("-source=parquet needs -parquet-dir")}
	}
	cfg := generator.DefaultConfig()
	cfg.EventsPerSecond = o.rate
	g, err := generator.New(cfg)
	if err != nil {
		return usageError{err}
	}
	csvPath, pngPath := outputPath(o.csv, o.out, "nexmark.csv"), outputPath(o.png, o.out, "nexmark.png")
	for _, p := range []string{csvPath, pngPath} {
		if p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("output directory: %w", err)
		}
	}

	// The events as each side reads them.
	var (
		source   df.BoundedSource[model.Event]
		baseline = func() iter.Seq[model.Event] { return g.All(0, o.events) }
	)
	switch o.source {
	case "generate":
		source = generator.NewSource(g, o.events)
	case "parquet":
		start := time.Now()
		if err := writeParquet(ctx, g, o.events, o.parquetDir); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "nexmark: %d events as Parquet in %s (%.2fs)\n", o.events, o.parquetDir, time.Since(start).Seconds())
	case "memory":
		start := time.Now()
		events := generator.Compact(g.Events(0, o.events))
		fmt.Fprintf(stderr, "nexmark: generated %d events in memory in %.2fs\n", o.events, time.Since(start).Seconds())
		source = generator.NewSliceSource(g, events)
		baseline = func() iter.Seq[model.Event] { return slices.Values(events) }
	}

	var all []measurement
	failed := false
	for _, q := range qs {
		base := measurement{query: q.Name, title: q.Title, runner: baselineName, events: o.events, agrees: true}
		for i := range o.repeat {
			start := time.Now()
			res := q.Reference(baseline(), false)
			sec := time.Since(start).Seconds()
			if i == 0 || sec < base.seconds {
				base.seconds = sec
			}
			base.results = res.Fingerprint
		}
		all = append(all, base)
		fmt.Fprintf(stderr, "nexmark: %s %s: baseline %.0f events/s, %v\n", q.Name, q.Title, base.eventsPerSec(), base.results)
		for _, nr := range runners {
			m := measurement{query: q.Name, title: q.Title, runner: nr.name, events: o.events, agrees: true}
			for i := range o.repeat {
				start := time.Now()
				var res queries.Results
				if o.source == "parquet" {
					res, err = q.RunFrom(ctx, nr.r, func(s df.Scope) df.PCollection[model.Event] { return parquetEvents(s, o.parquetDir) }, false)
				} else {
					res, err = q.Run(ctx, nr.r, source, false)
				}
				if err != nil {
					if ctx.Err() != nil {
						return err
					}
					m.err = firstLine(err.Error())
					break
				}
				sec := time.Since(start).Seconds()
				if i == 0 || sec < m.seconds {
					m.seconds = sec
				}
				m.results = res.Fingerprint
				if res.Fingerprint != base.results {
					m.agrees = false
				}
			}
			if m.err != "" {
				fmt.Fprintf(stderr, "nexmark: %s on %s FAILED: %s\n", q.Name, nr.name, m.err)
				all = append(all, m)
				continue
			}
			if !m.agrees {
				failed = true
				fmt.Fprintf(stderr, "nexmark: %s on %s DISAGREES with the baseline: %v, baseline %v\n", q.Name, nr.name, m.results, base.results)
			}
			fmt.Fprintf(stderr, "nexmark: %s %s: %s %.0f events/s (%.2fx baseline)\n", q.Name, q.Title, nr.name, m.eventsPerSec(), m.eventsPerSec()/base.eventsPerSec())
			all = append(all, m)
		}
	}

	names := []string{baselineName}
	for _, nr := range runners {
		names = append(names, nr.name)
	}
	fmt.Fprintf(stdout, "Nexmark: %d events (%s), %s\n\n", o.events, o.source, machine(o.parallelism))
	writeTable(stdout, all, names)
	if csvPath != "" {
		if err := writeCSVFile(csvPath, all); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwrote %s\n", csvPath)
	}
	if pngPath != "" {
		title := fmt.Sprintf("Nexmark, %s events (%s), %s", humanCount(float64(o.events)), o.source, machine(o.parallelism))
		if err := writeChart(pngPath, title, all, names); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", pngPath)
	}
	if failed {
		return fmt.Errorf("some runners disagree with the baseline (see above)")
	}
	return nil
}

// firstLine is the first line of s, shortened.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// outputPath is flagValue, or def in dir if it is empty, or nothing for "-".
func outputPath(flagValue, dir, def string) string {
	switch flagValue {
	case "-":
		return ""
	case "":
		return filepath.Join(dir, def)
	}
	return flagValue
}
