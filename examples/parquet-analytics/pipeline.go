package main

import (
	"cmp"
	"time"

	"github.com/sluicedata/sluice/io/parquetio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

type KV[K, V any] = dataflow.KV[K, V]

// Order is what the pipeline reads of an order: three columns of the files.
type Order struct {
	TS          time.Time `parquet:"ts,timestamp(millisecond)"`
	Category    string    `parquet:"category"`
	AmountCents int64     `parquet:"amount_cents"`
}

// Revenue is the revenue of one category in one window: a row of revenue/.
type Revenue struct {
	WindowStart  time.Time `parquet:"window_start,timestamp(millisecond)"`
	WindowEnd    time.Time `parquet:"window_end,timestamp(millisecond)"`
	Category     string    `parquet:"category,dict"`
	RevenueCents int64     `parquet:"revenue_cents"`
	Orders       int64     `parquet:"orders"`
}

// Ranked is a category among the top of a window: a row of top/.
type Ranked struct {
	WindowStart  time.Time `parquet:"window_start,timestamp(millisecond)"`
	Rank         int32     `parquet:"rank"`
	Category     string    `parquet:"category,dict"`
	RevenueCents int64     `parquet:"revenue_cents"`
	Orders       int64     `parquet:"orders"`
}

// Totals is the revenue and number of orders of a category.
type Totals struct {
	Cents, Orders int64
}

// totalsFn adds up Totals: a CombineFn, so the runner combines before the shuffle.
type totalsFn struct{}

func (totalsFn) CreateAccumulator() Totals { return Totals{} }
func (totalsFn) AddInput(a Totals, cents int64) Totals {
	return Totals{a.Cents + cents, a.Orders + 1}
}
func (totalsFn) MergeAccumulators(a, b Totals) Totals {
	return Totals{a.Cents + b.Cents, a.Orders + b.Orders}
}
func (totalsFn) ExtractOutput(a Totals) Totals { return a }

// byRevenue orders revenues by amount, then by category name reversed (so
// that of two equal amounts the alphabetically first ranks higher): a strict
// order, which makes the top deterministic.
func byRevenue(a, b Revenue) bool {
	if a.RevenueCents != b.RevenueCents {
		return a.RevenueCents < b.RevenueCents
	}
	return a.Category > b.Category
}

const (
	windowSize   = time.Hour
	windowPeriod = 15 * time.Minute
)

// config is what the pipeline needs.
type config struct {
	input, output string
	top           int
	from, to      time.Time // a time range to read, if not zero
	parallelism   int
	dead          *parquetio.DeadLetters // if not nil, where unreadable files go
}

// buildPipeline reads the orders of cfg.input and writes the reports under
// cfg.output; stats counts what the read did.
func buildPipeline(cfg config, stats *parquetio.Stats) *dataflow.Pipeline {
	p := dataflow.NewPipeline()
	s := p.Root()
	opts := []parquetio.ReadOption{parquetio.EventTimeColumn("ts"), parquetio.WithStats(stats)}
	if cfg.dead != nil {
		opts = append(opts, parquetio.DeadLetter(cfg.dead))
	}
	if !cfg.from.IsZero() || !cfg.to.IsZero() {
		to := cfg.to
		if to.IsZero() {
			to = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		opts = append(opts, parquetio.TimeRange(cfg.from, to))
	}
	orders := parquetio.Read[Order](s, "ReadOrders", cfg.input, opts...)
	sliding := dataflow.WindowInto(s, "SlidingHours", dataflow.Sliding(windowSize, windowPeriod), orders)
	amounts := transforms.Map(s, "CategoryAmount", func(o Order) KV[string, int64] {
		return KV[string, int64]{Key: o.Category, Value: o.AmountCents}
	}, sliding)
	totals := dataflow.CombinePerKey(s, "RevenuePerCategory", dataflow.CombineFn[int64, Totals, Totals](totalsFn{}), amounts)
	revenue := dataflow.ParDo(s, "RevenueRows", dataflow.DoFnFunc[KV[string, Totals], Revenue](
		func(c *dataflow.Context, kv KV[string, Totals], emit dataflow.Emitter[Revenue]) error {
			w := c.Window()
			emit.Emit(Revenue{WindowStart: w.Start.Time(), WindowEnd: w.End.Time(), Category: kv.Key, RevenueCents: kv.Value.Cents, Orders: kv.Value.Orders})
			return nil
		}), totals)
	parquetio.Write(s, "WriteRevenue", cfg.output+"/revenue", revenue)

	top := transforms.Top(s, "TopCategories", cfg.top, byRevenue, revenue)
	ranked := transforms.FlatMap(s, "Rank", func(rs []Revenue, emit func(Ranked)) {
		for i, r := range rs {
			emit(Ranked{WindowStart: r.WindowStart, Rank: int32(i + 1), Category: r.Category, RevenueCents: r.RevenueCents, Orders: r.Orders})
		}
	}, top)
	parquetio.Write(s, "WriteTop", cfg.output+"/top", ranked)
	return p
}

// compareRanked orders report rows by window, then rank.
func compareRanked(a, b Ranked) int {
	return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Rank, b.Rank))
}
