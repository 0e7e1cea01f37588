package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/internal/datagen"
	"github.com/sluicedata/sluice/io/parquetio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/direct"
)

func main() {
	var cfg config
	var from, to string
	var orders int64
	var skipBad bool
	flag.StringVar(&cfg.input, "input", "", "order files: a glob, file or directory (default: generate orders into a temporary directory)")
	flag.StringVar(&cfg.output, "output", "", "output directory (default: a temporary directory)")
	flag.IntVar(&cfg.top, "top", 3, "categories in each window's top")
	flag.StringVar(&from, "from", "", "read only orders at or after this time (RFC 3339)")
	flag.StringVar(&to, "to", "", "read only orders before this time (RFC 3339)")
	flag.Int64Var(&orders, "orders", 500_000, "orders to generate when there is no -input")
	flag.IntVar(&cfg.parallelism, "parallelism", 0, "workers (default GOMAXPROCS)")
	flag.BoolVar(&skipBad, "skip-bad", false, "skip unreadable files (and report them) instead of failing")
	flag.Parse()
	if skipBad {
		cfg.dead = &parquetio.DeadLetters{}
	}
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	for _, t := range []struct {
		s   string
		dst *time.Time
	}{{from, &cfg.from}, {to, &cfg.to}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "parquet-analytics:", err)
			os.Exit(2)
		}
		*t.dst = v
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := mainErr(ctx, cfg, orders, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "parquet-analytics:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, cfg config, orders int64, w io.Writer) error {
	if cfg.top <= 0 {
		return fmt.Errorf("-top=%d is not positive", cfg.top)
	}
	if cfg.input == "" || cfg.output == "" {
		tmp, err := os.MkdirTemp("", "parquet-analytics-")
		if err != nil {
			return err
		}
		if cfg.output == "" {
			cfg.output = filepath.Join(tmp, "report")
		}
		if cfg.input == "" {
			cfg.input = filepath.Join(tmp, "orders")
			gen := datagen.Config{Kind: "orders", Rows: orders, Files: 4, Start: time.Date(2024, 11, 28, 0, 0, 0, 0, time.UTC), Span: 48 * time.Hour, Seed: 42, Dir: cfg.input,
				RowGroupRows: 16 << 10} // small row groups, so that -from and -to prune some
			written, err := datagen.Generate(ctx, gen)
			if err != nil {
				return fmt.Errorf("generate orders: %w", err)
			}
			fmt.Fprintf(w, "Generated %d orders over two days in %d files (%.1f MiB) in %s\n", orders, len(written.Files), float64(written.Bytes)/(1<<20), cfg.input)
		}
	}
	var stats parquetio.Stats
	p := buildPipeline(cfg, &stats)
	start := time.Now()
	res, err := dataflow.Execute(ctx, direct.New(direct.Options{Parallelism: cfg.parallelism}), p)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	st := stats.Snapshot()
	fmt.Fprintf(w, "\nRead %d orders from %d files: %d of %d row groups pruned by statistics, %d rows decoded, %.1f MiB read\n",
		st.RowsEmitted, st.Files, st.RowGroupsPruned, st.RowGroups, st.RowsDecoded, float64(st.BytesRead)/(1<<20))
	if cfg.dead != nil && cfg.dead.Len() > 0 {
		fmt.Fprint(w, cfg.dead)
	}
	if sum, ok := direct.SummaryOf(res); ok {
		for _, t := range sum.Transforms {
			if t.Name == "RevenueRows" {
				fmt.Fprintf(w, "Wrote %d (window, category) revenues to %s\n", t.Out, filepath.Join(cfg.output, "revenue"))
			}
		}
	}
	top, err := readTop(filepath.Join(cfg.output, "top"))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Wrote the top %d categories of each window to %s:\n\n", cfg.top, filepath.Join(cfg.output, "top"))
	printTop(w, top, 4)
	fmt.Fprintf(w, "\nRan in %v on the direct runner: %.1f M orders/s\n", elapsed.Round(time.Millisecond), float64(st.RowsEmitted)/elapsed.Seconds()/1e6)
	return nil
}

// readTop reads the top/ output back, with parquet-go itself: any Parquet
// reader reads what parquetio.Write writes.
func readTop(dir string) ([]Ranked, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		return nil, err
	}
	var out []Ranked
	for _, f := range files {
		rows, err := parquet.ReadFile[Ranked](f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		out = append(out, rows...)
	}
	slices.SortFunc(out, compareRanked)
	return out, nil
}

// printTop prints the top of the first and last n windows.
func printTop(w io.Writer, top []Ranked, n int) {
	var starts []time.Time
	for _, r := range top {
		if len(starts) == 0 || !starts[len(starts)-1].Equal(r.WindowStart) {
			starts = append(starts, r.WindowStart)
		}
	}
	show := map[time.Time]bool{}
	for i, s := range starts {
		if i < n || i >= len(starts)-n {
			show[s] = true
		}
	}
	fmt.Fprintf(w, "  %-22s %4s  %-12s %14s %8s\n", "window (1h, UTC)", "rank", "category", "revenue", "orders")
	elided := false
	for _, r := range top {
		if !show[r.WindowStart] {
			if !elided {
				fmt.Fprintf(w, "  ... %d more windows ...\n", len(starts)-2*n)
				elided = true
			}
			continue
		}
		label := ""
		if r.Rank == 1 {
			label = r.WindowStart.UTC().Format("Jan 2 15:04") + "-" + r.WindowStart.Add(windowSize).UTC().Format("15:04")
		}
		fmt.Fprintf(w, "  %-22s %4d  %-12s %14s %8d\n", label, r.Rank, r.Category, dollars(r.RevenueCents), r.Orders)
	}
}

func dollars(cents int64) string {
	s := fmt.Sprintf("%d", cents/100)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return fmt.Sprintf("$%s.%02d", out, cents%100)
}
