package main

import (
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Order is one simulated e-commerce order.
type Order struct {
	ID       int64
	Time     dataflow.EventTime
	User     int64
	Category string
	Cents    int64 // the amount paid
}

// category is a product category: how often it is bought, when, and what
// it costs.
type category struct {
	name     string
	weight   uint64 // relative frequency
	peak     int    // the hour (UTC) when it sells best
	lo, span int64  // price range in cents: [lo, lo+span)
}

var categories = []category{
	{"grocery", 22, 18, 300, 5_700},
	{"fashion", 20, 13, 1_500, 10_500},
	{"books", 18, 22, 500, 3_000},
	{"home", 15, 10, 1_000, 19_000},
	{"electronics", 12, 21, 2_000, 28_000},
	{"beauty", 10, 12, 500, 5_500},
	{"toys", 8, 16, 800, 6_200},
	{"sports", 7, 7, 1_500, 13_500},
}

// categoryWeight is how often category c sells in hour h: up to three times
// its weight around its peak hour.
func categoryWeight(c category, h int) uint64 {
	d := (h - c.peak + 24) % 24
	d = min(d, 24-d) // hours from the peak, around the clock
	return c.weight * uint64(10+max(0, 20-6*d)) / 10
}

// hourWeights is the relative number of orders in each hour of the day (UTC):
// quiet at night, busy at lunch and busiest in the evening.
var hourWeights = [24]uint64{
	30, 20, 15, 10, 10, 15, 25, 40, 50, 60, 65, 70,
	80, 75, 70, 70, 75, 80, 90, 100, 105, 90, 70, 50,
}

// day is the simulated day: Black Friday 2024, UTC.
var day = dataflow.FromTime(time.Date(2024, 11, 29, 0, 0, 0, 0, time.UTC))

const (
	dayMillis = 24 * 60 * 60 * 1000
	// visitSlots is the number of consecutive order ids that make one visit
	// (see generator.order).
	visitSlots = 4
	// maxStepMillis bounds the time between two orders of one visit: under
	// the 10-minute session gap, so a visit is (part of) one session.
	maxStepMillis = 9 * 60 * 1000
	// visitReserve keeps visits inside the day: a visit starts at least this
	// long before midnight.
	visitReserve = (visitSlots - 1) * maxStepMillis
)

// generator makes the orders of one simulated day. Order i depends only on
// the seed, n and i, so the orders are the same however the ids are split
// among workers, and the test can recompute them with a plain loop.
type generator struct {
	seed  uint64
	n     int64
	users int64
	// cumulative weights, for sampling
	hourCum [24]uint64
	catCum  [24][]uint64 // per hour of the day
}

func newGenerator(seed uint64, n int64) *generator {
	g := &generator{seed: seed, n: n, users: max(n/8, 1)}
	var sum uint64
	for h, w := range hourWeights {
		sum += w
		g.hourCum[h] = sum
	}
	for h := range g.catCum {
		sum = 0
		for _, c := range categories {
			sum += categoryWeight(c, h)
			g.catCum[h] = append(g.catCum[h], sum)
		}
	}
	return g
}

// hash is a splitmix64 hash of the seed, an index and a stream number: a
// cheap, well-mixed random number that needs no state.
func (g *generator) hash(i int64, stream uint64) uint64 {
	x := g.seed ^ uint64(i)*0x9E3779B97F4A7C15 ^ stream*0xC2B2AE3D27D4EB4F
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	x ^= x >> 31
	return x
}

// pick returns the index whose cumulative weight covers r mod the total.
func pick(cum []uint64, r uint64) int {
	r %= cum[len(cum)-1]
	for i, c := range cum {
		if r < c {
			return i
		}
	}
	return len(cum) - 1
}

// timeOfDay samples a time in [0, limit) milliseconds after midnight,
// following hourWeights.
func (g *generator) timeOfDay(r uint64, limit int64) int64 {
	h := pick(g.hourCum[:], r)
	within := int64((r >> 20) % (60 * 60 * 1000))
	ms := int64(h)*60*60*1000 + within
	return ms * limit / dayMillis
}

// order returns order i. Ids come in slots of visitSlots: the first 1 to
// visitSlots ids of a slot are one user's visit, orders a few minutes apart;
// the remaining ids are single orders by random users at random times.
func (g *generator) order(i int64) Order {
	slot, j := i/visitSlots, i%visitSlots
	visitLen := 1 + int64(g.hash(slot, 0)%visitSlots)
	var user, ms int64
	if j < visitLen {
		user = int64(g.hash(slot, 1) % uint64(g.users))
		step := 30_000 + int64(g.hash(slot, 2)%(maxStepMillis-30_000))
		ms = g.timeOfDay(g.hash(slot, 3), dayMillis-visitReserve) + j*step
	} else {
		user = int64(g.hash(i, 4) % uint64(g.users))
		ms = g.timeOfDay(g.hash(i, 5), dayMillis)
	}
	c := categories[pick(g.catCum[ms/(60*60*1000)%24], g.hash(i, 6))]
	// Prices skew low: the square of a uniform fraction.
	u := float64(g.hash(i, 7)>>11) / (1 << 53)
	return Order{
		ID:       i,
		Time:     day + dataflow.EventTime(ms),
		User:     user,
		Category: c.name,
		Cents:    c.lo + int64(u*u*float64(c.span)),
	}
}
