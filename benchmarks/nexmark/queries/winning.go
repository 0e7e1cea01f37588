package queries

import (
	"cmp"
	"iter"
	"math"
	"slices"

	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
)

// validBid reports whether b can win a: placed while a was open, at or above
// its reserve.
func validBid(a *model.Auction, b *model.Bid) bool {
	return b.DateTime >= a.DateTime && b.DateTime < a.Expires && b.Price >= a.Reserve
}

// betterBid reports whether b beats best: a higher price, then an earlier
// bid (Beam's PRICE_THEN_DESCENDING_TIME), then a fixed order of the rest,
// so that the winner does not depend on the order bids arrive in.
func betterBid(b, best *model.Bid) bool {
	if c := cmp.Compare(b.Price, best.Price); c != 0 {
		return c > 0
	}
	if c := cmp.Compare(b.DateTime, best.DateTime); c != 0 {
		return c < 0
	}
	if c := cmp.Compare(b.Bidder, best.Bidder); c != 0 {
		return c < 0
	}
	return b.Hash() < best.Hash()
}

// WinningBids finds the winning bid of every auction that has one (Beam's
// WinningBids): auctions and bids are combined by auction id
// (winnerFn), so each auction keeps its best valid bid rather than all its
// bids, and runners combine before the shuffle. Each result is timestamped
// at the auction's close (its expiry minus 1 ms, where Beam's auction window
// puts it) in the global window.
func WinningBids(s df.Scope, name string, events df.PCollection[model.Event]) df.PCollection[model.AuctionBid] {
	s = s.Scope(name)
	keyed := tf.FlatMap(s, "ByAuction", func(e model.Event, emit func(df.KV[int64, model.Event])) {
		switch {
		case e.Auction != nil:
			emit(df.KV[int64, model.Event]{Key: e.Auction.ID, Value: e})
		case e.Bid != nil:
			emit(df.KV[int64, model.Event]{Key: e.Bid.Auction, Value: e})
		}
	}, events)
	// Results take their earliest element's timestamp, which is at most the
	// auction's, so the result may be emitted at the auction's close.
	keyed = df.WindowInto(s, "EarliestTimestamp", df.Global(), keyed, df.WithTimestampCombiner(df.Earliest))
	best := df.CombinePerKey(s, "BestBid", winnerFn{}, keyed)
	return df.ParDo(s, "Winner", df.DoFnFunc[df.KV[int64, winner], model.AuctionBid](
		func(c *df.Context, kv df.KV[int64, winner], emit df.Emitter[model.AuctionBid]) error {
			if w := kv.Value; w.Auction != nil && w.Best != nil {
				emit.EmitAt(model.AuctionBid{Auction: *w.Auction, Bid: *w.Best}, w.Auction.Expires-1)
			}
			return nil
		}), best)
}

// winner is an auction id's partial result: the auction once seen, the best
// valid bid so far, and the bids seen before the auction (which cannot be
// judged without it).
type winner struct {
	Auction *model.Auction
	Best    *model.Bid
	Pending []*model.Bid
}

// offer makes b the best bid if it is valid for the (known) auction and beats the best.
func (w *winner) offer(b *model.Bid) {
	if validBid(w.Auction, b) && (w.Best == nil || betterBid(b, w.Best)) {
		w.Best = b
	}
}

// add adds a bid, judging it now if the auction is known.
func (w *winner) add(b *model.Bid) {
	if w.Auction == nil {
		w.Pending = append(w.Pending, b)
		return
	}
	w.offer(b)
}

// setAuction records the auction and judges the bids that waited for it.
func (w *winner) setAuction(a *model.Auction) {
	w.Auction = a
	for _, b := range w.Pending {
		w.offer(b)
	}
	w.Pending = nil
}

// winnerFn combines an auction id's events into its winner. The result does
// not depend on the order of events or of merges: betterBid is a total order.
type winnerFn struct{}

func (winnerFn) CreateAccumulator() *winner { return &winner{} }

func (winnerFn) AddInput(w *winner, e model.Event) *winner {
	switch {
	case e.Auction != nil:
		w.setAuction(e.Auction)
	case e.Bid != nil:
		w.add(e.Bid)
	}
	return w
}

