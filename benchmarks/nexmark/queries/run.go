package queries

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Query is one Nexmark query, type-erased so that a driver can run them all.
type Query struct {
	Name  string // "q0", ...
	Title string // what it computes, in a few words
	// Run builds the query in a new pipeline that reads src, runs it on r
	// and returns its results; with keep it also returns the elements.
	Run func(ctx context.Context, r df.Runner, src df.BoundedSource[model.Event], keep bool) (Results, error)
	// RunFrom is Run over the events that events adds to the pipeline
	// (Parquet files, for instance).
	RunFrom func(ctx context.Context, r df.Runner, events func(df.Scope) df.PCollection[model.Event], keep bool) (Results, error)
	// Reference computes the same results with the hand-written
	// single-goroutine reference.
	Reference func(events iter.Seq[model.Event], keep bool) Results
}

// Results are the outputs of one run of a query.
type Results struct {
	Fingerprint model.Fingerprint
	// Elements, when kept, are the results sorted by their hash, so that
	// equal multisets compare equal with go-cmp.
	Elements []model.Hashable
}

// All is every query, in order.
var All = []Query{
	define("q0", "pass-through", Q0, Ref0),
	define("q1", "currency conversion", Q1, Ref1),
	define("q2", "selection", Q2, Ref2),
	define("q3", "local item suggestion", Q3, Ref3),
	define("q4", "average price per category", Q4, Ref4),
	define("q5", "hot items", Q5, Ref5),
	define("q6", "average selling price by seller", Q6, Ref6),
	define("q7", "highest bid", Q7, Ref7),
	define("q8", "monitor new users", Q8, Ref8),
	define("q9", "winning bids", Q9, Ref9),
	define("q11", "user sessions", Q11, Ref11),
	define("q12", "processing-time windows", Q12, Ref12),
}

// ByName returns the query called name ("q5").
func ByName(name string) (Query, bool) {
	for _, q := range All {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}

func define[T model.Hashable](name, title string,
	build func(df.Scope, df.PCollection[model.Event]) df.PCollection[T],
	ref func(iter.Seq[model.Event], func(T))) Query {
	return Query{
		Name:  name,
		Title: title,
		Run: func(ctx context.Context, r df.Runner, src df.BoundedSource[model.Event], keep bool) (Results, error) {
			return Run(ctx, r, src, build, keep)
		},
		RunFrom: func(ctx context.Context, r df.Runner, events func(df.Scope) df.PCollection[model.Event], keep bool) (Results, error) {
			return RunFrom(ctx, r, events, build, keep)
		},
		Reference: func(events iter.Seq[model.Event], keep bool) Results {
			// The same work per result as ResultSink's.
			var res Results
			var kept []T
			ref(events, func(v T) {
				res.Fingerprint.Add(v.Hash())
				if keep {
					kept = append(kept, v)
				}
			})
			if keep {
				res.Elements = sortedByHash(kept)
			}
			return res
		},
	}
}

// Run builds query over src, runs it on r, and returns its results.
func Run[T model.Hashable](ctx context.Context, r df.Runner, src df.BoundedSource[model.Event],
	query func(df.Scope, df.PCollection[model.Event]) df.PCollection[T], keep bool) (Results, error) {
	return RunFrom(ctx, r, func(s df.Scope) df.PCollection[model.Event] { return df.Read(s, "Events", src) }, query, keep)
}

// RunFrom builds query over the events that events adds to a new
// pipeline, runs it on r, and returns its results.
func RunFrom[T model.Hashable](ctx context.Context, r df.Runner, events func(df.Scope) df.PCollection[model.Event],
	query func(df.Scope, df.PCollection[model.Event]) df.PCollection[T], keep bool) (Results, error) {
	p := df.NewPipeline()
	s := p.Root()
	evs := events(s)
	sink := &ResultSink[T]{Keep: keep}
	df.Write(s, "Results", df.Sink[T](sink), query(s, evs))
	if _, err := df.Execute(ctx, r, p); err != nil {
		return Results{}, err
	}
	res := Results{Fingerprint: sink.Fingerprint()}
	if keep {
		res.Elements = sortedByHash(sink.Elements())
	}
	return res, nil
}

func sortedByHash[T model.Hashable](in []T) []model.Hashable {
	xs := make([]model.Hashable, len(in)) // not nil, so that no results compare equal however they were collected
	for i, x := range in {
		xs[i] = x
	}
	slices.SortStableFunc(xs, func(a, b model.Hashable) int {
		ha, hb := a.Hash(), b.Hash()
		switch {
		case ha < hb:
			return -1
		case ha > hb:
			return 1
		}
		return 0
	})
	return xs
}

// ResultSink fingerprints what is written to it and, with Keep, keeps it.
// Each shard writes on its own; Commit adds the shards up.
type ResultSink[T model.Hashable] struct {
	Keep bool

	mu struct {
		sync.Mutex
		fp    model.Fingerprint // of every committed shard
		elems []T               // with Keep
	}
}

var _ df.Sink[model.Bid] = (*ResultSink[model.Bid])(nil)

type resultWriter[T model.Hashable] struct {
	keep  bool
	fp    model.Fingerprint
	elems []T
}

// NewWriter implements dataflow.Sink.
func (s *ResultSink[T]) NewWriter(context.Context, int) (df.SinkWriter[T], error) {
	return &resultWriter[T]{keep: s.Keep}, nil
}

// Commit implements dataflow.Sink.
func (s *ResultSink[T]) Commit(_ context.Context, results []any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range results {
		w, ok := r.(*resultWriter[T])
		if !ok {
			return fmt.Errorf("nexmark: result sink got a shard result of type %T", r)
		}
		s.mu.fp.Merge(w.fp)
		s.mu.elems = append(s.mu.elems, w.elems...)
	}
	return nil
}

// Abort implements dataflow.Sink.
func (s *ResultSink[T]) Abort(context.Context, []any) error { return nil }

// Fingerprint returns the fingerprint of the committed results.
func (s *ResultSink[T]) Fingerprint() model.Fingerprint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.fp
}

// Elements returns the committed results (with Keep), in no particular order.
func (s *ResultSink[T]) Elements() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.mu.elems)
}

func (w *resultWriter[T]) Write(b []df.Elem[T]) error {
	for i := range b {
		w.fp.Add(b[i].Value.Hash())
		if w.keep {
			w.elems = append(w.elems, b[i].Value)
		}
	}
	return nil
}

func (w *resultWriter[T]) Close(context.Context) (any, error) { return w, nil }
