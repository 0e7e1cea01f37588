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

// ByteCombine is a CombineFn seen through encodings, for a system that
// lifts combines itself (Beam's runners): inputs and outputs are the
// encodings of the combine's I and O, accumulators are opaque values the
// system keeps in memory and encodes only to move them. Every CombineKernel
// implements ByteCombiner.
type ByteCombine interface {
	CreateAccumulator() any
	// AddInput adds the input encoded in in to acc and returns the result.
	AddInput(acc any, in []byte) (any, error)
	MergeAccumulators(a, b any) (any, error)
	// ExtractOutput appends the encoding of acc's output to dst.
	ExtractOutput(dst []byte, acc any) ([]byte, error)
	EncodeAccumulator(dst []byte, acc any) ([]byte, error)
	DecodeAccumulator(b []byte) (any, error)
}

// ByteCombiner is implemented by every CombineKernel.
type ByteCombiner interface {
	// NewByteCombine returns the combine's byte view, or an error if its
	// input, accumulator or output type has no coder.
	NewByteCombine(transform string) (ByteCombine, error)
}

var _ ByteCombiner = combineKernel[int, int, int, int]{}

func (ck combineKernel[K, I, A, O]) NewByteCombine(transform string) (ByteCombine, error) {
	ic, err := CoderOf[I]()
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	ac, err := CoderOf[A]()
	if err != nil {
		return nil, fmt.Errorf("accumulator: %w", err)
	}
	oc, err := CoderOf[O]()
	if err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	return &byteCombine[I, A, O]{name: transform, fn: ck.fn, ic: ic, ac: ac, oc: oc}, nil
}

type byteCombine[I, A, O any] struct {
	name string
	fn   CombineFn[I, A, O]
	ic   Coder[I]
	ac   Coder[A]
	oc   Coder[O]
}

// guard turns a panic in the CombineFn into an error naming the transform.
func (b *byteCombine[I, A, O]) guard(what string, err *error) {
	if r := recover(); r != nil {
		*err = &TransformError{Transform: b.name, Err: fmt.Errorf("CombineFn panicked while %s: %v", what, r)}
	}
}

func (b *byteCombine[I, A, O]) CreateAccumulator() any { return b.fn.CreateAccumulator() }

func (b *byteCombine[I, A, O]) AddInput(acc any, in []byte) (out any, err error) {
	defer b.guard("adding an input", &err)
	v, _, err := b.ic.Decode(in)
	if err != nil {
		return nil, &TransformError{Transform: b.name, Err: fmt.Errorf("decode input: %w", err)}
	}
	return b.fn.AddInput(acc.(A), v), nil
}

func (b *byteCombine[I, A, O]) MergeAccumulators(x, y any) (out any, err error) {
	defer b.guard("merging", &err)
	return b.fn.MergeAccumulators(x.(A), y.(A)), nil
}

func (b *byteCombine[I, A, O]) ExtractOutput(dst []byte, acc any) (out []byte, err error) {
	defer b.guard("extracting", &err)
	return b.oc.Encode(dst, b.fn.ExtractOutput(acc.(A))), nil
}

func (b *byteCombine[I, A, O]) EncodeAccumulator(dst []byte, acc any) (out []byte, err error) {
	defer b.guard("encoding an accumulator", &err)
	return b.ac.Encode(dst, acc.(A)), nil
}

func (b *byteCombine[I, A, O]) DecodeAccumulator(src []byte) (any, error) {
	a, n, err := b.ac.Decode(src)
	if err != nil {
		return nil, &TransformError{Transform: b.name, Err: fmt.Errorf("decode accumulator: %w", err)}
	}
	if n != len(src) {
		return nil, &TransformError{Transform: b.name, Err: fmt.Errorf("decode accumulator: %d trailing bytes", len(src)-n)}
	}
	return a, nil
}
