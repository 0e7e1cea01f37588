package shuffle

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Budget is the memory shared by the shuffles of one run.
type Budget struct {
	Limit int64
	// MinSpill is the smallest partition that spills (default 1 MiB): tiny
	// spill files cost more than they save.
	MinSpill int64
	used     atomic.Int64
}

// Used returns the bytes currently held in memory.
func (b *Budget) Used() int64 { return b.used.Load() }

// Record is one element of a group.
type Record struct {
	Key    []byte
	Window df.Window
	Time   df.EventTime
	Value  []byte
}

// Shuffle is one GroupByKey's exchange.
type Shuffle struct {
	name    string
	dir     string
	budget  *Budget
	seed    maphash.Seed
	merging bool // group by key only (windows merge later)
	parts   []*partition
	spilled atomic.Int64 // bytes written to disk
}

type partition struct {
	mu      sync.Mutex
	chunks  [][]byte  // arena chunks, never reallocated
	recs    recordLog // point into chunks
	bytes   int64     // accounted against the budget
	runs    []string  // spill files, oldest first
	counter int
}

const chunkSize = 1 << 20

// New returns a shuffle with n partitions spilling into dir. When merging
// is true, groups are formed by key alone (for merging windows).
func New(name string, n int, dir string, budget *Budget, merging bool) *Shuffle {
	s := &Shuffle{name: name, dir: dir, budget: budget, seed: maphash.MakeSeed(), merging: merging}
	if budget.MinSpill == 0 {
		budget.MinSpill = chunkSize
	}
	s.parts = make([]*partition, n)
	for i := range s.parts {
		s.parts[i] = &partition{}
	}
	return s
}

// Partitions returns the number of partitions.
func (s *Shuffle) Partitions() int { return len(s.parts) }

// SpilledBytes returns the bytes written to spill files so far.
func (s *Shuffle) SpilledBytes() int64 { return s.spilled.Load() }

// Add adds a record (copying it) to the partition of its key.
func (s *Shuffle) Add(key, value []byte, t df.EventTime, w df.Window) error {
	p := s.parts[maphash.Bytes(s.seed, key)%uint64(len(s.parts))]
	n := len(key) + len(value)
	p.mu.Lock()
	defer p.mu.Unlock()
	buf := p.alloc(n)
	copy(buf, key)
	copy(buf[len(key):], value)
	p.recs.add(Record{Key: buf[:len(key):len(key)], Value: buf[len(key):], Time: t, Window: w})
	const recOverhead = 80 // a Record in the slice, amortized
	add := int64(n + recOverhead)
	p.bytes += add
	if s.budget.used.Add(add) > s.budget.Limit && p.bytes > max(s.budget.Limit/int64(4*len(s.parts)), s.budget.MinSpill) {
		return s.spill(p)
	}
	return nil
}

// recordLog holds a partition's records in fixed-size blocks: growing it
// never copies the records already in it.
type recordLog struct {
	blocks [][]Record
	n      int
}

const recordBlock = 1 << 13

func (l *recordLog) add(r Record) {
	if l.n == len(l.blocks)*recordBlock {
		l.blocks = append(l.blocks, make([]Record, recordBlock))
	}
	l.blocks[l.n/recordBlock][l.n%recordBlock] = r
	l.n++
}

func (l *recordLog) len() int { return l.n }

func (l *recordLog) at(i int) *Record { return &l.blocks[i/recordBlock][i%recordBlock] }

func (l *recordLog) reset() { l.blocks, l.n = nil, 0 }

func (p *partition) alloc(n int) []byte {
	if n > chunkSize/4 { // a large record gets its own chunk
		b := make([]byte, n)
		p.chunks = append(p.chunks, b)
		return b
	}
	if len(p.chunks) == 0 || cap(p.chunks[len(p.chunks)-1])-len(p.chunks[len(p.chunks)-1]) < n {
		p.chunks = append(p.chunks, make([]byte, 0, chunkSize))
	}
	c := &p.chunks[len(p.chunks)-1]
	start := len(*c)
	*c = (*c)[:start+n]
	return (*c)[start : start+n : start+n]
}

