package model

import (
	"fmt"
	"math/bits"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// The results of the queries. Windowed results carry their window, so that
// equal values in different windows stay distinct when outputs are compared.

// AuctionPrice is a bid's auction and price (q2).
type AuctionPrice struct {
	Auction int64
	Price   int64
}

// NameCityStateID is a seller and one of their auctions (q3).
type NameCityStateID struct {
	Name  string
	City  string
	State string
	ID    int64 // the auction
}

// CategoryPrice is the average winning price of a category in a window (q4).
type CategoryPrice struct {
	Category int64
	Price    int64 // the mean, rounded half up as Java's Math.round
	Window   dataflow.Window
}

// AuctionCount is an auction with the most bids in a window, and its count (q5).
type AuctionCount struct {
	Auction int64
	Count   int64
	Window  dataflow.Window
}

// SellerPrice is the average selling price of a seller's last auctions (q6).
type SellerPrice struct {
	Seller int64
	Price  int64
}

// IDNameReserve is a new person who opened an auction in the same window (q8).
type IDNameReserve struct {
	ID      int64
	Name    string
	Reserve int64
	Window  dataflow.Window
}

// AuctionBid is a closed auction and its winning bid (q9).
type AuctionBid struct {
	Auction Auction
	Bid     Bid
}

// BidsPerSession is the number of bids of a bidder in a window (q11, q12).
type BidsPerSession struct {
	Bidder int64
	Count  int64
	Window dataflow.Window
}

// Hashable is a result that can be fingerprinted.
type Hashable interface {
	// Hash returns a hash of every field, the same in every process.
	Hash() uint64
}

// Fingerprint summarizes a multiset of results independently of their order:
// the count and two sums of element hashes. Equal multisets have equal
// fingerprints; different ones collide with probability about 2^-64.
type Fingerprint struct {
	Count int64
	Sum   uint64
	Mixed uint64
}

// Add adds one element's hash.
func (f *Fingerprint) Add(h uint64) {
	f.Count++
	f.Sum += h
	f.Mixed += mix(h ^ 0x2545f4914f6cdd1d)
}

// Merge adds the elements of o.
func (f *Fingerprint) Merge(o Fingerprint) {
	f.Count += o.Count
	f.Sum += o.Sum
	f.Mixed += o.Mixed
}

// Checksum folds the fingerprint into one number for display.
func (f Fingerprint) Checksum() uint64 {
	return mix(f.Sum ^ bits.RotateLeft64(f.Mixed, 32) ^ uint64(f.Count))
}

func (f Fingerprint) String() string {
	return fmt.Sprintf("%d results, checksum %016x", f.Count, f.Checksum())
}

// FingerprintOf returns the fingerprint of xs.
func FingerprintOf[T Hashable](xs []T) Fingerprint {
	var f Fingerprint
	for i := range xs {
		f.Add(xs[i].Hash())
	}
	return f
}

// hasher is a small deterministic hash (not maphash, whose seeds differ per
// process): fields are folded in with a multiply and rotate, strings eight
// bytes at a time, and the result finished with splitmix64's mixer.
type hasher uint64

const hashPrime = 0x9e3779b97f4a7c15

func (h *hasher) int(v int64) {
	*h = hasher(bits.RotateLeft64((uint64(*h)^uint64(v))*hashPrime, 29))
}

func (h *hasher) str(s string) {
	h.int(int64(len(s)))
	if len(s) >= 32 {
		// Four independent lanes over 32-byte blocks: the multiply chains
		// overlap instead of waiting for each other.
		a, b, c, d := uint64(*h), uint64(*h)^hashPrime, uint64(*h)+hashPrime, ^uint64(*h)
		for len(s) >= 32 {
			a = bits.RotateLeft64((a^le64(s[0:]))*hashPrime, 29)
			b = bits.RotateLeft64((b^le64(s[8:]))*hashPrime, 29)
			c = bits.RotateLeft64((c^le64(s[16:]))*hashPrime, 29)
			d = bits.RotateLeft64((d^le64(s[24:]))*hashPrime, 29)
			s = s[32:]
		}
		h.int(int64(a))
		h.int(int64(b))
		h.int(int64(c))
		h.int(int64(d))
	}
	for len(s) >= 8 {
		h.int(int64(le64(s)))
		s = s[8:]
	}
	var w uint64
	for i := 0; i < len(s); i++ {
		w |= uint64(s[i]) << (8 * i)
	}
	h.int(int64(w))
}

// le64 is the little-endian word at the start of s (len(s) >= 8).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func (h *hasher) window(w dataflow.Window) {
	h.int(int64(w.Start))
	h.int(int64(w.End))
}

