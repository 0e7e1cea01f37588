// Command datagen writes realistic Parquet test data for examples, tests and
// benchmarks:
//
//	go run ./benchmarks/datagen -kind=windowsum -rows=40000000 -out=/tmp/ws
//	go run ./benchmarks/datagen -kind=orders -rows=10000000 -files=12 -span=8760h -start=2024-01-01T00:00:00Z -out=/tmp/orders
//	go run ./benchmarks/datagen -kind=bids -rows=1000000 -span=1h -out=/tmp/bids -by-day
//
// Kinds:
//   - windowsum: int64 columns ts_ms, key, value: event i has ts_ms i, key
//     (i*7919)%1000 and value i%997+1, exactly as benchmarks/windowsum
//     generates them (and ../shared/anchors/duckdb writes them), in
//     1,000,000-row row groups by default.
//   - orders: e-commerce orders (ts, order_id, user_id, category,
//     amount_cents, quantity, country, payment) spread over -span from -start.
//   - bids: Nexmark bids (auction, bidder, price, channel, url, date_time,
//     extra) spread over -span from -start.
//
// Rows are in time order across files part-00000.parquet, part-00001.parquet,
// ... (with -by-day, under date=YYYY-MM-DD directories). The same flags give
// the same bytes.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/sluicedata/sluice/internal/datagen"
)

func main() {
	var cfg datagen.Config
	var start string
	flag.StringVar(&cfg.Kind, "kind", "orders", "what to write: windowsum, orders or bids")
	flag.Int64Var(&cfg.Rows, "rows", 1_000_000, "number of rows")
	flag.IntVar(&cfg.Files, "files", 4, "number of files (each holds a consecutive slice of the rows)")
	flag.DurationVar(&cfg.Span, "span", 24*time.Hour, "time the rows span (orders, bids)")
	flag.StringVar(&start, "start", "2024-01-01T00:00:00Z", "time of the first row, RFC 3339 (orders, bids)")
	flag.Int64Var(&cfg.RowGroupRows, "row-group", 0, "rows per row group (default 1000000 for windowsum, 131072 otherwise)")
	flag.StringVar(&cfg.Compression, "compression", "snappy", "page compression: snappy, zstd or none")
	flag.Uint64Var(&cfg.Seed, "seed", 42, "seed: the same seed gives the same rows")
	flag.StringVar(&cfg.Dir, "out", "", "output directory (created if needed)")
	flag.BoolVar(&cfg.ByDay, "by-day", false, "write under date=YYYY-MM-DD directories (orders, bids)")
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	t, err := time.Parse(time.RFC3339, start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "datagen: -start:", err)
		os.Exit(2)
	}
	cfg.Start = t
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(os.Stderr, "datagen:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t0 := time.Now()
	w, err := datagen.Generate(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "datagen:", err)
		os.Exit(1)
	}
	el := time.Since(t0)
	fmt.Printf("datagen: wrote %d %s rows in %d files (%.1f MiB) to %s in %v (%.1f M rows/s)\n",
		w.Rows, cfg.Kind, len(w.Files), float64(w.Bytes)/(1<<20), cfg.Dir, el.Round(time.Millisecond), float64(w.Rows)/el.Seconds()/1e6)
}
