// Package datagen writes realistic Parquet test data for Sluice's examples,
// tests and benchmarks: the windowsum events, e-commerce orders and
// Nexmark-style bids, over a chosen time span, in a chosen number of files.
//
// Row i depends only on the kind, the seed, the number of rows and i, so
// files are written in parallel and the data can be recomputed by a plain
// loop (Kind.Row). Rows are in time order, within and across files (file k
// holds the k-th slice of the rows), so that time-range reads prune well.
package datagen

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"
)

// Event is a windowsum event: event i has ts_ms i, key (i*7919)%1000 and
// value i%997+1 (the runner comparison workload; see benchmarks/windowsum).
type Event struct {
	TS    int64 `parquet:"ts_ms"`
	Key   int64 `parquet:"key"`
	Value int64 `parquet:"value"`
}

// Order is an e-commerce order.
type Order struct {
	TS          time.Time `parquet:"ts,timestamp(millisecond)"`
	OrderID     int64     `parquet:"order_id"`
	UserID      int64     `parquet:"user_id"`
	Category    string    `parquet:"category,dict"`
	AmountCents int64     `parquet:"amount_cents"`
	Quantity    int32     `parquet:"quantity"`
	Country     string    `parquet:"country,dict"`
	Payment     string    `parquet:"payment,dict"`
}

// Bid is a bid of the Nexmark benchmark.
type Bid struct {
	Auction  int64     `parquet:"auction"`
	Bidder   int64     `parquet:"bidder"`
	Price    int64     `parquet:"price"`
	Channel  string    `parquet:"channel,dict"`
	URL      string    `parquet:"url"`
	DateTime time.Time `parquet:"date_time,timestamp(millisecond)"`
	Extra    string    `parquet:"extra"`
}

// Config says what to write.
type Config struct {
	Kind  string // "windowsum", "orders" or "bids"
	Rows  int64
	Files int
	// Start and Span place the rows in time (orders and bids): row i is at
	// Start + Span*i/Rows. Windowsum events are at i ms whatever they say.
	Start time.Time
	Span  time.Duration
	// RowGroupRows is the rows of a row group (default 1,000,000 as
	// ../shared/anchors/duckdb writes, 128Ki for orders and bids).
	RowGroupRows int64
	Compression  string // "snappy" (default), "zstd", "none"
	Seed         uint64
	Dir          string
	// ByDay writes orders and bids under date=YYYY-MM-DD directories
	// (hive-style partitions), each file split at day boundaries.
	ByDay bool
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	switch c.Kind {
	case "windowsum", "orders", "bids":
	default:
		return fmt.Errorf("unknown kind %q (windowsum, orders, bids)", c.Kind)
	}
	if c.Rows < 0 {
		return fmt.Errorf("rows %d is negative", c.Rows)
	}
	if c.Files <= 0 {
		return fmt.Errorf("files %d is not positive", c.Files)
	}
	if c.Dir == "" {
		return fmt.Errorf("no output directory")
	}
	if c.Span <= 0 {
		return fmt.Errorf("span %v is not positive", c.Span)
	}
	if c.RowGroupRows == 0 {
		c.RowGroupRows = 128 << 10
		if c.Kind == "windowsum" {
			c.RowGroupRows = 1_000_000
		}
	}
	if c.RowGroupRows < 0 {
		return fmt.Errorf("row group size %d is negative", c.RowGroupRows)
	}
	switch c.Compression {
	case "", "snappy", "zstd", "none":
	default:
		return fmt.Errorf("unknown compression %q (snappy, zstd, none)", c.Compression)
	}
	if c.ByDay && c.Kind == "windowsum" {
		return fmt.Errorf("windowsum events have no days")
	}
	return nil
}

// Written describes what Generate wrote.
type Written struct {
	Files []string
	Rows  int64
	Bytes int64
}

