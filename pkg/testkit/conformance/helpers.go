package conformance

import (
	"fmt"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// KV is dataflow.KV.
type KV[K, V any] = dataflow.KV[K, V]

func kv[K, V any](k K, v V) KV[K, V] { return KV[K, V]{Key: k, Value: v} }

// tv is v at ms milliseconds after the epoch.
func tv[T any](v T, ms int64) transforms.Timestamped[T] {
	return transforms.Timestamped[T]{Value: v, Time: dataflow.EventTime(ms)}
}

// ms is the event time ms milliseconds after the epoch.
func ms(n int64) dataflow.EventTime { return dataflow.EventTime(n) }

// win is the window [start, end), in milliseconds.
func win(start, end int64) dataflow.Window {
	return dataflow.IntervalWindow(dataflow.EventTime(start), dataflow.EventTime(end))
}

// w10 is the i-th 10-second fixed window, [i*10s, (i+1)*10s).
func w10(i int64) dataflow.Window { return win(i*10_000, (i+1)*10_000) }

// fixed10 windows in into 10-second fixed windows.
func fixed10[T any](s dataflow.Scope, name string, in dataflow.PCollection[T], opts ...dataflow.WindowOption) dataflow.PCollection[T] {
	return dataflow.WindowInto(s, name, dataflow.Fixed(10*time.Second), in, opts...)
}

// createFixed10 creates timestamped values and windows them into 10-second fixed windows.
func createFixed10[T any](s dataflow.Scope, name string, vs ...transforms.Timestamped[T]) dataflow.PCollection[T] {
	in := transforms.CreateTimestamped(s, name, vs)
	return fixed10(s, name+"Windows", in)
}

// onTimeOnly is the pane of a window whose trigger fired once, when the
// watermark passed its end: on bounded input with the default trigger and no
// allowed lateness, every GroupByKey pane.
var onTimeOnly = dataflow.PaneInfo{Timing: dataflow.PaneOnTime, IsFirst: true, IsLast: true}

// fn adapts a function to a DoFn.
func fn[I, O any](f func(c *dataflow.Context, in I, emit dataflow.Emitter[O]) error) dataflow.DoFn[I, O] {
	return dataflow.DoFnFunc[I, O](f)
}

// checkf returns an error built with fmt.Errorf when cond is false.
func checkf(cond bool, format string, args ...any) error {
	if cond {
		return nil
	}
	return fmt.Errorf(format, args...)
}
