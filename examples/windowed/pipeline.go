package main

import (
	"time"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

type KV[K, V any] = dataflow.KV[K, V]

const (
	hour        = time.Hour
	slidePeriod = 15 * time.Minute
	sessionGap  = 10 * time.Minute
)

// SessionTotals sums the sessions of all users.
type SessionTotals struct {
	Sessions int64
	Orders   int64
	// ActiveMillis adds up, over the sessions, the time from the first order
	// to the last (a session's window also spans the gap after its last order).
	ActiveMillis int64
	// LongestMillis is the longest such time.
	LongestMillis int64
}

// sessionTotalsFn combines per-session totals into one.
type sessionTotalsFn struct{}

func (sessionTotalsFn) CreateAccumulator() SessionTotals { return SessionTotals{} }
func (sessionTotalsFn) AddInput(a, s SessionTotals) SessionTotals {
	return sessionTotalsFn{}.MergeAccumulators(a, s)
}
func (sessionTotalsFn) MergeAccumulators(a, b SessionTotals) SessionTotals {
	a.Sessions += b.Sessions
	a.Orders += b.Orders
	a.ActiveMillis += b.ActiveMillis
	a.LongestMillis = max(a.LongestMillis, b.LongestMillis)
	return a
}
func (sessionTotalsFn) ExtractOutput(a SessionTotals) SessionTotals { return a }

// byRevenue orders category revenues by amount, then by name (reversed, so
// that of two equal amounts the alphabetically first is the greater): a
// strict order, which makes Top's choice among ties deterministic.
func byRevenue(a, b KV[string, int64]) bool {
	if a.Value != b.Value {
		return a.Value < b.Value
	}
	return a.Key > b.Key
}

// results are the collections the report is made of, gathered by sinks.
type results struct {
	hourlyOrders  *memio.Collector[int64]
	hourlyRevenue *memio.Collector[KV[string, int64]]
	hourlyTop     *memio.Collector[[]KV[string, int64]]
	slidingOrders *memio.Collector[int64]
	sessionTotals *memio.Collector[SessionTotals]
}

// buildPipeline is the analytics over n generated orders.
func buildPipeline(seed uint64, n int64) (*dataflow.Pipeline, *results) {
	p := dataflow.NewPipeline()
	s := p.Root()
	r := &results{
		hourlyOrders:  memio.NewCollector[int64](),
		hourlyRevenue: memio.NewCollector[KV[string, int64]](),
		hourlyTop:     memio.NewCollector[[]KV[string, int64]](),
		slidingOrders: memio.NewCollector[int64](),
		sessionTotals: memio.NewCollector[SessionTotals](),
	}

	// The source: order ids, turned into orders stamped with their event time.
	gen := newGenerator(seed, n)
	ids := transforms.Sequence(s, "OrderIDs", 0, n)
	orders := dataflow.ParDo(s, "GenerateOrders", dataflow.DoFnFunc[int64, Order](
		func(_ *dataflow.Context, i int64, emit dataflow.Emitter[Order]) error {
			o := gen.order(i)
			emit.EmitAt(o, o.Time)
			return nil
		}), ids)

	// Hourly: orders, revenue per category, and the top 3 categories.
	hs := s.Scope("Hourly")
	hourly := dataflow.WindowInto(hs, "Window", dataflow.Fixed(hour), orders)
	amounts := transforms.Map(hs, "CategoryAmount", func(o Order) KV[string, int64] {
		return KV[string, int64]{Key: o.Category, Value: o.Cents}
	}, hourly)
	dataflow.Write(hs, "CollectOrders", r.hourlyOrders, transforms.Count(hs, "CountOrders", amounts))
	revenue := transforms.SumPerKey(hs, "RevenuePerCategory", amounts)
	dataflow.Write(hs, "CollectRevenue", r.hourlyRevenue, revenue)
	dataflow.Write(hs, "CollectTop", r.hourlyTop, transforms.Top(hs, "Top3", 3, byRevenue, revenue))

	// Orders in 1-hour windows that start every 15 minutes.
	ss := s.Scope("Sliding")
	sliding := dataflow.WindowInto(ss, "Window", dataflow.Sliding(hour, slidePeriod), orders)
	dataflow.Write(ss, "CollectOrders", r.slidingOrders, transforms.Count(ss, "CountOrders", sliding))

	// Sessions: a user's orders less than 10 minutes apart.
	us := s.Scope("Sessions")
	byUser := transforms.Map(us, "KeyByUser", func(o Order) KV[int64, struct{}] {
		return KV[int64, struct{}]{Key: o.User}
	}, orders)
	sessions := dataflow.WindowInto(us, "Window", dataflow.Sessions(sessionGap), byUser)
	perSession := transforms.CountPerKey(us, "OrdersPerSession", sessions)
	gapMillis := dataflow.EventTime(sessionGap / time.Millisecond)
	totals := dataflow.ParDo(us, "SessionTotals", dataflow.DoFnFunc[KV[int64, int64], SessionTotals](
		func(c *dataflow.Context, kv KV[int64, int64], emit dataflow.Emitter[SessionTotals]) error {
			w := c.Window() // [first order, last order + gap)
			active := int64(w.End - gapMillis - w.Start)
			emit.Emit(SessionTotals{Sessions: 1, Orders: kv.Value, ActiveMillis: active, LongestMillis: active})
			return nil
		}), perSession)
	global := dataflow.WindowInto(us, "GlobalWindow", dataflow.Global(), totals)
	dataflow.Write(us, "CollectTotals", r.sessionTotals,
		transforms.CombineGlobally(us, "AddUp", dataflow.CombineFn[SessionTotals, SessionTotals, SessionTotals](sessionTotalsFn{}), global))
	return p, r
}
