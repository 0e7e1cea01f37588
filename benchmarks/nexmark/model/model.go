// Package model holds the Nexmark event model (Person, Auction, Bid and the
// Event union) and the result types of the queries, as Beam's and Flink's
// Nexmark define them.
//
// Every type here is a plain struct, so Sluice derives its coder; timestamps
// are dataflow.EventTime (milliseconds since the epoch), the precision of Beam
// and Flink. Every type has a Hash method (see Fingerprint) so that the
// outputs of a runner and of the hand-written baseline can be compared without
// keeping them.
package model

import (
	"fmt"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Person is a new person registering with the auction site.
type Person struct {
	ID           int64
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     dataflow.EventTime
	Extra        string // padding up to the configured average size
}

// Auction is a new item put up for auction.
type Auction struct {
	ID          int64
	ItemName    string
	Description string
	InitialBid  int64 // cents
	Reserve     int64 // cents
	DateTime    dataflow.EventTime
	Expires     dataflow.EventTime
	Seller      int64 // Person.ID
	Category    int64
	Extra       string
}

// Bid is a bid for an auction, with Flink Nexmark's channel and url.
type Bid struct {
	Auction  int64 // Auction.ID
	Bidder   int64 // Person.ID
	Price    int64 // cents
	Channel  string
	URL      string
	DateTime dataflow.EventTime
	Extra    string
}

// Event is one Nexmark event: exactly one of its fields is set.
//
// It is a struct of pointers, as Beam's and Flink's Event are, rather than a
// sealed interface: Sluice derives coders for structs and pointers, not for
// interfaces, and three pointers keep the element small as it moves through
// a pipeline.
type Event struct {
	Person  *Person
	Auction *Auction
	Bid     *Bid
}

// Kind names the kind of event: "person", "auction" or "bid".
func (e Event) Kind() string {
	switch {
	case e.Person != nil:
		return "person"
	case e.Auction != nil:
		return "auction"
	case e.Bid != nil:
		return "bid"
	}
	return "empty"
}

// Timestamp returns the event's time: the DateTime of whichever part is set.
func (e Event) Timestamp() dataflow.EventTime {
	switch {
	case e.Person != nil:
		return e.Person.DateTime
	case e.Auction != nil:
		return e.Auction.DateTime
	case e.Bid != nil:
		return e.Bid.DateTime
	}
	return dataflow.MinTime
}

func (e Event) String() string {
	switch {
	case e.Person != nil:
		return fmt.Sprintf("person%+v", *e.Person)
	case e.Auction != nil:
		return fmt.Sprintf("auction%+v", *e.Auction)
	case e.Bid != nil:
		return fmt.Sprintf("bid%+v", *e.Bid)
	}
	return "event{}"
}
