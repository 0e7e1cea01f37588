package dataflow

import "fmt"

// This file holds the typed kernel that the Beam bridge (runners/beam) needs:
// moving single elements between the typed batches of operators and the
// encoded bytes that another system carries, with their timestamps, windows
// and panes. Every ElemType implements ByteCodec.

// ByteEmitFunc receives one encoded element with its metadata.
type ByteEmitFunc func(b []byte, t EventTime, w Window, p PaneInfo) error

// ByteCodec moves elements of one type to and from their encoding under the
// type's coder.
type ByteCodec interface {
	// NewByteDecoder returns a function that decodes one encoded element and
	// sends it, as a batch of one, to out (a Consumer[T]). The function is
	// not safe for concurrent use.
	NewByteDecoder(out any) (ByteEmitFunc, error)
	// NewByteEncoder returns a Consumer[T] that encodes every element of a
	// batch into a new byte slice and passes it, in order, to emit.
	NewByteEncoder(emit ByteEmitFunc) (any, error)
}

var _ ByteCodec = elemType[int]{}

func (elemType[T]) NewByteDecoder(out any) (ByteEmitFunc, error) {
	c, err := CoderOf[T]()
	if err != nil {
		return nil, err
	}
	next := out.(Consumer[T])
	batch := make([]Elem[T], 1)
	return func(b []byte, t EventTime, w Window, p PaneInfo) error {
		v, n, err := c.Decode(b)
		if err != nil {
			return fmt.Errorf("decode %v: %w", c, err)
		}
		if n != len(b) {
			return fmt.Errorf("decode %v: %d trailing bytes", c, len(b)-n)
		}
		batch[0] = Elem[T]{Value: v, Time: t, Window: w, Pane: p}
		err = next.Consume(batch)
		var zero Elem[T]
		batch[0] = zero // drop references for the GC
		return err
	}, nil
}

func (elemType[T]) NewByteEncoder(emit ByteEmitFunc) (any, error) {
	c, err := CoderOf[T]()
	if err != nil {
		return nil, err
	}
	return ConsumerFunc[T](func(batch []Elem[T]) error {
		for i := range batch {
			e := &batch[i]
			if err := emit(c.Encode(nil, e.Value), e.Time, e.Window, e.Pane); err != nil {
				return err
			}
		}
		return nil
	}), nil
}
