package transforms

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// GeneratorOptions configure Generate.
type GeneratorOptions struct {
	// Count is the number of elements; 0 or less generates forever.
	Count int64
	// Rate is the elements per second of processing time over all splits;
	// 0 generates as fast as the reader is asked.
	Rate float64
	// MaxOutOfOrder bounds how far element timestamps may go back; the
	// watermark trails the largest timestamp by it.
	MaxOutOfOrder time.Duration
	// Clock returns processing time (time.Now if nil), for tests.
	Clock func() time.Time
}

// Generate returns an unbounded collection whose i-th element (from 0) is
// fn(i): a deterministic source for tests and benchmarks, like Beam's
// GenerateSequence with a rate. Split k of n generates the i with i%n == k.
// Its position is the next i to generate, so it holds nothing back outside
// a checkpoint.
func Generate[T any](s dataflow.Scope, name string, fn func(i int64) (T, dataflow.EventTime), opts GeneratorOptions) dataflow.PCollection[T] {
	if fn == nil {
		s.Errorf(name, "nil generator function")
		return dataflow.PCollection[T]{}
	}
	if opts.Rate < 0 || opts.MaxOutOfOrder < 0 {
		s.Errorf(name, "negative rate or out-of-orderness")
		return dataflow.PCollection[T]{}
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return dataflow.ReadUnbounded[T](s, name, &generator[T]{fn: fn, opts: opts, k: 0, n: 1})
}

type generator[T any] struct {
	fn   func(int64) (T, dataflow.EventTime)
	opts GeneratorOptions
	k, n int64 // this split generates i = k + j*n
}

func (g *generator[T]) String() string { return fmt.Sprintf("generator[%d of %d]", g.k, g.n) }

func (g *generator[T]) Split(_ context.Context, desired int) ([]dataflow.UnboundedSource[T], error) {
	if g.n != 1 || desired <= 1 {
		return []dataflow.UnboundedSource[T]{g}, nil
	}
	out := make([]dataflow.UnboundedSource[T], desired)
	for k := range out {
		out[k] = &generator[T]{fn: g.fn, opts: g.opts, k: int64(k), n: int64(desired)}
	}
	return out, nil
}

func (g *generator[T]) Open(_ context.Context, pos []byte) (dataflow.UnboundedReader[T], error) {
	r := &generatorReader[T]{g: g, next: g.k, start: g.opts.Clock()}
	r.wm = dataflow.BoundedOutOfOrderness{MaxDelay: g.opts.MaxOutOfOrder}
	if pos != nil {
		v, n, err := dataflow.DecodeVarint(pos)
		if err != nil || n != len(pos) {
			return nil, fmt.Errorf("%v: bad position %x", g, pos)
		}
		r.next = int64(v)
		if (r.next-g.k)%g.n != 0 || r.next < g.k {
			return nil, fmt.Errorf("%v: position %d does not belong to this split", g, r.next)
		}
		r.startIndex = r.next
	} else {
		r.startIndex = g.k
	}
	r.wm.Start(r.start)
	return r, nil
}

type generatorReader[T any] struct {
	g          *generator[T]
	next       int64 // the next i to generate
	startIndex int64
	start      time.Time
	wm         dataflow.BoundedOutOfOrderness
}

func (r *generatorReader[T]) Read(_ context.Context, dst []dataflow.Elem[T], max int) ([]dataflow.Elem[T], error) {
	g := r.g
	now := g.opts.Clock()
	limit := int64(max)
	if g.opts.Rate > 0 { // this split's share of the rate since it opened
		allowed := int64(now.Sub(r.start).Seconds()*g.opts.Rate/float64(g.n)) - (r.next-r.startIndex)/g.n
		limit = min(limit, allowed)
	}
	for ; limit > 0; limit-- {
		if g.opts.Count > 0 && r.next >= g.opts.Count {
			return dst, dataflow.ErrEndOfInput
		}
		v, ts := g.fn(r.next)
		dst = append(dst, dataflow.Elem[T]{Value: v, Time: ts, Window: dataflow.GlobalWindow, Pane: dataflow.NoFiringPane})
		r.wm.Observe(ts, now)
		r.next += g.n
	}
	if g.opts.Count > 0 && r.next >= g.opts.Count {
		return dst, dataflow.ErrEndOfInput
	}
	return dst, nil
}

func (r *generatorReader[T]) Position() ([]byte, error) {
	return dataflow.EncodeVarint(nil, uint64(r.next)), nil
}

func (r *generatorReader[T]) Watermark(now time.Time) (dataflow.EventTime, bool) {
	if r.g.opts.Count > 0 && r.next >= r.g.opts.Count {
		return dataflow.MaxTime, false
	}
	return r.wm.Watermark(now)
}

func (r *generatorReader[T]) Close() error { return nil }
