package transforms

import (
	"fmt"
	"iter"
	"strconv"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// CoGroup builds a CoGroupByKey (Beam's CoGroupByKey over a
// KeyedPCollectionTuple) of any number of keyed collections with the same key
// type and windowing, without a per-arity API:
//
//	cg := transforms.NewCoGroup[string](s, "Join")
//	orders := transforms.AddCoGroupInput(cg, ordersByUser)   // *CoGroupInput[string, Order]
//	payments := transforms.AddCoGroupInput(cg, paymentsByUser)
//	grouped := cg.Apply()  // PCollection[KV[string, CoGroupResult]]
//
// and then, in a DoFn over grouped, for each result r:
//
//	for o := range orders.Values(r) { ... }
//
// Each input is tagged with its position, its values encoded with their coder
// (found when the input is added); the tagged collections are flattened and
// grouped by key, and each group becomes a CoGroupResult. The parts are named
// "<name>/Tag0", "<name>/Tag1", ..., "<name>/Flatten", "<name>/GroupByKey" and
// "<name>/Result".
type CoGroup[K comparable] struct {
	parent  dataflow.Scope
	name    string
	s       dataflow.Scope
	tagged  []dataflow.PCollection[KV[K, taggedValue]]
	failed  bool // an input could not be added; the error is recorded
	applied bool
}

// taggedValue is one value of a CoGroup input: which input, and its encoding.
type taggedValue struct {
	Input int
	Value []byte
}

// NewCoGroup starts a CoGroupByKey named name in scope s.
func NewCoGroup[K comparable](s dataflow.Scope, name string) *CoGroup[K] {
	return &CoGroup[K]{parent: s, name: name, s: s.Scope(name)}
}

// CoGroupInput is the typed handle of one input of a CoGroup: it reads that
// input's values out of a CoGroupResult.
type CoGroupInput[K comparable, V any] struct {
	index int
	coder dataflow.Coder[V]
}

// AddCoGroupInput adds in as the next input of cg. V must have a coder.
func AddCoGroupInput[K comparable, V any](cg *CoGroup[K], in dataflow.PCollection[KV[K, V]]) *CoGroupInput[K, V] {
	index := len(cg.tagged)
	h := &CoGroupInput[K, V]{index: index}
	if cg.applied {
		cg.parent.Errorf(cg.name, "input %d added after Apply", index)
		return h
	}
	c, err := dataflow.CoderOf[V]()
	if err != nil {
		cg.parent.Errorf(cg.name, "input %d: value type has no coder: %v", index, err)
		cg.failed = true
		cg.tagged = append(cg.tagged, dataflow.PCollection[KV[K, taggedValue]]{})
		return h
	}
	h.coder = c
	tagged := dataflow.ParDo[KV[K, V], KV[K, taggedValue]](cg.s, "Tag"+strconv.Itoa(index), &tagFn[K, V]{index: index, coder: c}, in)
	if !tagged.Valid() {
		cg.failed = true
	}
	cg.tagged = append(cg.tagged, tagged)
	return h
}

// arenaChunk is the size of the blocks that tagFn encodes values into: large
// enough that a batch of small values takes one allocation, small enough that
// a block that one live value pins is cheap.
const arenaChunk = 64 << 10

// tagFn encodes each value into its worker's arena. Each encoding is a
// sub-slice that is never written again, so it stays valid for as long as
// anything downstream holds it.
type tagFn[K comparable, V any] struct {
	index int
	coder dataflow.Coder[V]
	arena []byte // per worker: the runner copies the struct
}

func (f *tagFn[K, V]) ProcessElement(_ *dataflow.Context, kv KV[K, V], emit dataflow.Emitter[KV[K, taggedValue]]) error {
	if cap(f.arena)-len(f.arena) < 512 {
		f.arena = make([]byte, 0, arenaChunk)
	}
	start := len(f.arena)
	f.arena = f.coder.Encode(f.arena, kv.Value)
	end := len(f.arena)
	emit.Emit(KV[K, taggedValue]{Key: kv.Key, Value: taggedValue{Input: f.index, Value: f.arena[start:end:end]}})
	return nil
}

// Apply builds the CoGroupByKey. It may be called once, after every input
// has been added.
func (cg *CoGroup[K]) Apply() dataflow.PCollection[KV[K, CoGroupResult]] {
	var invalid dataflow.PCollection[KV[K, CoGroupResult]]
	if cg.applied {
		cg.parent.Errorf(cg.name, "Apply called twice")
		return invalid
	}
	cg.applied = true
	if len(cg.tagged) == 0 {
		cg.parent.Errorf(cg.name, "a CoGroupByKey needs at least one input")
		return invalid
	}
	if cg.failed {
		return invalid
	}
	flat := dataflow.Flatten(cg.s, "Flatten", cg.tagged...)
	if !flat.Valid() {
		return invalid
	}
	grouped := dataflow.GroupByKey(cg.s, "GroupByKey", flat)
	if !grouped.Valid() {
		return invalid
	}
	return dataflow.ParDo[KV[K, iter.Seq[taggedValue]], KV[K, CoGroupResult]](cg.s, "Result", &resultFn[K]{inputs: len(cg.tagged)}, grouped)
}

// resultFn builds a CoGroupResult from each group with two allocations: the
// group's values go to a per-worker scratch slice first, and are then copied,
// sorted by input, into one exactly sized backing array.
type resultFn[K comparable] struct {
	inputs  int
	scratch []taggedValue // per worker: the runner copies the struct
	counts  []int
}

func (f *resultFn[K]) ProcessElement(_ *dataflow.Context, g KV[K, iter.Seq[taggedValue]], emit dataflow.Emitter[KV[K, CoGroupResult]]) error {
	n := f.inputs
	if f.counts == nil {
		f.counts = make([]int, n)
	}
	clear(f.counts)
	f.scratch = f.scratch[:0]
	for tv := range g.Value {
		if tv.Input < 0 || tv.Input >= n {
			return fmt.Errorf("value tagged with input %d, want an index in [0, %d)", tv.Input, n)
		}
		f.counts[tv.Input]++
		f.scratch = append(f.scratch, tv)
	}
	flat := make([][]byte, len(f.scratch))
	r := CoGroupResult{values: make([][][]byte, n)}
	start := 0
	for i, c := range f.counts {
		r.values[i] = flat[start : start : start+c]
		start += c
	}
	for _, tv := range f.scratch {
		r.values[tv.Input] = append(r.values[tv.Input], tv.Value)
	}
	clear(f.scratch) // drop the references to the values for the GC
	emit.Emit(KV[K, CoGroupResult]{Key: g.Key, Value: r})
	return nil
}

// CoGroupResult holds the values of one key and window of a CoGroupByKey,
// for each input (Beam's CoGbkResult). Read them with CoGroupInput.Values.
type CoGroupResult struct {
	// values holds, per input, the encoded values. The derived coder encodes
	// it like any other field.
	values [][][]byte
}

// Values returns the values of input in from r, in no particular order; the
// sequence can be iterated more than once. It panics if a value does not
// decode, which means r did not come from the CoGroup that in belongs to.
func (in *CoGroupInput[K, V]) Values(r CoGroupResult) iter.Seq[V] {
	return func(yield func(V) bool) {
		if in.index >= len(r.values) {
			return
		}
		for _, b := range r.values[in.index] {
			v, _, err := in.coder.Decode(b)
			if err != nil {
				panic(fmt.Errorf("CoGroupByKey input %d: %w", in.index, err))
			}
			if !yield(v) {
				return
			}
		}
	}
}

// Len returns how many values input in has in r.
func (in *CoGroupInput[K, V]) Len(r CoGroupResult) int {
	if in.index >= len(r.values) {
		return 0
	}
	return len(r.values[in.index])
}

// IsEmpty reports whether r has no value of any input.
func (r CoGroupResult) IsEmpty() bool {
	for _, vs := range r.values {
		if len(vs) > 0 {
			return false
		}
	}
	return true
}

// Join is one output of a join: a left value and a right value with the same
// key. In outer joins one side may be missing, which its Has flag says.
type Join[L, R any] struct {
	Left     L
	Right    R
	HasLeft  bool
	HasRight bool
}

// InnerJoin joins left and right on their keys, per window: for each key, the
// cross product of its left and right values (Beam's Join.innerJoin).
func InnerJoin[K comparable, L, R any](s dataflow.Scope, name string, left dataflow.PCollection[KV[K, L]], right dataflow.PCollection[KV[K, R]]) dataflow.PCollection[KV[K, Join[L, R]]] {
	return join(s, name, left, right, false, false)
}

// LeftOuterJoin is InnerJoin plus, for each left value whose key has no
// right value, a Join with HasRight false (Beam's Join.leftOuterJoin).
func LeftOuterJoin[K comparable, L, R any](s dataflow.Scope, name string, left dataflow.PCollection[KV[K, L]], right dataflow.PCollection[KV[K, R]]) dataflow.PCollection[KV[K, Join[L, R]]] {
	return join(s, name, left, right, true, false)
}

// RightOuterJoin is InnerJoin plus, for each right value whose key has no
// left value, a Join with HasLeft false (Beam's Join.rightOuterJoin).
func RightOuterJoin[K comparable, L, R any](s dataflow.Scope, name string, left dataflow.PCollection[KV[K, L]], right dataflow.PCollection[KV[K, R]]) dataflow.PCollection[KV[K, Join[L, R]]] {
	return join(s, name, left, right, false, true)
}

// FullOuterJoin is InnerJoin plus the unmatched values of both sides, each
// with the other side missing (Beam's Join.fullOuterJoin).
func FullOuterJoin[K comparable, L, R any](s dataflow.Scope, name string, left dataflow.PCollection[KV[K, L]], right dataflow.PCollection[KV[K, R]]) dataflow.PCollection[KV[K, Join[L, R]]] {
	return join(s, name, left, right, true, true)
}

func join[K comparable, L, R any](s dataflow.Scope, name string, left dataflow.PCollection[KV[K, L]], right dataflow.PCollection[KV[K, R]], keepLeft, keepRight bool) dataflow.PCollection[KV[K, Join[L, R]]] {
	s = s.Scope(name)
	cg := NewCoGroup[K](s, "CoGroupByKey")
	lin := AddCoGroupInput(cg, left)
	rin := AddCoGroupInput(cg, right)
	grouped := cg.Apply()
	if !grouped.Valid() {
		return dataflow.PCollection[KV[K, Join[L, R]]]{}
	}
	return dataflow.ParDo[KV[K, CoGroupResult], KV[K, Join[L, R]]](s, "Join", &joinFn[K, L, R]{left: lin, right: rin, keepLeft: keepLeft, keepRight: keepRight}, grouped)
}

// joinFn emits the joins of one key. The right values are decoded once per
// key, into a per-worker scratch slice, and crossed with each left value.
type joinFn[K comparable, L, R any] struct {
	left                *CoGroupInput[K, L]
	right               *CoGroupInput[K, R]
	keepLeft, keepRight bool
	scratch             []R // per worker: the runner copies the struct
}

func (f *joinFn[K, L, R]) ProcessElement(_ *dataflow.Context, g KV[K, CoGroupResult], emit dataflow.Emitter[KV[K, Join[L, R]]]) error {
	rs := f.scratch[:0]
	for r := range f.right.Values(g.Value) {
		rs = append(rs, r)
	}
	hasLeft := false
	for l := range f.left.Values(g.Value) {
		hasLeft = true
		if len(rs) == 0 {
			if f.keepLeft {
				emit.Emit(KV[K, Join[L, R]]{Key: g.Key, Value: Join[L, R]{Left: l, HasLeft: true}})
			}
			continue
		}
		for _, r := range rs {
			emit.Emit(KV[K, Join[L, R]]{Key: g.Key, Value: Join[L, R]{Left: l, Right: r, HasLeft: true, HasRight: true}})
		}
	}
	if !hasLeft && f.keepRight {
		for _, r := range rs {
			emit.Emit(KV[K, Join[L, R]]{Key: g.Key, Value: Join[L, R]{Right: r, HasRight: true}})
		}
	}
	clear(rs) // drop references for the GC
	f.scratch = rs[:0]
	return nil
}