func (winnerFn) MergeAccumulators(a, b *winner) *winner {
	if a.Auction == nil && b.Auction != nil {
		a.setAuction(b.Auction)
	}
	for _, bid := range b.Pending {
		a.add(bid)
	}
	if b.Best != nil {
		a.add(b.Best) // valid for b's auction, which is a's
	}
	return a
}

func (winnerFn) ExtractOutput(w *winner) winner { return *w }

// refAuction is the reference's state of one auction id.
type refAuction struct {
	auction *model.Auction
	best    *model.Bid
	pending []*model.Bid // bids seen before the auction
}

// RefWinningBids is WinningBids' reference; it emits in the order auctions were first seen.
func RefWinningBids(events iter.Seq[model.Event], emit func(model.AuctionBid)) {
	byID := map[int64]*refAuction{}
	var order []*refAuction
	get := func(id int64) *refAuction {
		r := byID[id]
		if r == nil {
			r = &refAuction{}
			byID[id] = r
			order = append(order, r)
		}
		return r
	}
	offer := func(r *refAuction, b *model.Bid) {
		if validBid(r.auction, b) && (r.best == nil || betterBid(b, r.best)) {
			r.best = b
		}
	}
	for e := range events {
		switch {
		case e.Auction != nil:
			r := get(e.Auction.ID)
			r.auction = e.Auction
			for _, b := range r.pending {
				offer(r, b)
			}
			r.pending = nil
		case e.Bid != nil:
			r := get(e.Bid.Auction)
			if r.auction == nil {
				r.pending = append(r.pending, e.Bid)
			} else {
				offer(r, e.Bid)
			}
		}
	}
	for _, r := range order {
		if r.auction != nil && r.best != nil {
			emit(model.AuctionBid{Auction: *r.auction, Bid: *r.best})
		}
	}
}

// Q4 is the average winning price per category, over sliding windows of
// WindowSize every WindowPeriod of the auctions' close, rounded as Java's
// Math.round (Beam's Query4). The mean is exact: prices are whole cents and
// their sums stay far below 2^53.
func Q4(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.CategoryPrice] {
	s = s.Scope("Q4")
	winners := WinningBids(s, "WinningBids", events)
	prices := tf.Map(s, "ByCategory", func(ab model.AuctionBid) df.KV[int64, int64] {
		return df.KV[int64, int64]{Key: ab.Auction.Category, Value: ab.Bid.Price}
	}, winners)
	prices = df.WindowInto(s, "Sliding", df.Sliding(WindowSize, WindowPeriod), prices)
	means := tf.MeanPerKey(s, "Mean", prices)
	return withWindow(s, "Project", func(kv df.KV[int64, float64], w df.Window) model.CategoryPrice {
		return model.CategoryPrice{Category: kv.Key, Price: javaRound(kv.Value), Window: w}
	}, means)
}

// javaRound is Java's Math.round(double): the closest integer, ties up.
func javaRound(x float64) int64 { return int64(math.Floor(x + 0.5)) }

// slidingStarts appends the starts of the sliding windows that contain t.
func slidingStarts(dst []df.EventTime, t df.EventTime) []df.EventTime {
	size, period := df.EventTime(WindowSize.Milliseconds()), df.EventTime(WindowPeriod.Milliseconds())
	last := t - mod(t, period)
	for start := last; start > t-size; start -= period {
		dst = append(dst, start)
	}
	return dst
}

func mod(t, m df.EventTime) df.EventTime {
	r := t % m
	if r < 0 {
		r += m
	}
	return r
}

func slidingWindow(start df.EventTime) df.Window {
	return df.IntervalWindow(start, start+df.EventTime(WindowSize.Milliseconds()))
}

