package transforms

import (
	"fmt"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Map applies fn to every element (Beam's MapElements). Outputs keep their
// input's timestamp, window and pane.
func Map[I, O any](s dataflow.Scope, name string, fn func(I) O, in dataflow.PCollection[I]) dataflow.PCollection[O] {
	if fn == nil {
		s.Errorf(name, "nil map function")
		return dataflow.PCollection[O]{}
	}
	return dataflow.ParDo(s, name, dataflow.MapFn[I, O](fn), in)
}

// MapErr is Map with a function that can fail: an error fails the element,
// and the run, with an error that names the transform and the element (Beam's
// MapElements, whose functions may throw).
func MapErr[I, O any](s dataflow.Scope, name string, fn func(I) (O, error), in dataflow.PCollection[I]) dataflow.PCollection[O] {
	if fn == nil {
		s.Errorf(name, "nil map function")
		return dataflow.PCollection[O]{}
	}
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[I, O](
		func(_ *dataflow.Context, v I, emit dataflow.Emitter[O]) error {
			o, err := fn(v)
			if err != nil {
				return err
			}
			emit.Emit(o)
			return nil
		}), in)
}

// FlatMap calls fn for every element; fn emits any number of outputs through
// emit, which is valid only during the call (Beam's FlatMapElements). Outputs
// keep their input's timestamp, window and pane.
func FlatMap[I, O any](s dataflow.Scope, name string, fn func(in I, emit func(O)), in dataflow.PCollection[I]) dataflow.PCollection[O] {
	if fn == nil {
		s.Errorf(name, "nil flat-map function")
		return dataflow.PCollection[O]{}
	}
	return FlatMapErr(s, name, func(v I, emit func(O)) error {
		fn(v, emit)
		return nil
	}, in)
}

// FlatMapErr is FlatMap with a function that can fail: an error fails the
// element, and the run.
func FlatMapErr[I, O any](s dataflow.Scope, name string, fn func(in I, emit func(O)) error, in dataflow.PCollection[I]) dataflow.PCollection[O] {
	if fn == nil {
		s.Errorf(name, "nil flat-map function")
		return dataflow.PCollection[O]{}
	}
	return dataflow.ParDo[I, O](s, name, &flatMapFn[I, O]{fn: fn}, in)
}

// flatMapFn hands fn an emit function made once per worker (not per element):
// the runner copies the struct per worker, and the copy makes its own closure.
type flatMapFn[I, O any] struct {
	fn   func(I, func(O)) error
	cur  dataflow.Emitter[O]
	emit func(O)
}

func (f *flatMapFn[I, O]) ProcessElement(_ *dataflow.Context, v I, emit dataflow.Emitter[O]) error {
	if f.emit == nil {
		f.emit = func(o O) { f.cur.Emit(o) }
	}
	f.cur = emit
	err := f.fn(v, f.emit)
	f.cur = nil
	return err
}

// Filter keeps the elements for which keep returns true (Beam's Filter.by).
func Filter[T any](s dataflow.Scope, name string, keep func(T) bool, in dataflow.PCollection[T]) dataflow.PCollection[T] {
	if keep == nil {
		s.Errorf(name, "nil filter predicate")
		return dataflow.PCollection[T]{}
	}
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[T, T](
		func(_ *dataflow.Context, v T, emit dataflow.Emitter[T]) error {
			if keep(v) {
				emit.Emit(v)
			}
			return nil
		}), in)
}

// KeyBy pairs every element with the key fn computes from it (Beam's WithKeys.of(fn)).
func KeyBy[K comparable, V any](s dataflow.Scope, name string, fn func(V) K, in dataflow.PCollection[V]) dataflow.PCollection[KV[K, V]] {
	if fn == nil {
		s.Errorf(name, "nil key function")
		return dataflow.PCollection[KV[K, V]]{}
	}
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[V, KV[K, V]](
		func(_ *dataflow.Context, v V, emit dataflow.Emitter[KV[K, V]]) error {
			emit.Emit(KV[K, V]{Key: fn(v), Value: v})
			return nil
		}), in)
}

// Keys returns the key of every element (Beam's Keys).
func Keys[K, V any](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[K] {
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[KV[K, V], K](
		func(_ *dataflow.Context, kv KV[K, V], emit dataflow.Emitter[K]) error {
			emit.Emit(kv.Key)
			return nil
		}), in)
}

// Values returns the value of every element (Beam's Values).
func Values[K, V any](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[V] {
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[KV[K, V], V](
		func(_ *dataflow.Context, kv KV[K, V], emit dataflow.Emitter[V]) error {
			emit.Emit(kv.Value)
			return nil
		}), in)
}

// SwapKV turns every (key, value) into (value, key) (Beam's KvSwap).
func SwapKV[K, V any](s dataflow.Scope, name string, in dataflow.PCollection[KV[K, V]]) dataflow.PCollection[KV[V, K]] {
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[KV[K, V], KV[V, K]](
		func(_ *dataflow.Context, kv KV[K, V], emit dataflow.Emitter[KV[V, K]]) error {
			emit.Emit(KV[V, K]{Key: kv.Value, Value: kv.Key})
			return nil
		}), in)
}

// TimestampOption configures WithTimestamps.
type TimestampOption func(*timestampConfig)

type timestampConfig struct {
	skew time.Duration
}

// AllowedTimestampSkew lets WithTimestamps move elements up to d back in event
// time (Beam's WithTimestamps.withAllowedTimestampSkew). Moving elements back
// can make them late; the default, zero, only lets timestamps move forward.
func AllowedTimestampSkew(d time.Duration) TimestampOption {
	return func(c *timestampConfig) { c.skew = d }
}

// WithTimestamps gives every element the event timestamp fn computes from it
// (Beam's WithTimestamps.of(fn)). Elements keep their window: apply WindowInto
// afterwards to window them by the new timestamps. A timestamp earlier than
// the element's current one minus the allowed skew (see AllowedTimestampSkew)
// fails the element, as in Beam.
func WithTimestamps[T any](s dataflow.Scope, name string, fn func(T) dataflow.EventTime, in dataflow.PCollection[T], opts ...TimestampOption) dataflow.PCollection[T] {
	var cfg timestampConfig
	for _, o := range opts {
		o(&cfg)
	}
	if fn == nil {
		s.Errorf(name, "nil timestamp function")
		return dataflow.PCollection[T]{}
	}
	if cfg.skew < 0 {
		s.Errorf(name, "allowed timestamp skew %v is negative", cfg.skew)
		return dataflow.PCollection[T]{}
	}
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[T, T](
		func(_ *dataflow.Context, v T, emit dataflow.Emitter[T]) error {
			t := fn(v)
			if t < dataflow.MinTime || t > dataflow.MaxTime {
				return fmt.Errorf("timestamp %d is outside [MinTime, MaxTime]", int64(t))
			}
			emit.EmitAt(v, t)
			return nil
		}), in, dataflow.WithAllowedSkew(cfg.skew))
}

// ReifyTimestamps pairs every element with its event timestamp (Beam's
// Reify.timestamps).
func ReifyTimestamps[T any](s dataflow.Scope, name string, in dataflow.PCollection[T]) dataflow.PCollection[Timestamped[T]] {
	return dataflow.ParDo(s, name, dataflow.DoFnFunc[T, Timestamped[T]](
		func(c *dataflow.Context, v T, emit dataflow.Emitter[Timestamped[T]]) error {
			emit.Emit(Timestamped[T]{Value: v, Time: c.Timestamp()})
			return nil
		}), in)
}
