package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/direct"
)

// config is the command line.
type config struct {
	orders      int64
	seed        uint64
	parallelism int
}

// run builds and runs the pipeline and returns its report.
func run(ctx context.Context, cfg config) (*Report, error) {
	if cfg.orders < 0 {
		return nil, fmt.Errorf("-orders=%d is negative", cfg.orders)
	}
	p, results := buildPipeline(cfg.seed, cfg.orders)
	if _, err := dataflow.Execute(ctx, direct.New(direct.Options{Parallelism: cfg.parallelism}), p); err != nil {
		return nil, err
	}
	return newReport(cfg.seed, cfg.orders, results)
}

func main() {
	var cfg config
	flag.Int64Var(&cfg.orders, "orders", 1_000_000, "number of orders to generate")
	flag.Uint64Var(&cfg.seed, "seed", 42, "seed of the generator: the same seed gives the same orders")
	flag.IntVar(&cfg.parallelism, "parallelism", 0, "number of workers (default GOMAXPROCS)")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := mainErr(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "windowed:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, cfg config, w io.Writer) error {
	start := time.Now()
	rep, err := run(ctx, cfg)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	rep.Print(w)
	workers := cfg.parallelism
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	fmt.Fprintf(w, "\nRan in %v on the direct runner (%d workers): %s orders/s\n",
		elapsed.Round(time.Millisecond), workers, commas(int64(float64(cfg.orders)/elapsed.Seconds())))
	return nil
}