// Ref4 is Q4's reference.
func Ref4(events iter.Seq[model.Event], emit func(model.CategoryPrice)) {
	type key struct {
		start    df.EventTime
		category int64
	}
	type acc struct{ sum, n int64 }
	sums := map[key]*acc{}
	var starts []df.EventTime
	RefWinningBids(events, func(ab model.AuctionBid) {
		starts = slidingStarts(starts[:0], ab.Auction.Expires-1)
		for _, st := range starts {
			k := key{st, ab.Auction.Category}
			a := sums[k]
			if a == nil {
				a = &acc{}
				sums[k] = a
			}
			a.sum += ab.Bid.Price
			a.n++
		}
	})
	for k, a := range sums {
		emit(model.CategoryPrice{Category: k.category, Price: javaRound(float64(a.sum) / float64(a.n)), Window: slidingWindow(k.start)})
	}
}

// Q6 is the average selling price by seller: the mean of each seller's last
// Q6LastAuctions winning bids (by bid time, then price), rounded as Java's
// Math.round (Beam's Query6, final pane; see the package doc).
func Q6(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.SellerPrice] {
	s = s.Scope("Q6")
	winners := WinningBids(s, "WinningBids", events)
	bySeller := tf.Map(s, "BySeller", func(ab model.AuctionBid) df.KV[int64, model.Bid] {
		return df.KV[int64, model.Bid]{Key: ab.Auction.Seller, Value: ab.Bid}
	}, winners)
	means := df.CombinePerKey(s, "LastMean", lastMeanFn{n: Q6LastAuctions}, bySeller)
	return tf.Map(s, "Project", func(kv df.KV[int64, int64]) model.SellerPrice {
		return model.SellerPrice{Seller: kv.Key, Price: kv.Value}
	}, means)
}

// lastMeanFn is Beam's MovingMeanSellingPrice: it keeps the n latest bids
// (by time, then price) and averages their prices.
type lastMeanFn struct{ n int }

func bidTimeThenPrice(a, b model.Bid) int {
	if c := cmp.Compare(a.DateTime, b.DateTime); c != 0 {
		return c
	}
	return cmp.Compare(a.Price, b.Price)
}

func (f lastMeanFn) trim(acc []model.Bid) []model.Bid {
	slices.SortStableFunc(acc, bidTimeThenPrice)
	if len(acc) > f.n {
		acc = append(acc[:0], acc[len(acc)-f.n:]...)
	}
	return acc
}

func (lastMeanFn) CreateAccumulator() []model.Bid { return nil }
func (f lastMeanFn) AddInput(acc []model.Bid, b model.Bid) []model.Bid {
	return f.trim(append(acc, b))
}
func (f lastMeanFn) MergeAccumulators(a, b []model.Bid) []model.Bid {
	return f.trim(append(a, b...))
}
func (lastMeanFn) ExtractOutput(acc []model.Bid) int64 { return meanPrice(acc) }

// meanPrice is the rounded mean price of bids (0 for none, as Beam's).
func meanPrice(bids []model.Bid) int64 {
	if len(bids) == 0 {
		return 0
	}
	var sum int64
	for _, b := range bids {
		sum += b.Price
	}
	return javaRound(float64(sum) / float64(len(bids)))
}

// Ref6 is Q6's reference.
func Ref6(events iter.Seq[model.Event], emit func(model.SellerPrice)) {
	bySeller := map[int64][]model.Bid{}
	var sellers []int64
	RefWinningBids(events, func(ab model.AuctionBid) {
		s := ab.Auction.Seller
		if _, ok := bySeller[s]; !ok {
			sellers = append(sellers, s)
		}
		bySeller[s] = append(bySeller[s], ab.Bid)
	})
	for _, s := range sellers {
		bids := bySeller[s]
		slices.SortStableFunc(bids, bidTimeThenPrice)
		bids = bids[max(len(bids)-Q6LastAuctions, 0):]
		emit(model.SellerPrice{Seller: s, Price: meanPrice(bids)})
	}
}

// Q9 is the winning bid of every closed auction (Beam's Query9).
func Q9(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.AuctionBid] {
	return WinningBids(s.Scope("Q9"), "WinningBids", events)
}

// Ref9 is Q9's reference.
func Ref9(events iter.Seq[model.Event], emit func(model.AuctionBid)) {
	RefWinningBids(events, emit)
}
