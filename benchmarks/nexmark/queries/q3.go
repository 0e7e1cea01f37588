package queries

import (
	"iter"

	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
)

// Q3 is local item suggestion: the sellers in Oregon, Idaho and California
// with their auctions in category 10. As Beam's Query3 it is an incremental
// join in a stateful DoFn keyed by person id: the person is kept in state,
// auctions that arrive before their seller wait in a bag, and an event-time
// timer drops the person MaxAuctionsWaitingTime after it registered.
func Q3(s df.Scope, events df.PCollection[model.Event]) df.PCollection[model.NameCityStateID] {
	s = s.Scope("Q3")
	keyed := tf.FlatMap(s, "KeyBySeller", func(e model.Event, emit func(df.KV[int64, model.Event])) {
		switch {
		case e.Person != nil && q3States[e.Person.State]:
			emit(df.KV[int64, model.Event]{Key: e.Person.ID, Value: e})
		case e.Auction != nil && e.Auction.Category == Q3Category:
			emit(df.KV[int64, model.Event]{Key: e.Auction.Seller, Value: e})
		}
	}, events)
	return df.StatefulParDo(s, "Join", &q3Join{
		person:  df.NewValueState[model.Person]("person"),
		pending: df.NewBagState[model.Auction]("pendingAuctions"),
		expiry:  df.NewEventTimer("personExpiry"),
	}, keyed)
}

// q3Join is Beam's Query3.JoinDoFn.
type q3Join struct {
	person  *df.ValueState[model.Person]
	pending *df.BagState[model.Auction]
	expiry  *df.Timer
}

func q3Result(p *model.Person, a *model.Auction) model.NameCityStateID {
	return model.NameCityStateID{Name: p.Name, City: p.City, State: p.State, ID: a.ID}
}

func (f *q3Join) ProcessElement(c *df.Context, kv df.KV[int64, model.Event], emit df.Emitter[model.NameCityStateID]) error {
	if p := kv.Value.Person; p != nil {
		// Person ids are unique: this is the seller's only registration.
		f.person.Write(c, *p)
		for _, a := range f.pending.Read(c) {
			emit.Emit(q3Result(p, &a))
		}
		f.pending.Clear(c)
		f.expiry.Set(c, p.DateTime.Add(MaxAuctionsWaitingTime))
		return nil
	}
	a := kv.Value.Auction
	if p, ok := f.person.Read(c); ok {
		emit.Emit(q3Result(&p, a))
		return nil
	}
	f.pending.Add(c, *a)
	return nil
}

// OnTimer forgets the person: later auctions of theirs are not reported.
func (f *q3Join) OnTimer(c *df.Context, _ int64, _ df.TimerFiring, _ df.Emitter[model.NameCityStateID]) error {
	f.person.Clear(c)
	return nil
}

// Ref3 is Q3's reference. On bounded input the timers fire only after all
// events (the watermark jumps to +inf at the end), so every qualifying
// auction meets its seller.
func Ref3(events iter.Seq[model.Event], emit func(model.NameCityStateID)) {
	persons := map[int64]*model.Person{}
	pending := map[int64][]*model.Auction{}
	for e := range events {
		switch {
		case e.Person != nil && q3States[e.Person.State]:
			p := e.Person
			persons[p.ID] = p
			for _, a := range pending[p.ID] {
				emit(q3Result(p, a))
			}
			delete(pending, p.ID)
		case e.Auction != nil && e.Auction.Category == Q3Category:
			a := e.Auction
			if p, ok := persons[a.Seller]; ok {
				emit(q3Result(p, a))
			} else {
				pending[a.Seller] = append(pending[a.Seller], a)
			}
		}
	}
}
