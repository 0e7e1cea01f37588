package generator

import (
	"unsafe"

	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
)

// Compact copies events into a dense layout: people, auctions and bids in
// slabs of structs, and each event's strings side by side in byte slabs, in
// event order, as a decoder of a batch of rows lays them out. Events held in
// memory for a long run read faster that way than as the generator's
// scattered small allocations; the values are the same.
func Compact(events []model.Event) []model.Event {
	out := make([]model.Event, len(events))
	var (
		bytes    []byte
		people   []model.Person
		auctions []model.Auction
		bids     []model.Bid
	)
	const slab = 4096
	str := func(s string) string {
		if len(s) == 0 {
			return ""
		}
		if cap(bytes)-len(bytes) < len(s) {
			bytes = make([]byte, 0, max(1<<20, len(s)))
		}
		start := len(bytes)
		bytes = append(bytes, s...)
		return unsafeString(bytes[start:len(bytes):len(bytes)])
	}
	for i, e := range events {
		switch {
		case e.Person != nil:
			if len(people) == cap(people) {
				people = make([]model.Person, 0, slab)
			}
			p := *e.Person
			p.Name, p.EmailAddress, p.CreditCard, p.City, p.State, p.Extra = str(p.Name), str(p.EmailAddress), str(p.CreditCard), str(p.City), str(p.State), str(p.Extra)
			people = append(people, p)
			out[i].Person = &people[len(people)-1]
		case e.Auction != nil:
			if len(auctions) == cap(auctions) {
				auctions = make([]model.Auction, 0, slab)
			}
			a := *e.Auction
			a.ItemName, a.Description, a.Extra = str(a.ItemName), str(a.Description), str(a.Extra)
			auctions = append(auctions, a)
			out[i].Auction = &auctions[len(auctions)-1]
		case e.Bid != nil:
			if len(bids) == cap(bids) {
				bids = make([]model.Bid, 0, slab)
			}
			b := *e.Bid
			b.Channel, b.URL, b.Extra = str(b.Channel), str(b.URL), str(b.Extra)
			bids = append(bids, b)
			out[i].Bid = &bids[len(bids)-1]
		}
	}
	return out
}

// unsafeString views b as a string; b is never written again.
func unsafeString(b []byte) string { return unsafe.String(&b[0], len(b)) }
