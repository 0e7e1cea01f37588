package queries

import (
	"iter"
	"slices"

	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
)

// Q5 is hot items: in each sliding window of WindowSize every WindowPeriod,
// the auctions with the most bids, and their count (Beam's Query5).
func Q5(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.AuctionCount] {
	s = s.Scope("Q5")
	auctions := tf.FlatMap(s, "BidAuctions", func(e model.Event, emit func(int64)) {
		if e.Bid != nil {
			emit(e.Bid.Auction)
		}
	}, events)
	auctions = df.WindowInto(s, "Sliding", df.Sliding(WindowSize, WindowPeriod), auctions)
	counts := tf.CountPerElement(s, "Count", auctions)
	top := tf.CombineGlobally(s, "MostBids", topCountFn{}, counts, tf.WithoutDefaults())
	return df.ParDo(s, "Select", df.DoFnFunc[topCounts, model.AuctionCount](
		func(c *df.Context, t topCounts, emit df.Emitter[model.AuctionCount]) error {
			for _, a := range t.Auctions {
				emit.Emit(model.AuctionCount{Auction: a, Count: t.Count, Window: c.Window()})
			}
			return nil
		}), top)
}

// topCounts is the accumulator of topCountFn: the highest count and the
// auctions that have it.
type topCounts struct {
	Count    int64
	Auctions []int64
}

// topCountFn is Beam's Query5.TopCombineFn.
type topCountFn struct{}

func (topCountFn) CreateAccumulator() topCounts { return topCounts{} }
func (topCountFn) AddInput(acc topCounts, kv df.KV[int64, int64]) topCounts {
	switch {
	case kv.Value > acc.Count:
		acc.Count = kv.Value
		acc.Auctions = append(acc.Auctions[:0], kv.Key)
	case kv.Value == acc.Count:
		acc.Auctions = append(acc.Auctions, kv.Key)
	}
	return acc
}
func (topCountFn) MergeAccumulators(a, b topCounts) topCounts {
	switch {
	case b.Count > a.Count:
		a.Count = b.Count
		a.Auctions = append(a.Auctions[:0], b.Auctions...)
	case b.Count == a.Count:
		a.Auctions = append(a.Auctions, b.Auctions...)
	}
	return a
}
func (topCountFn) ExtractOutput(acc topCounts) topCounts {
	return topCounts{Count: acc.Count, Auctions: slices.Clone(acc.Auctions)}
}

// Ref5 is Q5's reference.
func Ref5(events iter.Seq[model.Event], emit func(model.AuctionCount)) {
	type key struct {
		start   df.EventTime
		auction int64
	}
	counts := map[key]int64{}
	var starts []df.EventTime
	for e := range events {
		if e.Bid == nil {
			continue
		}
		starts = slidingStarts(starts[:0], e.Bid.DateTime)
		for _, st := range starts {
			counts[key{st, e.Bid.Auction}]++
		}
	}
	best := map[df.EventTime]int64{}
	for k, n := range counts {
		best[k.start] = max(best[k.start], n)
	}
	for k, n := range counts {
		if n == best[k.start] {
			emit(model.AuctionCount{Auction: k.auction, Count: n, Window: slidingWindow(k.start)})
		}
	}
}

// Q7 is the highest bid: in each fixed window of WindowSize, the bids with
// the highest price. As Beam's Query7, the maximum of each window is a side
// input of the pass that selects the bids.
func Q7(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.Bid] {
	s = s.Scope("Q7")
	bids := Bids(s, "Bids", events)
	bids = df.WindowInto(s, "Fixed", df.Fixed(WindowSize), bids)
	prices := tf.Map(s, "Prices", func(b model.Bid) int64 { return b.Price }, bids)
	maxPrice := df.AsSingleton(tf.CombineGlobally(s, "MaxPrice", tf.MaxFn[int64](), prices, tf.WithoutDefaults()))
	return df.ParDo(s, "Select", df.DoFnFunc[model.Bid, model.Bid](
		func(c *df.Context, b model.Bid, emit df.Emitter[model.Bid]) error {
			if b.Price == maxPrice.Get(c) {
				emit.Emit(b)
			}
			return nil
		}), bids, df.WithSideInputs(maxPrice))
}

func fixedStart(t df.EventTime) df.EventTime {
	return t - mod(t, df.EventTime(WindowSize.Milliseconds()))
}

func fixedWindow(start df.EventTime) df.Window {
	return df.IntervalWindow(start, start+df.EventTime(WindowSize.Milliseconds()))
}

// Ref7 is Q7's reference.
func Ref7(events iter.Seq[model.Event], emit func(model.Bid)) {
	type top struct {
		price int64
		bids  []model.Bid
	}
	windows := map[df.EventTime]*top{}
	for e := range events {
		b := e.Bid
		if b == nil {
			continue
		}
		st := fixedStart(b.DateTime)
		t := windows[st]
		switch {
		case t == nil:
			windows[st] = &top{price: b.Price, bids: []model.Bid{*b}}
		case b.Price > t.price:
			t.price, t.bids = b.Price, append(t.bids[:0], *b)
		case b.Price == t.price:
			t.bids = append(t.bids, *b)
		}
	}
	for _, t := range windows {
		for _, b := range t.bids {
			emit(b)
		}
	}
}

