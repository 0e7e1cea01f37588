package generator

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Values printed by java.util.Random on a JVM.
func TestJavaRandom(t *testing.T) {
	r := newJavaRandom(42)
	if got := r.nextInt(); got != -1170105035 {
		t.Errorf("Random(42).nextInt() = %d, want -1170105035", got)
	}
	r = newJavaRandom(0)
	if got := r.nextInt(); got != -1155484576 {
		t.Errorf("Random(0).nextInt() = %d, want -1155484576", got)
	}
	r = newJavaRandom(0)
	if got := r.nextInt64(); got != -4962768465676381896 {
		t.Errorf("Random(0).nextLong() = %d, want -4962768465676381896", got)
	}
	r = newJavaRandom(42)
	if got := r.nextFloat64(); got != 0.7275636800328681 {
		t.Errorf("Random(42).nextDouble() = %v, want 0.7275636800328681", got)
	}
	// nextInt(bound) stays in range for powers of two and others alike.
	r = newJavaRandom(7)
	for _, bound := range []int32{1, 2, 3, 13, 26, 64, 1000, 10000, 1<<30 + 1} {
		for range 1000 {
			if v := r.nextIntN(bound); v < 0 || v >= bound {
				t.Fatalf("nextInt(%d) = %d", bound, v)
			}
		}
	}
}

