package direct_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/io/memio"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	tf "github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

// bufferFn buffers each key's values per window in a bag and emits them,
// with a running count from value state, when the end-of-window timer fires.
type bufferFn struct {
	buf    *df.BagState[int]
	count  *df.ValueState[int]
	sum    *df.CombiningState[int, int64, int64]
	seen   *df.SetState[int]
	last   *df.MapState[string, int]
	flush  *df.Timer
	report *df.Timer
}

func newBufferFn() *bufferFn {
	return &bufferFn{
		buf:    df.NewBagState[int]("buf"),
		count:  df.NewValueState[int]("count"),
		sum:    df.NewCombiningState[int, int64, int64]("sum", sumAdapter{}.fn()),
		seen:   df.NewSetState[int]("seen"),
		last:   df.NewMapState[string, int]("last"),
		flush:  df.NewEventTimer("flush"),
		report: df.NewProcessingTimer("report"),
	}
}

func (f *bufferFn) ProcessElement(c *df.Context, kv df.KV[string, int], emit df.Emitter[string]) error {
	f.buf.Add(c, kv.Value)
	n, _ := f.count.Read(c)
	f.count.Write(c, n+1)
	f.sum.Add(c, kv.Value)
	f.seen.Add(c, kv.Value%3)
	f.last.Put(c, "v", kv.Value)
	f.flush.Set(c, c.Window().MaxTimestamp())
	f.report.Set(c, 0)
	return nil
}

func (f *bufferFn) OnTimer(c *df.Context, key string, t df.TimerFiring, emit df.Emitter[string]) error {
	switch t.Family {
	case "flush":
		vals := f.buf.Read(c)
		slices.Sort(vals)
		n, _ := f.count.Read(c)
		var seen []int
		for v := range f.seen.All(c) {
			seen = append(seen, v)
		}
		slices.Sort(seen)
		last, _ := f.last.Get(c, "v")
		emit.Emit(fmt.Sprintf("%s %v %v n=%d sum=%d mod3=%v last=%d at=%v", key, c.Window(), vals, n, f.sum.Read(c), seen, last, c.Timestamp()))
		f.buf.Clear(c)
		f.count.Clear(c)
		if _, ok := f.count.Read(c); ok {
			return fmt.Errorf("count survived Clear")
		}
	case "report":
		emit.Emit(fmt.Sprintf("%s report %v", key, c.Window()))
	}
	return nil
}

// sumAdapter lets the test take a CombineFn[int,int64,int64] from SumFn.
type sumAdapter struct{}

func (sumAdapter) fn() df.CombineFn[int, int64, int64] { return intSum{} }

type intSum struct{}

func (intSum) CreateAccumulator() int64           { return 0 }
func (intSum) AddInput(a int64, x int) int64      { return a + int64(x) }
func (intSum) MergeAccumulators(a, b int64) int64 { return a + b }
func (intSum) ExtractOutput(a int64) int64        { return a }

func TestStatefulParDoStateAndTimers(t *testing.T) {
	for _, par := range []int{1, 3} {
		t.Run(fmt.Sprint("par=", par), func(t *testing.T) {
			p := df.NewPipeline()
			s := p.Root()
			in := tf.CreateTimestamped(s, "In", []tf.Timestamped[df.KV[string, int]]{
				{Value: df.KV[string, int]{Key: "a", Value: 1}, Time: 100},
				{Value: df.KV[string, int]{Key: "a", Value: 5}, Time: 900},
				{Value: df.KV[string, int]{Key: "b", Value: 2}, Time: 200},
				{Value: df.KV[string, int]{Key: "a", Value: 7}, Time: 1500},
			})
			w := df.WindowInto(s, "Window", df.Fixed(time.Second), in)
			out := df.StatefulParDo(s, "Buffer", df.DoFn[df.KV[string, int], string](newBufferFn()), w)
			sink := memio.NewCollector[string]()
			df.Write(s, "Out", sink, out)
			if err := run(t, direct.Options{Parallelism: par}, p); err != nil {
				t.Fatal(err)
			}
			got := sink.Values()
			slices.Sort(got)
			want := []string{
				"a [1970-01-01T00:00:00.000Z, 1970-01-01T00:00:01.000Z) [1 5] n=2 sum=6 mod3=[1 2] last=5 at=1970-01-01T00:00:00.999Z",
				"a [1970-01-01T00:00:01.000Z, 1970-01-01T00:00:02.000Z) [7] n=1 sum=7 mod3=[1] last=7 at=1970-01-01T00:00:01.999Z",
				"a report [1970-01-01T00:00:00.000Z, 1970-01-01T00:00:01.000Z)",
				"a report [1970-01-01T00:00:01.000Z, 1970-01-01T00:00:02.000Z)",
				"b [1970-01-01T00:00:00.000Z, 1970-01-01T00:00:01.000Z) [2] n=1 sum=2 mod3=[2] last=2 at=1970-01-01T00:00:00.999Z",
				"b report [1970-01-01T00:00:00.000Z, 1970-01-01T00:00:01.000Z)",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
		})
	}
}

type lateTimerFn struct{ t *df.Timer }

func (f *lateTimerFn) ProcessElement(c *df.Context, kv df.KV[string, int], emit df.Emitter[int]) error {
	f.t.Set(c, c.Window().End+5)
	return nil
}

func (f *lateTimerFn) OnTimer(*df.Context, string, df.TimerFiring, df.Emitter[int]) error { return nil }

func TestTimerAfterWindowExpiryFails(t *testing.T) {
	p := df.NewPipeline()
	s := p.Root()
	in := df.WindowInto(s, "W", df.Fixed(time.Second), tf.Create(s, "In", df.KV[string, int]{Key: "k", Value: 1}))
	df.StatefulParDo(s, "Late", df.DoFn[df.KV[string, int], int](&lateTimerFn{t: df.NewEventTimer("t")}), in)
	err := run(t, direct.Options{}, p)
	if err == nil || !strings.Contains(err.Error(), `"Late"`) || !strings.Contains(err.Error(), "expires") {
		t.Fatalf("got %v", err)
	}
}

type noHandlerFn struct{ t *df.Timer }

func (f *noHandlerFn) ProcessElement(*df.Context, df.KV[string, int], df.Emitter[int]) error {
	return nil
}

func TestTimersNeedOnTimer(t *testing.T) {
	p := df.NewPipeline()
	s := p.Root()
	df.StatefulParDo(s, "NoHandler", df.DoFn[df.KV[string, int], int](&noHandlerFn{t: df.NewEventTimer("t")}), tf.Create(s, "In", df.KV[string, int]{Key: "k", Value: 1}))
	if _, err := df.Execute(context.Background(), direct.New(direct.Options{}), p); err == nil || !strings.Contains(err.Error(), "OnTimer") {
		t.Fatalf("got %v", err)
	}
}