// Generate writes the files of cfg into cfg.Dir, in parallel.
func Generate(ctx context.Context, cfg Config) (Written, error) {
	if err := cfg.Validate(); err != nil {
		return Written{}, err
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return Written{}, err
	}
	files := make([][]string, cfg.Files)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for k := range cfg.Files {
		lo, hi := cfg.Rows*int64(k)/int64(cfg.Files), cfg.Rows*int64(k+1)/int64(cfg.Files)
		g.Go(func() error {
			var err error
			switch cfg.Kind {
			case "windowsum":
				files[k], err = writeRange(ctx, cfg, k, lo, hi, func(i int64) Event { return EventAt(i) }, nil)
			case "orders":
				files[k], err = writeRange(ctx, cfg, k, lo, hi, func(i int64) Order { return OrderAt(cfg, i) }, func(o Order) time.Time { return o.TS })
			case "bids":
				files[k], err = writeRange(ctx, cfg, k, lo, hi, func(i int64) Bid { return BidAt(cfg, i) }, func(b Bid) time.Time { return b.DateTime })
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Written{}, err
	}
	w := Written{Rows: cfg.Rows}
	for _, fs := range files {
		for _, f := range fs {
			w.Files = append(w.Files, f)
			if fi, err := os.Stat(f); err == nil {
				w.Bytes += fi.Size()
			}
		}
	}
	return w, nil
}

// writeRange writes rows [lo, hi) as file k (one file per day with ByDay).
func writeRange[T any](ctx context.Context, cfg Config, k int, lo, hi int64, row func(int64) T, ts func(T) time.Time) ([]string, error) {
	var codec parquet.WriterOption = parquet.Compression(&parquet.Snappy)
	switch cfg.Compression {
	case "zstd":
		codec = parquet.Compression(&parquet.Zstd)
	case "none":
		codec = parquet.Compression(&parquet.Uncompressed)
	}
	var (
		paths []string
		f     *os.File
		w     *parquet.GenericWriter[T]
		day   string
	)
	finish := func() error {
		if w == nil {
			return nil
		}
		err := w.Close()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		w = nil
		return err
	}
	open := func(dir string) error {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		path := filepath.Join(dir, fmt.Sprintf("part-%05d.parquet", k))
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
		w = parquet.NewGenericWriter[T](f, codec, parquet.MaxRowsPerRowGroup(cfg.RowGroupRows), parquet.CreatedBy("sluice-datagen", "", ""))
		paths = append(paths, path)
		return nil
	}
	if !cfg.ByDay || hi == lo {
		if err := open(cfg.Dir); err != nil {
			return nil, err
		}
	}
	const chunk = 4096
	buf := make([]T, 0, chunk)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	for i := lo; i < hi; i++ {
		r := row(i)
		if cfg.ByDay {
			if d := ts(r).UTC().Format("2006-01-02"); d != day {
				if w != nil {
					if err := flush(); err != nil {
						return nil, err
					}
				}
				if err := finish(); err != nil {
					return nil, err
				}
				if err := open(filepath.Join(cfg.Dir, "date="+d)); err != nil {
					return nil, err
				}
				day = d
			}
		}
		buf = append(buf, r)
		if len(buf) == chunk {
			if err := ctx.Err(); err != nil {
				finish()
				return nil, err
			}
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if len(buf) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return paths, finish()
}

// EventAt returns windowsum event i.
func EventAt(i int64) Event { return Event{TS: i, Key: (i * 7919) % 1000, Value: i%997 + 1} }

// at returns the time of row i of n over the span.
func at(cfg Config, i int64) time.Time {
	if cfg.Rows == 0 {
		return cfg.Start
	}
	ms := int64(float64(cfg.Span.Milliseconds()) * float64(i) / float64(cfg.Rows))
	return cfg.Start.Add(time.Duration(ms) * time.Millisecond).UTC()
}

// rand returns the j-th pseudo-random number of row i (splitmix64).
func rand(seed uint64, i int64, j uint64) uint64 {
	z := seed ^ uint64(i)*0x9e3779b97f4a7c15 ^ (j+1)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit returns a uniform float64 in [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// pick chooses an index with probability proportional to its weight.
func pick(x uint64, cum []uint64) int {
	r := x % cum[len(cum)-1]
	for i, c := range cum {
		if r < c {
			return i
		}
	}
	return len(cum) - 1
}

func cumulative(w []uint64) []uint64 {
	out := make([]uint64, len(w))
	var s uint64
	for i, v := range w {
		s += v
		out[i] = s
	}
	return out
}

// Categories of orders, with their weights and typical prices (cents).
var (
	Categories   = []string{"grocery", "fashion", "books", "home", "electronics", "beauty", "toys", "sports", "garden", "automotive", "music", "pets"}
	catWeights   = []uint64{22, 20, 18, 15, 12, 10, 8, 7, 5, 4, 3, 3}
	catPeak      = []int{18, 13, 22, 10, 21, 12, 16, 7, 9, 15, 23, 19} // the hour (UTC) each sells best
	catCum       = hourlyCategoryWeights()
	catPrice     = []float64{2500, 4500, 1800, 6000, 18000, 3000, 3500, 7000, 4000, 9000, 2000, 2800}
	countries    = []string{"US", "DE", "GB", "FR", "JP", "BR", "IN", "CA", "ES", "IT"}
	countryCum   = cumulative([]uint64{30, 12, 10, 9, 8, 7, 7, 6, 6, 5})
	payments     = []string{"card", "paypal", "bank_transfer", "gift_card", "crypto"}
	paymentCum   = cumulative([]uint64{60, 25, 8, 6, 1})
	channels     = []string{"Google", "Facebook", "Baidu", "Apple"}
	channelCum   = cumulative([]uint64{50, 25, 15, 10})
	extraPadding = "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// hourlyCategoryWeights returns, for each hour of the day, the cumulative
// weights of the categories: each sells up to three times as much around
// its peak hour.
func hourlyCategoryWeights() [24][]uint64 {
	var out [24][]uint64
	for h := range 24 {
		w := make([]uint64, len(catWeights))
		for c, base := range catWeights {
			d := (h - catPeak[c] + 24) % 24
			d = min(d, 24-d) // hours from the peak, around the clock
			w[c] = base * uint64(10+max(0, 20-5*d))
		}
		out[h] = cumulative(w)
	}
	return out
}

// OrderAt returns order i of cfg.
func OrderAt(cfg Config, i int64) Order {
	s := cfg.Seed
	ts := at(cfg, i)
	c := pick(rand(s, i, 0), catCum[ts.Hour()])
	// Log-normal-ish prices around the category's typical price.
	f := math.Exp((unit(rand(s, i, 1)) + unit(rand(s, i, 2)) + unit(rand(s, i, 3)) - 1.5) * 1.2)
	q := int32(1) // mostly one item, sometimes 2 to 4
	if r := rand(s, i, 4) % 10; r >= 7 {
		q = int32(r) - 5
	}
	users := max(cfg.Rows/8, 1000)
	// Skewed users: a few buy often.
	u := int64(float64(users) * math.Pow(unit(rand(s, i, 6)), 2))
	return Order{
		TS:          ts,
		OrderID:     i + 1,
		UserID:      u + 1,
		Category:    Categories[c],
		AmountCents: int64(catPrice[c]*f)*int64(q) + 99,
		Quantity:    q,
		Country:     countries[pick(rand(s, i, 7), countryCum)],
		Payment:     payments[pick(rand(s, i, 8), paymentCum)],
	}
}

// BidAt returns bid i of cfg, shaped as Nexmark's generator shapes them:
// most bids go to recent auctions, and a few bidders are hot.
func BidAt(cfg Config, i int64) Bid {
	s := cfg.Seed
	auctions := i/10 + 1000 // auctions open as the stream goes on
	var auction int64
	if rand(s, i, 0)%100 < 90 { // hot: the most recent 100 auctions
		auction = auctions - int64(rand(s, i, 1)%100)
	} else {
		auction = int64(rand(s, i, 1) % uint64(auctions))
	}
	bidders := i/20 + 500
	var bidder int64
	if rand(s, i, 2)%100 < 75 {
		bidder = bidders - int64(rand(s, i, 3)%50)
	} else {
		bidder = int64(rand(s, i, 3) % uint64(bidders))
	}
	ch := channels[pick(rand(s, i, 4), channelCum)]
	price := int64(100 * math.Exp(unit(rand(s, i, 5))*8))
	extraLen := int(rand(s, i, 6) % uint64(len(extraPadding)))
	return Bid{
		Auction:  1000 + auction,
		Bidder:   1000 + bidder,
		Price:    price,
		Channel:  ch,
		URL:      fmt.Sprintf("https://www.nexmark.com/%s/item.htm?query=1&channel_id=%d", ch, auction%1024),
		DateTime: at(cfg, i),
		Extra:    extraPadding[:extraLen],
	}
}
