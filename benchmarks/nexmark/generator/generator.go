// Package generator is Nexmark's deterministic event generator, following
// Beam's (org.apache.beam.sdk.nexmark.sources.generator) and Flink's
// (com.github.nexmark.flink.generator) generators: the same proportions (1
// person : 3 auctions : 46 bids in every 50 events), hot auctions, sellers and
// bidders, in-flight auctions, out-of-order groups, and a java.util.Random
// seeded with each event's id, drawn from in the same order, so the fields of
// persons and auctions are Beam's for the same configuration.
//
// # What it promises
//
//  1. Event n is a pure function of n and the Config (Generator.Event): any
//     split of the range [0, N) yields the same events, with the same
//     timestamps, as reading it whole. Every runner and the baseline see the
//     same events.
//  2. Events lie on one timeline: event n happens at BaseTime plus n times
//     the inter-event delay (1e6/EventsPerSecond microseconds), adjusted
//     within out-of-order groups of OutOfOrderGroupSize events. (Beam gives
//     each of its numEventGenerators splits a timeline of its own, which makes
//     timestamps depend on the split; Beam's splitAtEventId, which this
//     follows, keeps one timeline.)
//  3. A Generator is immutable after New and safe for concurrent use.
//
// # Differences from Beam and Flink
//
//   - The rate is constant (Beam's rate shapes with equal first and next
//     rates); wall-clock pacing and occasional delays only matter to an
//     unbounded source and are not modelled.
//   - Bids carry Flink's channel and url. Flink draws its urls from an
//     unseeded Random; here each channel's url is drawn from a Random seeded
//     by the channel number, so they are the same in every process. Flink also
//     adds FIRST_PERSON_ID to the bidder twice; this does not.
package generator

import (
	"errors"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"

	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	"github.com/sluicedata/sluice/pkg/dataflow"
)

// The constants of Beam's GeneratorConfig and model generators.
const (
	FirstAuctionID  = 1000
	FirstPersonID   = 1000
	FirstCategoryID = 10

	PersonProportion      = 1
	AuctionProportion     = 3
	BidProportion         = 46
	ProportionDenominator = PersonProportion + AuctionProportion + BidProportion

	numCategories  = 5  // AuctionGenerator.NUM_CATEGORIES
	auctionIDLead  = 10 // AuctionGenerator.AUCTION_ID_LEAD
	personIDLead   = 10 // PersonGenerator.PERSON_ID_LEAD
	hotSellerBatch = 100
	hotAuctionStep = 100
	hotBidderBatch = 100

	hotChannelsRatio = 2 // Flink's BidGenerator
	channelsNumber   = 10_000
)

// DefaultBaseTime is the time of event 0: 2015-07-15T00:00:00Z, a whole
// number of any window size used here.
const DefaultBaseTime dataflow.EventTime = 1436918400000

// Config parameterizes the events, with Beam's NexmarkConfiguration defaults.
type Config struct {
	// BaseTime is the timestamp of event 0.
	BaseTime dataflow.EventTime
	// EventsPerSecond is the event rate in event time (Beam's firstEventRate).
	EventsPerSecond int
	// Average sizes of the events, in Beam's idealized bytes; the Extra
	// field pads each event up to about this size.
	AvgPersonByteSize, AvgAuctionByteSize, AvgBidByteSize int
	// HotAuctionRatio: a bid is for the current hot auction with
	// probability 1 - 1/HotAuctionRatio. The same for sellers and bidders.
	HotAuctionRatio, HotSellersRatio, HotBiddersRatio int
	// NumInFlightAuctions is how many recent auctions a bid may be for; it
	// also sets the average auction length.
	NumInFlightAuctions int
	// NumActivePeople is how many recent people may sell or bid.
	NumActivePeople int
	// OutOfOrderGroupSize: each group of this many events is emitted in a
	// pseudo-random order of their timestamps (1: in order).
	OutOfOrderGroupSize int64
}

