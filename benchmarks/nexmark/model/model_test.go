package model

import (
	"testing"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

func TestFingerprintIsOrderFree(t *testing.T) {
	xs := []BidsPerSession{
		{Bidder: 1, Count: 2, Window: dataflow.GlobalWindow},
		{Bidder: 1, Count: 2, Window: dataflow.GlobalWindow},
		{Bidder: 2, Count: 1, Window: dataflow.IntervalWindow(0, 10)},
	}
	a := FingerprintOf(xs)
	b := FingerprintOf([]BidsPerSession{xs[2], xs[0], xs[1]})
	if a != b {
		t.Errorf("fingerprint depends on order: %v, %v", a, b)
	}
	var merged Fingerprint
	merged.Merge(FingerprintOf(xs[:1]))
	merged.Merge(FingerprintOf(xs[1:]))
	if merged != a {
		t.Errorf("merged %v, whole %v", merged, a)
	}
	if c := FingerprintOf(xs[:2]); c == a || c.Count != 2 {
		t.Errorf("a smaller multiset has the same fingerprint %v", c)
	}
}

func TestHashSeesEveryField(t *testing.T) {
	base := Bid{Auction: 1, Bidder: 2, Price: 3, Channel: "c", URL: "u", DateTime: 4, Extra: "12345678x"}
	changes := []func(*Bid){
		func(b *Bid) { b.Auction++ },
		func(b *Bid) { b.Bidder++ },
		func(b *Bid) { b.Price++ },
		func(b *Bid) { b.Channel = "d" },
		func(b *Bid) { b.URL = "" },
		func(b *Bid) { b.DateTime++ },
		func(b *Bid) { b.Extra = "12345678y" },
		func(b *Bid) { b.Channel, b.URL = "cu", "" }, // strings are length-prefixed
	}
	for i, change := range changes {
		b := base
		change(&b)
		if b.Hash() == base.Hash() {
			t.Errorf("change %d: %+v hashes as %+v", i, b, base)
		}
	}
	if (Event{Bid: &base}).Hash() != (Event{Bid: &Bid{Auction: 1, Bidder: 2, Price: 3, Channel: "c", URL: "u", DateTime: 4, Extra: "12345678x"}}).Hash() {
		t.Error("equal events hash differently (by pointer?)")
	}
}
