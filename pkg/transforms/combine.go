package transforms

import (
	"github.com/sluicedata/sluice/pkg/dataflow"
)

// globalKey is the one key of a global combine: a uint8 has a deterministic
// one-byte encoding.
type globalKey = uint8

// CombineGloballyOption configures CombineGlobally.
type CombineGloballyOption func(*combineGloballyConfig)

type combineGloballyConfig struct {
	withoutDefaults bool
}

// WithoutDefaults makes CombineGlobally emit nothing for empty input, even in
// the global window (Beam's Combine.globally(fn).withoutDefaults()).
func WithoutDefaults() CombineGloballyOption {
	return func(c *combineGloballyConfig) { c.withoutDefaults = true }
}

// CombineGlobally combines all the elements of each window of in with fn
// (Beam's Combine.globally). It emits one value per window that has input.
// When in is in the global window it also emits the default,
// fn.ExtractOutput(fn.CreateAccumulator()), if the input is empty, as Beam
// does; WithoutDefaults turns that off. In other windows empty windows emit
// nothing (where Beam Java would refuse to build the pipeline without
// withoutDefaults()).
//
// It is built as Beam builds it: the elements are keyed with one constant key
// and combined with CombinePerKey, which runners lift; the default comes from
// an Impulse and a ParDo that reads the combined result as a side input.
func CombineGlobally[I, A, O any](s dataflow.Scope, name string, fn dataflow.CombineFn[I, A, O], in dataflow.PCollection[I], opts ...CombineGloballyOption) dataflow.PCollection[O] {
	var cfg combineGloballyConfig
	for _, o := range opts {
		o(&cfg)
	}
	if fn == nil {
		s.Errorf(name, "nil CombineFn")
		return dataflow.PCollection[O]{}
	}
	return combineGlobally(s, name, fn, in, !cfg.withoutDefaults)
}

func combineGlobally[I, A, O any](s dataflow.Scope, name string, fn dataflow.CombineFn[I, A, O], in dataflow.PCollection[I], withDefault bool) dataflow.PCollection[O] {
	var invalid dataflow.PCollection[O]
	s = s.Scope(name)
	keyed := dataflow.ParDo(s, "WithKeys", dataflow.DoFnFunc[I, KV[globalKey, I]](
		func(_ *dataflow.Context, v I, emit dataflow.Emitter[KV[globalKey, I]]) error {
			emit.Emit(KV[globalKey, I]{Value: v})
			return nil
		}), in)
	if !keyed.Valid() {
		return invalid
	}
	combined := dataflow.CombinePerKey(s, "CombinePerKey", fn, keyed)
	if !combined.Valid() {
		return invalid
	}
	values := Values(s, "Values", combined)
	if !values.Valid() || !withDefault {
		return values
	}
	if _, global := in.Windowing().Fn.(dataflow.GlobalWindows); !global {
		return values
	}
	// Beam's insertDefaultValueIfEmpty: one element that emits the default
	// when the combined result is empty.
	imp := dataflow.Impulse(s, "DefaultImpulse")
	if !imp.Valid() {
		return invalid
	}
	side := dataflow.AsSlice(values)
	def := dataflow.ParDo(s, "ProduceDefault", dataflow.DoFnFunc[[]byte, O](
		func(c *dataflow.Context, _ []byte, emit dataflow.Emitter[O]) error {
			if len(side.Get(c)) == 0 {
				emit.Emit(fn.ExtractOutput(fn.CreateAccumulator()))
			}
			return nil
		}), imp, dataflow.WithSideInputs(side))
	if !def.Valid() {
		return invalid
	}
	return dataflow.Flatten(s, "Flatten", values, def)
}

// ReduceAccumulator is the accumulator of BinaryCombineFn: the value so far,
// and whether there is one.
type ReduceAccumulator[T any] struct {
	Value T
	Set   bool
}

// BinaryCombineFn makes a CombineFn from f, an associative and commutative
// function that combines two values into one (Beam's
// Combine.BinaryCombineFn). The output of an empty input is T's zero value.
func BinaryCombineFn[T any](f func(a, b T) T) dataflow.CombineFn[T, ReduceAccumulator[T], T] {
	return binaryCombineFn[T]{f: f}
}

type binaryCombineFn[T any] struct{ f func(a, b T) T }

func (binaryCombineFn[T]) CreateAccumulator() ReduceAccumulator[T] { return ReduceAccumulator[T]{} }

func (b binaryCombineFn[T]) AddInput(acc ReduceAccumulator[T], v T) ReduceAccumulator[T] {
	if !acc.Set {
		return ReduceAccumulator[T]{Value: v, Set: true}
	}
	acc.Value = b.f(acc.Value, v)
	return acc
}

func (b binaryCombineFn[T]) MergeAccumulators(x, y ReduceAccumulator[T]) ReduceAccumulator[T] {
	if !y.Set {
		return x
	}
	return b.AddInput(x, y.Value)
}

func (binaryCombineFn[T]) ExtractOutput(acc ReduceAccumulator[T]) T { return acc.Value }

// ReducePerKey combines the values of each key and window with f, an
// associative and commutative function (Beam's Combine.perKey with a binary
// function).
func ReducePerKey[K comparable, V any](s dataflow.Scope, name string, f func(a, b V) V, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[K, V]] {
	if f == nil {
		s.Errorf(name, "nil reduce function")
		return dataflow.PCollection[KV[K, V]]{}
	}
	return dataflow.CombinePerKey(s, name, BinaryCombineFn(f), in)
}

// ReduceGlobally combines the elements of each window with f, an associative
// and commutative function (Beam's Combine.globally with a binary function).
// It emits nothing for empty input, even in the global window: f has no
// identity to emit, where Beam Java would emit null.
func ReduceGlobally[T any](s dataflow.Scope, name string, f func(a, b T) T, in dataflow.PCollection[T]) dataflow.PCollection[T] {
	if f == nil {
		s.Errorf(name, "nil reduce function")
		return dataflow.PCollection[T]{}
	}
	return combineGlobally(s, name, BinaryCombineFn(f), in, false)
}