// DefaultConfig returns Beam's defaults (NexmarkConfiguration.DEFAULT), with
// the base time DefaultBaseTime.
func DefaultConfig() Config {
	return Config{
		BaseTime:            DefaultBaseTime,
		EventsPerSecond:     10_000,
		AvgPersonByteSize:   200,
		AvgAuctionByteSize:  500,
		AvgBidByteSize:      100,
		HotAuctionRatio:     2,
		HotSellersRatio:     4,
		HotBiddersRatio:     4,
		NumInFlightAuctions: 100,
		NumActivePeople:     1000,
		OutOfOrderGroupSize: 1,
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	positive := func(name string, v int64) {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("nexmark generator: %s is %d, want > 0", name, v))
		}
	}
	positive("EventsPerSecond", int64(c.EventsPerSecond))
	positive("HotAuctionRatio", int64(c.HotAuctionRatio))
	positive("HotSellersRatio", int64(c.HotSellersRatio))
	positive("HotBiddersRatio", int64(c.HotBiddersRatio))
	positive("NumInFlightAuctions", int64(c.NumInFlightAuctions))
	positive("NumActivePeople", int64(c.NumActivePeople))
	positive("OutOfOrderGroupSize", c.OutOfOrderGroupSize)
	for _, s := range []struct {
		name string
		v    int
	}{{"AvgPersonByteSize", c.AvgPersonByteSize}, {"AvgAuctionByteSize", c.AvgAuctionByteSize}, {"AvgBidByteSize", c.AvgBidByteSize}} {
		if s.v < 0 {
			errs = append(errs, fmt.Errorf("nexmark generator: %s is %d, want >= 0", s.name, s.v))
		}
	}
	if c.EventsPerSecond > 1_000_000 {
		errs = append(errs, fmt.Errorf("nexmark generator: EventsPerSecond %d is above 1000000 (the delay between events is in whole microseconds)", c.EventsPerSecond))
	}
	return errors.Join(errs...)
}

// Generator makes the events of a Config.
type Generator struct {
	cfg     Config
	delayUs int64 // between consecutive events
	// auctionHorizon is how many events it takes to create NumInFlightAuctions auctions.
	auctionHorizon int64
	channels       *channelTable
}

// New returns the generator of cfg.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := int64(cfg.EventsPerSecond)
	return &Generator{
		cfg:            cfg,
		delayUs:        (1_000_000 + r/2) / r, // Beam's RateUnit.rateToPeriodUs
		auctionHorizon: int64(cfg.NumInFlightAuctions) * ProportionDenominator / AuctionProportion,
		channels:       channels(),
	}, nil
}

// Config returns the generator's configuration.
func (g *Generator) Config() Config { return g.cfg }

// timestamp is when event number n happens.
func (g *Generator) timestamp(n int64) dataflow.EventTime {
	return g.cfg.BaseTime + dataflow.EventTime(n*g.delayUs/1000)
}

// adjusted is the event number that event n takes its id and time from: the
// events of each out-of-order group are permuted (Beam's nextAdjustedEventNumber).
func (g *Generator) adjusted(n int64) int64 {
	k := g.cfg.OutOfOrderGroupSize
	return n/k*k + n*953%k
}

// Event returns event number n (n >= 0) and its timestamp.
func (g *Generator) Event(n int64) (model.Event, dataflow.EventTime) {
	id := g.adjusted(n)
	ts := g.timestamp(id)
	r := newJavaRandom(id)
	switch rem := id % ProportionDenominator; {
	case rem < PersonProportion:
		return model.Event{Person: g.person(id, &r, ts)}, ts
	case rem < PersonProportion+AuctionProportion:
		return model.Event{Auction: g.auction(id, &r, ts)}, ts
	default:
		return model.Event{Bid: g.bid(id, &r, ts)}, ts
	}
}

// All returns events [start, end) in order; single use per call, safe to call concurrently.
func (g *Generator) All(start, end int64) iter.Seq[model.Event] {
	return func(yield func(model.Event) bool) {
		for n := start; n < end; n++ {
			e, _ := g.Event(n)
			if !yield(e) {
				return
			}
		}
	}
}

// Events returns events [start, end) in a slice.
func (g *Generator) Events(start, end int64) []model.Event {
	out := make([]model.Event, 0, max(end-start, 0))
	for n := start; n < end; n++ {
		e, _ := g.Event(n)
		out = append(out, e)
	}
	return out
}

// EstimatedBytes is Beam's estimate of the size of n events (estimatedBytesForEvents).
func (g *Generator) EstimatedBytes(n int64) int64 {
	return n*PersonProportion/ProportionDenominator*int64(g.cfg.AvgPersonByteSize) +
		n*AuctionProportion/ProportionDenominator*int64(g.cfg.AvgAuctionByteSize) +
		n*BidProportion/ProportionDenominator*int64(g.cfg.AvgBidByteSize)
}

// lastBase0PersonID is the id (less FirstPersonID) of the latest person at event id.
func lastBase0PersonID(id int64) int64 {
	epoch, offset := id/ProportionDenominator, id%ProportionDenominator
	if offset >= PersonProportion {
		offset = PersonProportion - 1
	}
	return epoch*PersonProportion + offset
}

// lastBase0AuctionID is the id (less FirstAuctionID) of the latest auction at event id.
func lastBase0AuctionID(id int64) int64 {
	epoch, offset := id/ProportionDenominator, id%ProportionDenominator
	switch {
	case offset < PersonProportion: // a person: the last auction of the previous epoch
		epoch--
		offset = AuctionProportion - 1
	case offset >= PersonProportion+AuctionProportion: // a bid: the last auction of this epoch
		offset = AuctionProportion - 1
	default:
		offset -= PersonProportion
	}
	return epoch*AuctionProportion + offset
}

