package dataflow

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
)

// ElemType is the runner's handle on the element type of a collection: the
// few typed operations a runner needs (fan-out, materialization, coders),
// instantiated once when the pipeline is built so that runners never reflect
// per element.
type ElemType interface {
	Type() reflect.Type
	// Coder returns the element coder (registered or derived).
	Coder() (AnyCoder, error)
	// Fanout returns a Consumer[T] that passes each batch to every consumer in outs.
	Fanout(outs []any) any
	// Discard returns a Consumer[T] that drops everything.
	Discard() any
	// NewStore returns an in-memory buffer of elements in the given number of partitions.
	NewStore(partitions int) Store
	// Counted returns a Consumer[T] that adds the size of each batch to n
	// and passes it on to out.
	Counted(out any, n *atomic.Int64) any
}

// Store is an in-memory, partitioned buffer of elements of one type.
type Store interface {
	// Appender returns a Consumer[T] that appends to partition part; it is
	// safe for concurrent use.
	Appender(part int) any
	// Spreader returns a Consumer[T] that spreads batches round-robin over the
	// partitions, starting at start; not safe for concurrent use.
	Spreader(start int) any
	Partitions() int
	Len(part int) int
	// Replay sends the elements of partition part to out, a Consumer[T], in batches.
	Replay(ctx context.Context, part int, out any) error
	// Chunks returns partition part as a [][]Elem[T].
	Chunks(part int) any
}

// TypeOf returns the ElemType of T.
func TypeOf[T any]() ElemType { return elemType[T]{} }

type elemType[T any] struct{}

func (elemType[T]) Type() reflect.Type { return reflect.TypeFor[T]() }

func (elemType[T]) Coder() (AnyCoder, error) {
	c, err := CoderOf[T]()
	if err != nil {
		return nil, err
	}
	return Erase(c), nil
}

func (elemType[T]) Fanout(outs []any) any {
	cs := make([]Consumer[T], len(outs))
	for i, o := range outs {
		cs[i] = o.(Consumer[T])
	}
	if len(cs) == 1 {
		return cs[0]
	}
	return fanout[T](cs)
}

func (elemType[T]) Discard() any { return discard[T]{} }

func (elemType[T]) Counted(out any, n *atomic.Int64) any {
	c := out.(Consumer[T])
	return ConsumerFunc[T](func(b []Elem[T]) error {
		n.Add(int64(len(b)))
		return c.Consume(b)
	})
}

func (elemType[T]) NewStore(partitions int) Store {
	s := &store[T]{parts: make([]storePart[T], partitions)}
	return s
}

type fanout[T any] []Consumer[T]

func (f fanout[T]) Consume(b []Elem[T]) error {
	for _, c := range f {
		if err := c.Consume(b); err != nil {
			return err
		}
	}
	return nil
}

type discard[T any] struct{}

func (discard[T]) Consume([]Elem[T]) error { return nil }

type store[T any] struct {
	parts []storePart[T]
}

// storePart keeps elements in fixed-size chunks, so that appending never
// copies what is already stored.
type storePart[T any] struct {
	mu     sync.Mutex
	chunks [][]Elem[T]
	n      int
}

const storeChunk = 4096

func (p *storePart[T]) append(b []Elem[T]) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += len(b)
	for len(b) > 0 {
		if len(p.chunks) == 0 || len(p.chunks[len(p.chunks)-1]) == storeChunk {
			p.chunks = append(p.chunks, make([]Elem[T], 0, storeChunk))
		}
		last := &p.chunks[len(p.chunks)-1]
		k := min(len(b), storeChunk-len(*last))
		*last = append(*last, b[:k]...)
		b = b[k:]
	}
}

func (s *store[T]) Partitions() int { return len(s.parts) }

func (s *store[T]) Len(part int) int {
	p := &s.parts[part]
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (s *store[T]) Appender(part int) any {
	p := &s.parts[part]
	return ConsumerFunc[T](func(b []Elem[T]) error {
		p.append(b)
		return nil
	})
}

func (s *store[T]) Spreader(start int) any {
	next := start
	return ConsumerFunc[T](func(b []Elem[T]) error {
		s.parts[next%len(s.parts)].append(b)
		next++
		return nil
	})
}

func (s *store[T]) Replay(ctx context.Context, part int, out any) error {
	c := out.(Consumer[T])
	for _, chunk := range s.Chunks(part).([][]Elem[T]) {
		for i := 0; i < len(chunk); i += BatchSize {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := c.Consume(chunk[i:min(i+BatchSize, len(chunk))]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *store[T]) Chunks(part int) any {
	p := &s.parts[part]
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.chunks
}
