package dataflow

import "fmt"

// KV is a key and a value: the element type of keyed PCollections.
type KV[K, V any] struct {
	Key   K
	Value V
}

// Pair makes a KV.
func Pair[K, V any](k K, v V) KV[K, V] { return KV[K, V]{Key: k, Value: v} }

func (kv KV[K, V]) String() string { return fmt.Sprintf("(%v, %v)", kv.Key, kv.Value) }

// Elem is a windowed value: an element with its event timestamp, its window and
// the pane that produced it. Runners keep elements in exactly one window: an
// element assigned to several windows (sliding windows) is one Elem per window.
type Elem[T any] struct {
	Value  T
	Time   EventTime
	Window Window
	Pane   PaneInfo
}

func (e Elem[T]) String() string {
	return fmt.Sprintf("%v@%v in %v", e.Value, e.Time, e.Window)
}

// Consumer receives batches of elements of one PCollection. It is the
// contract between operators: the callee must not retain the batch slice after
// it returns (the caller reuses it), and batches arrive from one goroutine at a time.
type Consumer[T any] interface {
	Consume(batch []Elem[T]) error
}

// ConsumerFunc adapts a function to Consumer.
type ConsumerFunc[T any] func(batch []Elem[T]) error

// Consume calls f.
func (f ConsumerFunc[T]) Consume(batch []Elem[T]) error { return f(batch) }

// BatchSize is the number of elements operators put in one batch.
const BatchSize = 256