// nextBase0PersonID picks one of the active people, or one of the next few.
func (g *Generator) nextBase0PersonID(id int64, r *javaRandom) int64 {
	numPeople := lastBase0PersonID(id) + 1
	active := min(numPeople, int64(g.cfg.NumActivePeople))
	return numPeople - active + r.nextLong(active+personIDLead)
}

// nextBase0AuctionID picks one of the in-flight auctions, or one of the next few.
func (g *Generator) nextBase0AuctionID(id int64, r *javaRandom) int64 {
	maxAuction := lastBase0AuctionID(id)
	minAuction := max(maxAuction-int64(g.cfg.NumInFlightAuctions), 0)
	return minAuction + r.nextLong(maxAuction-minAuction+1+auctionIDLead)
}

var (
	usStates   = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = []string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	// personNames are the first and last names joined, so that a person's
	// name costs no allocation.
	personNames = func() []string {
		out := make([]string, 0, len(firstNames)*len(lastNames))
		for _, f := range firstNames {
			for _, l := range lastNames {
				out = append(out, f+" "+l)
			}
		}
		return out
	}()
)

func pick(r *javaRandom, xs []string) string { return xs[r.nextIntN(int32(len(xs)))] }

func (g *Generator) person(id int64, r *javaRandom, ts dataflow.EventTime) *model.Person {
	f := r.nextIntN(int32(len(firstNames)))
	l := r.nextIntN(int32(len(lastNames)))
	name := personNames[int(f)*len(lastNames)+int(l)]
	var sb strings.Builder
	sb.Grow(24)
	appendString(&sb, r, 7, ' ')
	sb.WriteByte('@')
	appendString(&sb, r, 5, ' ')
	sb.WriteString(".com")
	email := sb.String()
	var cc [19]byte
	for i := range 4 {
		if i > 0 {
			cc[5*i-1] = ' '
		}
		v := r.nextIntN(10000)
		cc[5*i], cc[5*i+1], cc[5*i+2], cc[5*i+3] = byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10)
	}
	card := string(cc[:])
	city := pick(r, usCities)
	state := pick(r, usStates)
	size := 8 + len(name) + len(email) + len(card) + len(city) + len(state)
	return &model.Person{
		ID:           lastBase0PersonID(id) + FirstPersonID,
		Name:         name,
		EmailAddress: email,
		CreditCard:   card,
		City:         city,
		State:        state,
		DateTime:     ts,
		Extra:        nextExtra(r, size, g.cfg.AvgPersonByteSize),
	}
}

func (g *Generator) auction(id int64, r *javaRandom, ts dataflow.EventTime) *model.Auction {
	a := &model.Auction{ID: lastBase0AuctionID(id) + FirstAuctionID, DateTime: ts}
	if r.nextIntN(int32(g.cfg.HotSellersRatio)) > 0 {
		// The first person of the latest batch of hotSellerBatch people.
		a.Seller = lastBase0PersonID(id) / hotSellerBatch * hotSellerBatch
	} else {
		a.Seller = g.nextBase0PersonID(id, r)
	}
	a.Seller += FirstPersonID
	a.Category = FirstCategoryID + int64(r.nextIntN(numCategories))
	a.InitialBid = nextPrice(r)
	// The auction lasts on average until NumInFlightAuctions more auctions
	// have been created (Beam's nextAuctionLengthMs).
	horizon := int64(g.timestamp(id+g.auctionHorizon) - ts)
	a.Expires = ts + dataflow.EventTime(1+r.nextLong(max(horizon*2, 1)))
	a.ItemName = nextString(r, 20, ' ')
	a.Description = nextString(r, 100, ' ')
	a.Reserve = a.InitialBid + nextPrice(r)
	size := 8 + len(a.ItemName) + len(a.Description) + 8 + 8 + 8 + 8 + 8
	a.Extra = nextExtra(r, size, g.cfg.AvgAuctionByteSize)
	return a
}

func (g *Generator) bid(id int64, r *javaRandom, ts dataflow.EventTime) *model.Bid {
	b := &model.Bid{DateTime: ts}
	if r.nextIntN(int32(g.cfg.HotAuctionRatio)) > 0 {
		// The first auction of the latest batch of hotAuctionStep auctions.
		b.Auction = lastBase0AuctionID(id) / hotAuctionStep * hotAuctionStep
	} else {
		b.Auction = g.nextBase0AuctionID(id, r)
	}
	b.Auction += FirstAuctionID
	if r.nextIntN(int32(g.cfg.HotBiddersRatio)) > 0 {
		// The second person of the latest batch, so that hot bidders are not hot sellers.
		b.Bidder = lastBase0PersonID(id)/hotBidderBatch*hotBidderBatch + 1
	} else {
		b.Bidder = g.nextBase0PersonID(id, r)
	}
	b.Bidder += FirstPersonID
	b.Price = nextPrice(r)
	if r.nextIntN(hotChannelsRatio) > 0 {
		i := r.nextIntN(int32(len(hotChannels)))
		b.Channel, b.URL = hotChannels[i], g.channels.hotURLs[i]
	} else {
		n := r.nextIntN(channelsNumber)
		b.Channel, b.URL = g.channels.names[n], g.channels.urls[n]
	}
	b.Extra = nextExtra(r, 8+8+8+8, g.cfg.AvgBidByteSize)
	return b
}