func (h hasher) sum() uint64 { return mix(uint64(h)) }

// mix is splitmix64's finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (p *Person) hashInto(h *hasher) {
	h.int(p.ID)
	h.str(p.Name)
	h.str(p.EmailAddress)
	h.str(p.CreditCard)
	h.str(p.City)
	h.str(p.State)
	h.int(int64(p.DateTime))
	h.str(p.Extra)
}

func (a *Auction) hashInto(h *hasher) {
	h.int(a.ID)
	h.str(a.ItemName)
	h.str(a.Description)
	h.int(a.InitialBid)
	h.int(a.Reserve)
	h.int(int64(a.DateTime))
	h.int(int64(a.Expires))
	h.int(a.Seller)
	h.int(a.Category)
	h.str(a.Extra)
}

func (b *Bid) hashInto(h *hasher) {
	h.int(b.Auction)
	h.int(b.Bidder)
	h.int(b.Price)
	h.str(b.Channel)
	h.str(b.URL)
	h.int(int64(b.DateTime))
	h.str(b.Extra)
}

// Hash implements Hashable.
func (e Event) Hash() uint64 {
	var h hasher
	switch {
	case e.Person != nil:
		h.int(1)
		e.Person.hashInto(&h)
	case e.Auction != nil:
		h.int(2)
		e.Auction.hashInto(&h)
	case e.Bid != nil:
		h.int(3)
		e.Bid.hashInto(&h)
	}
	return h.sum()
}

// Hash implements Hashable.
func (p Person) Hash() uint64 { var h hasher; p.hashInto(&h); return h.sum() }

// Hash implements Hashable.
func (a Auction) Hash() uint64 { var h hasher; a.hashInto(&h); return h.sum() }

// Hash implements Hashable.
func (b Bid) Hash() uint64 { var h hasher; b.hashInto(&h); return h.sum() }

// Hash implements Hashable.
func (r AuctionPrice) Hash() uint64 {
	var h hasher
	h.int(r.Auction)
	h.int(r.Price)
	return h.sum()
}

// Hash implements Hashable.
func (r NameCityStateID) Hash() uint64 {
	var h hasher
	h.str(r.Name)
	h.str(r.City)
	h.str(r.State)
	h.int(r.ID)
	return h.sum()
}

// Hash implements Hashable.
func (r CategoryPrice) Hash() uint64 {
	var h hasher
	h.int(r.Category)
	h.int(r.Price)
	h.window(r.Window)
	return h.sum()
}

// Hash implements Hashable.
func (r AuctionCount) Hash() uint64 {
	var h hasher
	h.int(r.Auction)
	h.int(r.Count)
	h.window(r.Window)
	return h.sum()
}

// Hash implements Hashable.
func (r SellerPrice) Hash() uint64 {
	var h hasher
	h.int(r.Seller)
	h.int(r.Price)
	return h.sum()
}

// Hash implements Hashable.
func (r IDNameReserve) Hash() uint64 {
	var h hasher
	h.int(r.ID)
	h.str(r.Name)
	h.int(r.Reserve)
	h.window(r.Window)
	return h.sum()
}

// Hash implements Hashable.
func (r AuctionBid) Hash() uint64 {
	var h hasher
	r.Auction.hashInto(&h)
	r.Bid.hashInto(&h)
	return h.sum()
}

// Hash implements Hashable.
func (r BidsPerSession) Hash() uint64 {
	var h hasher
	h.int(r.Bidder)
	h.int(r.Count)
	h.window(r.Window)
	return h.sum()
}