func (s *Shuffle) compare(a, b *Record) int {
	if c := bytes.Compare(a.Key, b.Key); c != 0 || s.merging {
		return c
	}
	if c := cmp.Compare(a.Window.Start, b.Window.Start); c != 0 {
		return c
	}
	return cmp.Compare(a.Window.End, b.Window.End)
}

// sort returns the partition's records ordered by key and window, keeping
// arrival order within a group, and empties its log. It sorts indexes (ties
// broken by index, so the faster unstable sort is stable in effect) rather
// than moving records.
func (s *Shuffle) sort(p *partition) []Record {
	recs := &p.recs
	idx := make([]int32, recs.len())
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		if c := s.compare(recs.at(int(a)), recs.at(int(b))); c != 0 {
			return c
		}
		return int(a - b)
	})
	sorted := make([]Record, len(idx))
	for i, j := range idx {
		sorted[i] = *recs.at(int(j))
	}
	recs.reset()
	return sorted
}

// spill sorts the partition's records and writes them to a run file. p.mu is held.
func (s *Shuffle) spill(p *partition) error {
	recs := s.sort(p)
	f, err := os.CreateTemp(s.dir, "sluice-shuffle-*.run")
	if err != nil {
		return fmt.Errorf("shuffle %s: spill: %w", s.name, err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var hdr [binary.MaxVarintLen64*2 + 24]byte
	var written int64
	for i := range recs {
		r := &recs[i]
		h := binary.AppendUvarint(hdr[:0], uint64(len(r.Key)))
		h = binary.AppendUvarint(h, uint64(len(r.Value)))
		h = binary.BigEndian.AppendUint64(h, uint64(r.Window.Start))
		h = binary.BigEndian.AppendUint64(h, uint64(r.Window.End))
		h = binary.BigEndian.AppendUint64(h, uint64(r.Time))
		w.Write(h)
		w.Write(r.Key)
		w.Write(r.Value)
		written += int64(len(h) + len(r.Key) + len(r.Value))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("shuffle %s: spill: %w", s.name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("shuffle %s: spill: %w", s.name, err)
	}
	s.spilled.Add(written)
	p.runs = append(p.runs, f.Name())
	s.budget.used.Add(-p.bytes)
	p.bytes = 0
	p.chunks = nil
	return nil
}

// Group is one key and window (or one key, for merging windows) with its
// records in arrival order. It is valid only during the callback.
type Group struct {
	Key     []byte
	Window  df.Window // zero when merging
	Records []Record
}

// Groups reads partition part and calls fn for each group in order.
func (s *Shuffle) Groups(part int, fn func(g *Group) error) error {
	p := s.parts[part]
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.runs) == 0 {
		return s.hashGroups(p, fn)
	}
	mem := s.sort(p)
	// Sources, oldest first: the spill runs, then the records still in memory.
	srcs := make([]*source, 0, len(p.runs)+1)
	defer func() {
		for _, src := range srcs {
			if src.f != nil {
				src.f.Close()
			}
		}
	}()
	for i, name := range p.runs {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("shuffle %s: read spill: %w", s.name, err)
		}
		src := &source{idx: i, f: f, r: bufio.NewReaderSize(f, 256<<10)}
		srcs = append(srcs, src)
	}
	srcs = append(srcs, &source{idx: len(p.runs), mem: mem})
	h := &mergeHeap{s: s}
	for _, src := range srcs {
		ok, err := src.next()
		if err != nil {
			return fmt.Errorf("shuffle %s: read spill: %w", s.name, err)
		}
		if ok {
			h.srcs = append(h.srcs, src)
		}
	}
	heap.Init(h)
	g := &Group{}
	for h.Len() > 0 {
		top := h.srcs[0]
		rec := top.cur
		if len(g.Records) > 0 && s.compare(&g.Records[0], &rec) != 0 {
			if err := fn(g); err != nil {
				return err
			}
			g.Records = g.Records[:0]
		}
		if len(g.Records) == 0 {
			g.Key = rec.Key
			if !s.merging {
				g.Window = rec.Window
			}
		}
		g.Records = append(g.Records, rec)
		ok, err := top.next()
		if err != nil {
			return fmt.Errorf("shuffle %s: read spill: %w", s.name, err)
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	if len(g.Records) > 0 {
		return fn(g)
	}
	return nil
}

// hashGroups groups a partition that never spilled by hashing, which is
// cheaper than sorting; groups come in order of first arrival. p.mu is held.
func (s *Shuffle) hashGroups(p *partition, fn func(g *Group) error) error {
	type gkey struct {
		key string
		w   df.Window
	}
	n := p.recs.len()
	index := make(map[gkey]int32, n/4)
	var firsts []int32 // first record of each group
	next := make([]int32, n)
	last := make([]int32, 0, 64) // last record of each group, to chain the next
	for i := range n {
		r := p.recs.at(i)
		w := r.Window
		if s.merging {
			w = df.Window{}
		}
		g, ok := index[gkey{string(r.Key), w}] // the conversion does not allocate in a lookup
		if !ok {
			g = int32(len(firsts))
			index[gkey{string(r.Key), w}] = g
			firsts = append(firsts, int32(i))
			last = append(last, int32(i))
			next[i] = -1
			continue
		}
		next[last[g]] = int32(i)
		next[i] = -1
		last[g] = int32(i)
	}
	gr := &Group{}
	for _, first := range firsts {
		gr.Records = gr.Records[:0]
		for i := first; i >= 0; i = next[i] {
			gr.Records = append(gr.Records, *p.recs.at(int(i)))
		}
		gr.Key = p.recs.at(int(first)).Key
		gr.Window = df.Window{}
		if !s.merging {
			gr.Window = p.recs.at(int(first)).Window
		}
		if err := fn(gr); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the shuffle's memory and removes its spill files.
func (s *Shuffle) Close() error {
	var errs []error
	for _, p := range s.parts {
		p.mu.Lock()
		s.budget.used.Add(-p.bytes)
		p.bytes, p.chunks = 0, nil
		p.recs.reset()
		for _, r := range p.runs {
			if err := os.Remove(r); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		p.runs = nil
		p.mu.Unlock()
	}
	return errors.Join(errs...)
}

type source struct {
	idx int
	f   *os.File
	r   *bufio.Reader
	mem []Record
	pos int
	cur Record
}

func (src *source) next() (bool, error) {
	if src.r == nil {
		if src.pos >= len(src.mem) {
			return false, nil
		}
		src.cur = src.mem[src.pos]
		src.pos++
		return true, nil
	}
	kl, err := binary.ReadUvarint(src.r)
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	vl, err := binary.ReadUvarint(src.r)
	if err != nil {
		return false, unexpected(err)
	}
	var fixed [24]byte
	if _, err := io.ReadFull(src.r, fixed[:]); err != nil {
		return false, unexpected(err)
	}
	// Each record gets fresh memory: a group's records must stay valid
	// while later records are read.
	buf := make([]byte, kl+vl)
	if _, err := io.ReadFull(src.r, buf); err != nil {
		return false, unexpected(err)
	}
	src.cur = Record{
		Key:    buf[:kl:kl],
		Value:  buf[kl:],
		Window: df.Window{Start: df.EventTime(binary.BigEndian.Uint64(fixed[0:])), End: df.EventTime(binary.BigEndian.Uint64(fixed[8:]))},
		Time:   df.EventTime(binary.BigEndian.Uint64(fixed[16:])),
	}
	return true, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return fmt.Errorf("truncated spill file: %w", io.ErrUnexpectedEOF)
	}
	return err
}

type mergeHeap struct {
	s    *Shuffle
	srcs []*source
}

func (h *mergeHeap) Len() int { return len(h.srcs) }
func (h *mergeHeap) Less(i, j int) bool {
	if c := h.s.compare(&h.srcs[i].cur, &h.srcs[j].cur); c != 0 {
		return c < 0
	}
	return h.srcs[i].idx < h.srcs[j].idx
}
func (h *mergeHeap) Swap(i, j int) { h.srcs[i], h.srcs[j] = h.srcs[j], h.srcs[i] }
func (h *mergeHeap) Push(x any)    { h.srcs = append(h.srcs, x.(*source)) }
func (h *mergeHeap) Pop() any {
	x := h.srcs[len(h.srcs)-1]
	h.srcs = h.srcs[:len(h.srcs)-1]
	return x
}
