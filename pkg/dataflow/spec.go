package dataflow

import (
	"context"
	"iter"
	"time"
)

// Spec says what a transform does. It is a sealed interface; its values are
// the primitives of the Beam model, each translatable one to one into a Beam
// primitive, plus the Combine composite, which runners may lift:
//
//	*ImpulseSpec     Impulse: one empty []byte element in the global window
//	*ReadSpec        Read: elements of a bounded source, split for parallel reading
//	*ReadUnboundedSpec Read of an unbounded source (streaming runner only)
//	*ParDoSpec       ParDo: a DoFn over a main input, with side inputs and N outputs
//	*GroupByKeySpec  GroupByKey: KV[K,V] -> KV[K, iter.Seq[V]] per key and window
//	*FlattenSpec     Flatten: the union of N collections of one type
//	*WindowIntoSpec  WindowInto (Beam's AssignWindows): a new windowing strategy
//	*CombineSpec     Combine.PerKey composite: GroupByKey + ParDo(combine values)
//	*ReshuffleSpec   Reshuffle: redistribute elements, a fusion break
//	*WriteSpec       Write: elements to a sink with a commit step
type Spec interface {
	Kind() string
	spec()
}

func (*ImpulseSpec) spec()    {}
func (*ReadSpec) spec()       {}
func (*ParDoSpec) spec()      {}
func (*GroupByKeySpec) spec() {}
func (*FlattenSpec) spec()    {}
func (*WindowIntoSpec) spec() {}
func (*CombineSpec) spec()    {}
func (*ReshuffleSpec) spec()  {}
func (*WriteSpec) spec()      {}

func (*ImpulseSpec) Kind() string    { return "Impulse" }
func (*ReadSpec) Kind() string       { return "Read" }
func (*ParDoSpec) Kind() string      { return "ParDo" }
func (*GroupByKeySpec) Kind() string { return "GroupByKey" }
func (*FlattenSpec) Kind() string    { return "Flatten" }
func (*WindowIntoSpec) Kind() string { return "WindowInto" }
func (*CombineSpec) Kind() string    { return "CombinePerKey" }
func (*ReshuffleSpec) Kind() string  { return "Reshuffle" }
func (*WriteSpec) Kind() string      { return "Write" }

// ImpulseSpec emits a single empty []byte at MinTime in the global window.
type ImpulseSpec struct{}

// ReadSpec reads a bounded source.
type ReadSpec struct {
	Source AnySource
}

// ParDoSpec applies a DoFn.
type ParDoSpec struct {
	Fn          any // the user's DoFn value, for display and the Beam bridge
	Sides       []*SideInputSpec
	OutputNames []string // output i is Outputs[i]; output 0 is the main output
	// Stateful is set for a StatefulParDo: its input is partitioned by key.
	Stateful *StatefulSpec
	// AllowedSkew is how far before the input's timestamp an output may be stamped.
	AllowedSkew time.Duration
	newOp       func(env OpEnv) (Op, error)
}

// NewOp builds one instance of the ParDo for one worker.
func (s *ParDoSpec) NewOp(env OpEnv) (Op, error) { return s.newOp(env) }

// GroupByKeySpec groups a KV collection by key and window. Runners group by
// the deterministic encoding of the key; Kernel encodes elements for them
// and decodes the groups they form.
type GroupByKeySpec struct {
	KeyCoder   AnyCoder
	ValueCoder AnyCoder
	Kernel     GBKKernel
	// LateOutput means the transform has a second output, Outputs[1], of
	// the input elements dropped as late (GroupByKeyWithLateData).
	LateOutput bool
}

// FlattenSpec unions its inputs.
type FlattenSpec struct{}

// WindowIntoSpec assigns windows and sets the windowing strategy of its output.
type WindowIntoSpec struct {
	Strategy WindowingStrategy
	newOp    func(env OpEnv) (Op, error)
}

// NewOp builds the window-assigning operator.
func (s *WindowIntoSpec) NewOp(env OpEnv) (Op, error) { return s.newOp(env) }

// CombineSpec is Combine.PerKey. A runner either runs Expansion (a
// GroupByKey and a ParDo that combines each group), or lifts the combine
// through Kernel: partial combining before the shuffle, merging after it.
// Lifting is only valid when Liftable is true.
type CombineSpec struct {
	Fn        any
	Expansion []*Transform
	Kernel    CombineKernel
}

// Liftable reports whether the combine can be lifted for input windowing ws:
// a trigger that fires once per window and windows that do not merge (a
// count trigger would count accumulators instead of elements).
func (s *CombineSpec) Liftable(ws WindowingStrategy) bool {
	return ws.IsDefaultTrigger() && !ws.Fn.IsMerging()
}