// Q8 is monitor new users: the people who opened an auction in the fixed
// window of WindowSize in which they registered, with the auction's reserve
// (Beam's Query8, a CoGroupByKey of people by id and auctions by seller;
// here the library's InnerJoin, which is built on it). Only the columns the
// result needs are joined (each person's name, each auction's reserve), as
// a SQL planner prunes them (Flink's Nexmark q8); Beam joins whole records.
func Q8(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.IDNameReserve] {
	s = s.Scope("Q8")
	names := tf.FlatMap(s, "Persons", func(e model.Event, emit func(df.KV[int64, string])) {
		if e.Person != nil {
			emit(df.KV[int64, string]{Key: e.Person.ID, Value: e.Person.Name})
		}
	}, events)
	names = df.WindowInto(s, "WindowPersons", df.Fixed(WindowSize), names)
	reserves := tf.FlatMap(s, "Auctions", func(e model.Event, emit func(df.KV[int64, int64])) {
		if e.Auction != nil {
			emit(df.KV[int64, int64]{Key: e.Auction.Seller, Value: e.Auction.Reserve})
		}
	}, events)
	reserves = df.WindowInto(s, "WindowAuctions", df.Fixed(WindowSize), reserves)
	joined := tf.InnerJoin(s, "Join", names, reserves)
	return withWindow(s, "Select", func(kv df.KV[int64, tf.Join[string, int64]], w df.Window) model.IDNameReserve {
		return model.IDNameReserve{ID: kv.Key, Name: kv.Value.Left, Reserve: kv.Value.Right, Window: w}
	}, joined)
}

// Ref8 is Q8's reference.
func Ref8(events iter.Seq[model.Event], emit func(model.IDNameReserve)) {
	type key struct {
		start df.EventTime
		id    int64
	}
	persons := map[key][]*model.Person{}
	auctions := map[key][]*model.Auction{}
	for e := range events {
		switch {
		case e.Person != nil:
			k := key{fixedStart(e.Person.DateTime), e.Person.ID}
			persons[k] = append(persons[k], e.Person)
		case e.Auction != nil:
			k := key{fixedStart(e.Auction.DateTime), e.Auction.Seller}
			auctions[k] = append(auctions[k], e.Auction)
		}
	}
	for k, ps := range persons {
		for _, p := range ps {
			for _, a := range auctions[k] {
				emit(model.IDNameReserve{ID: p.ID, Name: p.Name, Reserve: a.Reserve, Window: fixedWindow(k.start)})
			}
		}
	}
}

// bidders returns the bidder of every bid.
func bidders(s df.Scope, events df.PCollection[model.Event]) df.PCollection[int64] {
	return tf.FlatMap(s, "Bidders", func(e model.Event, emit func(int64)) {
		if e.Bid != nil {
			emit(e.Bid.Bidder)
		}
	}, events)
}

// Q11 is user sessions: the number of bids of each bidder in each session
// (a gap of WindowSize), as Beam's Query11, with its trigger: a pane every
// MaxLogEvents bids, discarding, and half of OccasionalDelay of lateness.
func Q11(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.BidsPerSession] {
	s = s.Scope("Q11")
	windowed := df.WindowInto(s, "Sessions", df.Sessions(WindowSize), bidders(s, events),
		df.Triggering(df.Repeatedly(df.AfterCount(MaxLogEvents))),
		df.DiscardingPanes(),
		df.AllowedLateness(OccasionalDelay/2))
	counts := tf.CountPerElement(s, "Count", windowed)
	return withWindow(s, "ToResult", func(kv df.KV[int64, int64], w df.Window) model.BidsPerSession {
		return model.BidsPerSession{Bidder: kv.Key, Count: kv.Value, Window: w}
	}, counts)
}

// Ref11 is Q11's reference: each bidder's bid times, sorted, cut where the
// next bid is at least WindowSize after the previous one.
func Ref11(events iter.Seq[model.Event], emit func(model.BidsPerSession)) {
	times := map[int64][]df.EventTime{}
	for e := range events {
		if e.Bid != nil {
			times[e.Bid.Bidder] = append(times[e.Bid.Bidder], e.Bid.DateTime)
		}
	}
	gap := df.EventTime(WindowSize.Milliseconds())
	for bidder, ts := range times {
		slices.Sort(ts)
		start, end, n := ts[0], ts[0]+gap, int64(0)
		for _, t := range ts {
			if t >= end {
				emit(model.BidsPerSession{Bidder: bidder, Count: n, Window: df.IntervalWindow(start, end)})
				start, n = t, 0
			}
			end = max(end, t+gap)
			n++
		}
		emit(model.BidsPerSession{Bidder: bidder, Count: n, Window: df.IntervalWindow(start, end)})
	}
}

// Q12 is processing-time windows: bids per bidder, in the global window
// with Beam's Repeatedly(AfterProcessingTime(WindowSize)) trigger,
// discarding. On the direct runner processing time is frozen, so it yields
// one pane per bidder when the input ends (see the package doc).
func Q12(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.BidsPerSession] {
	s = s.Scope("Q12")
	windowed := df.WindowInto(s, "ProcessingTime", df.Global(), bidders(s, events),
		df.Triggering(df.Repeatedly(df.AfterProcessingTime(WindowSize))),
		df.DiscardingPanes(),
		df.AllowedLateness(0))
	counts := tf.CountPerElement(s, "Count", windowed)
	return withWindow(s, "ToResult", func(kv df.KV[int64, int64], w df.Window) model.BidsPerSession {
		return model.BidsPerSession{Bidder: kv.Key, Count: kv.Value, Window: w}
	}, counts)
}

// Ref12 is Q12's reference, for a runner whose processing time is frozen.
func Ref12(events iter.Seq[model.Event], emit func(model.BidsPerSession)) {
	counts := map[int64]int64{}
	for e := range events {
		if e.Bid != nil {
			counts[e.Bid.Bidder]++
		}
	}
	for b, n := range counts {
		emit(model.BidsPerSession{Bidder: b, Count: n, Window: df.GlobalWindow})
	}
}