func newTestGenerator(t *testing.T, cfg Config) *Generator {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestProportionsAndIDs(t *testing.T) {
	g := newTestGenerator(t, DefaultConfig())
	const n = 50_000
	var persons, auctions, bids int
	var lastPerson, lastAuction int64 = FirstPersonID - 1, FirstAuctionID - 1
	var prevTime dataflow.EventTime
	for i := range int64(n) {
		e, ts := g.Event(i)
		if ts != e.Timestamp() {
			t.Fatalf("event %d: timestamp %v, its DateTime %v", i, ts, e.Timestamp())
		}
		if ts < prevTime {
			t.Fatalf("event %d goes back in time with OutOfOrderGroupSize 1", i)
		}
		prevTime = ts
		switch {
		case e.Person != nil:
			persons++
			if e.Person.ID != lastPerson+1 {
				t.Fatalf("event %d: person id %d after %d", i, e.Person.ID, lastPerson)
			}
			lastPerson = e.Person.ID
		case e.Auction != nil:
			auctions++
			if e.Auction.ID != lastAuction+1 {
				t.Fatalf("event %d: auction id %d after %d", i, e.Auction.ID, lastAuction)
			}
			lastAuction = e.Auction.ID
			if e.Auction.Expires <= e.Auction.DateTime || e.Auction.Reserve < e.Auction.InitialBid {
				t.Fatalf("event %d: auction %+v", i, *e.Auction)
			}
			if c := e.Auction.Category; c < FirstCategoryID || c >= FirstCategoryID+numCategories {
				t.Fatalf("event %d: category %d", i, c)
			}
		case e.Bid != nil:
			bids++
			if e.Bid.Channel == "" || !strings.HasPrefix(e.Bid.URL, "https://www.nexmark.com/") {
				t.Fatalf("event %d: bid %+v", i, *e.Bid)
			}
			if e.Bid.Auction > lastAuction+auctionIDLead {
				t.Fatalf("event %d: bid for auction %d, more than the lead past %d", i, e.Bid.Auction, lastAuction)
			}
		}
	}
	if persons != n/50 || auctions != 3*n/50 || bids != 46*n/50 {
		t.Errorf("persons/auctions/bids = %d/%d/%d, want %d/%d/%d", persons, auctions, bids, n/50, 3*n/50, 46*n/50)
	}
	// 10,000 events per second: event 50,000 is 5 s after the base time.
	if e, ts := g.Event(n); ts != DefaultBaseTime+5000 {
		t.Errorf("event %d at %v, want base + 5 s", n, e.Timestamp())
	}
}

// TestHotRatios checks the shares of bids on the hot auction and by the hot
// bidder, and of auctions by the hot seller: 1 - 1/ratio of them, plus the
// few random picks that land on the hot one.
func TestHotRatios(t *testing.T) {
	g := newTestGenerator(t, DefaultConfig())
	var bids, hotAuction, hotBidder, auctions, hotSeller, hotChannel int
	for i := range int64(200_000) {
		e, _ := g.Event(i)
		id := g.adjusted(i)
		switch {
		case e.Bid != nil:
			bids++
			if e.Bid.Auction == lastBase0AuctionID(id)/hotAuctionStep*hotAuctionStep+FirstAuctionID {
				hotAuction++
			}
			if e.Bid.Bidder == lastBase0PersonID(id)/hotBidderBatch*hotBidderBatch+1+FirstPersonID {
				hotBidder++
			}
			if !strings.HasPrefix(e.Bid.Channel, "channel-") {
				hotChannel++
			}
		case e.Auction != nil:
			auctions++
			if e.Auction.Seller == lastBase0PersonID(id)/hotSellerBatch*hotSellerBatch+FirstPersonID {
				hotSeller++
			}
		}
	}
	check := func(what string, got, of int, want float64) {
		t.Helper()
		share := float64(got) / float64(of)
		if share < want-0.02 || share > want+0.03 {
			t.Errorf("%s: %.3f of %d, want about %.3f", what, share, of, want)
		}
	}
	check("bids on the hot auction", hotAuction, bids, 0.5)
	check("bids by the hot bidder", hotBidder, bids, 0.75)
	check("auctions by the hot seller", hotSeller, auctions, 0.75)
	check("bids from a hot channel", hotChannel, bids, 0.5)
}

func readAll(t *testing.T, src dataflow.BoundedSource[model.Event], desired int) []dataflow.Elem[model.Event] {
	t.Helper()
	parts, err := src.Split(context.Background(), desired)
	if err != nil {
		t.Fatal(err)
	}
	var out []dataflow.Elem[model.Event]
	for _, p := range parts {
		err := p.Read(context.Background(), dataflow.ConsumerFunc[model.Event](func(b []dataflow.Elem[model.Event]) error {
			out = append(out, b...)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSplitsReadTheSameEvents reads sources split in many ways, with sizes
// around the batch size, and compares them with the events one by one.
func TestSplitsReadTheSameEvents(t *testing.T) {
	cfg := DefaultConfig()
	cfg.OutOfOrderGroupSize = 7
	g := newTestGenerator(t, cfg)
	for _, n := range []int64{0, 1, 255, 256, 257, 1023, 1024, 1025, 5000} {
		want := g.Events(0, n)
		for _, desired := range []int{1, 2, 3, 8, 64} {
			t.Run(fmt.Sprintf("n=%d/split=%d", n, desired), func(t *testing.T) {
				for name, src := range map[string]dataflow.BoundedSource[model.Event]{
					"generated": NewSource(g, n),
					"memory":    NewSliceSource(g, want),
				} {
					got := readAll(t, src, desired)
					if len(got) != len(want) {
						t.Fatalf("%s: read %d events, want %d", name, len(got), len(want))
					}
					for i := range got {
						if got[i].Value.Hash() != want[i].Hash() || got[i].Time != want[i].Timestamp() || got[i].Window != dataflow.GlobalWindow {
							t.Fatalf("%s: event %d is %v at %v, want %v", name, i, got[i].Value, got[i].Time, want[i])
						}
					}
				}
			})
		}
	}
}

// TestOutOfOrderGroups checks that each full group of events is a
// permutation of the in-order group: the same ids, timestamps shuffled.
func TestOutOfOrderGroups(t *testing.T) {
	const group = 1000 // 100 ms at 10,000 events per second
	inOrder := newTestGenerator(t, DefaultConfig())
	cfg := DefaultConfig()
	cfg.OutOfOrderGroupSize = group
	shuffled := newTestGenerator(t, cfg)
	moved := 0
	for base := int64(0); base < 3*group; base += group {
		want := map[uint64]bool{}
		for i := base; i < base+group; i++ {
			e, _ := inOrder.Event(i)
			want[e.Hash()] = true
		}
		for i := base; i < base+group; i++ {
			e, ts := shuffled.Event(i)
			if !want[e.Hash()] {
				t.Fatalf("event %d (%v) is not one of the in-order events %d..%d", i, e, base, base+group-1)
			}
			if _, ots := inOrder.Event(i); ots != ts {
				moved++
			}
		}
	}
	if moved == 0 {
		t.Error("no event moved in time")
	}
}

// TestDeterministic pins a few events, so that a change to the generator
// is seen (and the events of a run can be reproduced from its config).
func TestDeterministic(t *testing.T) {
	g := newTestGenerator(t, DefaultConfig())
	a, _ := g.Event(0)
	b, _ := g.Event(0)
	if a.Hash() != b.Hash() || a.Person == nil {
		t.Fatalf("event 0: %v then %v", a, b)
	}
	p := a.Person
	if p.ID != FirstPersonID || !strings.Contains(p.EmailAddress, "@") || !strings.HasSuffix(p.EmailAddress, ".com") || len(p.CreditCard) != 19 {
		t.Errorf("person 0: %+v", *p)
	}
	var sizes [3]int
	var counts [3]int
	for i := range int64(10_000) {
		e, _ := g.Event(i)
		switch {
		case e.Person != nil:
			sizes[0] += 8 + len(e.Person.Name) + len(e.Person.EmailAddress) + len(e.Person.CreditCard) + len(e.Person.City) + len(e.Person.State) + len(e.Person.Extra)
			counts[0]++
		case e.Auction != nil:
			sizes[1] += 8 + len(e.Auction.ItemName) + len(e.Auction.Description) + 40 + len(e.Auction.Extra)
			counts[1]++
		case e.Bid != nil:
			sizes[2] += 32 + len(e.Bid.Extra)
			counts[2]++
		}
	}
	for i, want := range []int{200, 500, 100} {
		if avg := sizes[i] / counts[i]; avg < want*9/10 || avg > want*11/10 {
			t.Errorf("average size of kind %d is %d, want about %d", i, avg, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.EventsPerSecond = 0
	cfg.HotBiddersRatio = -1
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), "EventsPerSecond") || !strings.Contains(err.Error(), "HotBiddersRatio") {
		t.Errorf("New: %v, want errors naming EventsPerSecond and HotBiddersRatio", err)
	}
}