// ReshuffleSpec redistributes elements across workers; elements keep their
// timestamps, windows and panes.
type ReshuffleSpec struct{}

// WriteSpec writes elements to a sink.
type WriteSpec struct {
	Sink AnySink
}

// OpEnv is what a runner hands to an operator it instantiates.
type OpEnv struct {
	// Transform is the full name of the transform.
	Transform string
	// Outputs holds a Consumer[O_i] for each output of the transform.
	Outputs []any
	// Sides holds the materialized side inputs, in ParDoSpec.Sides order.
	Sides []SideInputData
	// Metrics is the container the operator's user metrics go to.
	Metrics *MetricsContainer
}

// Op is one worker's instance of an element-wise transform. The runner calls
// Setup once, then for each bundle StartBundle, batches to Input, FinishBundle,
// and Teardown once at the end, all from one goroutine.
type Op interface {
	// Input returns the operator's Consumer[In].
	Input() any
	Setup(ctx context.Context) error
	StartBundle(ctx context.Context) error
	FinishBundle(ctx context.Context) error
	Teardown(ctx context.Context) error
}

// GBKKernel is the typed half of a GroupByKey.
type GBKKernel interface {
	// NewEncoder returns a Consumer[KV[K,V]] that encodes the key and value of
	// each element and hands them to sink.
	NewEncoder(sink KVSink) any
	// NewDecoder returns a GroupSink that decodes the groups a runner formed and
	// sends them, as KV[K, iter.Seq[V]] elements, to out (a Consumer[KV[K, iter.Seq[V]]]).
	NewDecoder(out any) GroupSink
	// NewLateDecoder returns a LateSink that decodes elements dropped as
	// late and sends them to out (a Consumer[KV[K,V]]).
	NewLateDecoder(out any) LateSink
}

// LateSink receives the encoded elements a runner drops as late.
type LateSink interface {
	Add(key, value []byte, t EventTime, w Window) error
	Flush() error
}

// KVSink receives encoded elements of a GroupByKey input.
type KVSink interface {
	Add(key, value []byte, t EventTime, w Window) error
}

// GroupSink receives the panes a runner forms.
type GroupSink interface {
	// Emit sends one pane of one key and window. values must stay readable until Flush.
	Emit(key []byte, values EncodedValues, t EventTime, w Window, pane PaneInfo) error
	// Flush sends buffered output downstream.
	Flush() error
}

// EncodedValues are the encoded values of one pane, in arrival order. All may
// be called more than once (grouped values are re-iterable, as in Beam).
type EncodedValues interface {
	Len() int
	All() iter.Seq[[]byte]
}

// CombineKernel is the typed half of a lifted Combine.PerKey.
type CombineKernel interface {
	// NewLifted returns the shuffle state for one run with the given number of partitions.
	NewLifted(transform string, partitions int, tc TimestampCombiner) LiftedCombine
}

// LiftedCombine holds the partial accumulators of one lifted combine in a run.
type LiftedCombine interface {
	// NewPartial returns a worker-local Consumer[KV[K,I]] and a function that
	// flushes its accumulators into the shuffle (called when the worker is done).
	NewPartial(maxEntries int) (consumer any, flush func() error)
	// Merge merges the accumulators of one partition and sends the combined
	// outputs, as on-time panes, to out (a Consumer[KV[K,O]]).
	Merge(ctx context.Context, partition int, out any) error
	// Entries reports how many accumulators the partition holds.
	Entries(partition int) int
}

// AnySource is the runner's view of a bounded source.
type AnySource interface {
	// Split divides the source into about desired parts that can be read in parallel.
	Split(ctx context.Context, desired int) ([]AnySource, error)
	// ReadAll reads the whole source into out, a Consumer[T], in batches.
	ReadAll(ctx context.Context, out any) error
	// EstimatedBytes is the size of the source in bytes, or -1 if unknown.
	EstimatedBytes() int64
	// SourceFile is the file a split reads, or "" if none or several.
	SourceFile() string
	String() string
}

// AnySink is the runner's view of a sink.
type AnySink interface {
	// NewWriter opens the writer of one shard; its Input is a Consumer[T].
	NewWriter(ctx context.Context, shard int) (AnySinkWriter, error)
	// Commit makes the output of every closed writer visible, atomically.
	Commit(ctx context.Context, results []any) error
	// Abort removes whatever the writers wrote.
	Abort(ctx context.Context, results []any) error
	String() string
}

// AnySinkWriter writes one shard.
type AnySinkWriter interface {
	Input() any
	// Close finishes the shard and returns what Commit needs to know of it.
	Close(ctx context.Context) (any, error)
}