// nextPrice is Beam's PriceGenerator: cents, log-uniform between 1 and 1e6 dollars.
func nextPrice(r *javaRandom) int64 {
	return javaRound(math.Pow(10, r.nextFloat64()*6) * 100)
}

// javaRound is Java's Math.round(double): the closest integer, ties up.
func javaRound(x float64) int64 { return int64(math.Floor(x + 0.5)) }

const minStringLength = 3

// nextString is Beam's StringsGenerator.nextString (Flink's with special as
// the separator): a random string of lowercase letters and separators,
// shorter than maxLength, with surrounding separators trimmed.
func nextString(r *javaRandom, maxLength int32, special byte) string {
	var sb strings.Builder
	sb.Grow(int(maxLength))
	appendString(&sb, r, maxLength, special)
	return sb.String()
}

// appendString draws a nextString into sb, trimmed of spaces at both ends
// as Java's trim() does (other separators stay).
func appendString(sb *strings.Builder, r *javaRandom, maxLength int32, special byte) {
	n := minStringLength + r.nextIntN(maxLength-minStringLength)
	var buf [128]byte
	s := buf[:0]
	for ; n > 0; n-- {
		if r.nextIntN(13) == 0 {
			s = append(s, special)
		} else {
			s = append(s, byte('a'+r.nextIntN(26)))
		}
	}
	if special == ' ' { // Java's trim() removes spaces, not other separators
		for len(s) > 0 && s[0] == ' ' {
			s = s[1:]
		}
		for len(s) > 0 && s[len(s)-1] == ' ' {
			s = s[:len(s)-1]
		}
	}
	sb.Write(s)
}

// nextExactString is Beam's nextExactString: length characters, six from
// each random int. Java's % and / truncate toward zero, as Go's do, so a
// negative int gives characters below 'a' there and here alike.
func nextExactString(r *javaRandom, length int) string {
	if length <= 0 {
		return ""
	}
	buf := make([]byte, length)
	var rnd int32
	n := 0
	for i := range buf {
		if n == 0 {
			rnd = r.nextInt()
			n = 6 // log_26(2^31)
		}
		buf[i] = byte('a' + rnd%26)
		rnd /= 26
		n--
	}
	return string(buf)
}

// nextExtra is Beam's nextExtra: padding so that currentSize plus its length
// is on average desiredAverageSize.
func nextExtra(r *javaRandom, currentSize, desiredAverageSize int) string {
	if currentSize > desiredAverageSize {
		return ""
	}
	desired := desiredAverageSize - currentSize
	delta := int(javaRound(float64(desired) * 0.2))
	size := desired - delta
	if delta != 0 {
		size += int(r.nextIntN(int32(2 * delta)))
	}
	return nextExactString(r, size)
}

var hotChannels = [...]string{"Google", "Facebook", "Baidu", "Apple"}

// channelTable holds Flink's channel names and urls, drawn once.
type channelTable struct {
	hotURLs [len(hotChannels)]string
	names   [channelsNumber]string
	urls    [channelsNumber]string
}

var channels = sync.OnceValue(func() *channelTable {
	t := &channelTable{}
	for i := range t.hotURLs {
		r := newJavaRandom(-1 - int64(i))
		t.hotURLs[i] = baseURL(&r)
	}
	for n := range channelsNumber {
		r := newJavaRandom(int64(n))
		url := baseURL(&r)
		if r.nextIntN(10) > 0 {
			url += "&channel_id=" + strconv.Itoa(abs32(int32(bits.Reverse32(uint32(n)))))
		}
		t.names[n] = "channel-" + strconv.Itoa(n)
		t.urls[n] = url
	}
	return t
})

// abs32 is Java's Math.abs(int), under which MinInt32 stays negative.
func abs32(v int32) int {
	if v < 0 && v != math.MinInt32 {
		return -int(v)
	}
	return int(v)
}

// baseURL is Flink's getBaseUrl.
func baseURL(r *javaRandom) string {
	return "https://www.nexmark.com/" + nextString(r, 5, '_') + "/" + nextString(r, 5, '_') + "/" + nextString(r, 5, '_') + "/item.htm?query=1"
}
