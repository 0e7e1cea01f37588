package beam

import (
	"context"
	"testing"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
)

// TestCombineLiftsOnBeam checks which combines become Beam's CombinePerKey
// (lifted by Beam's runners) and which run as their expansion.
func TestCombineLiftsOnBeam(t *testing.T) {
	fixed := dataflow.Fixed(10 * time.Second)
	for _, tc := range []struct {
		name string
		win  func(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[string, int]]) dataflow.PCollection[dataflow.KV[string, int]]
		lift bool
	}{
		{"global window", func(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[string, int]]) dataflow.PCollection[dataflow.KV[string, int]] {
			return in
		}, true},
		{"fixed windows", func(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[string, int]]) dataflow.PCollection[dataflow.KV[string, int]] {
			return dataflow.WindowInto(s, "Window", fixed, in)
		}, true},
		{"earliest timestamp", func(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[string, int]]) dataflow.PCollection[dataflow.KV[string, int]] {
			return dataflow.WindowInto(s, "Window", fixed, in, dataflow.WithTimestampCombiner(dataflow.Earliest))
		}, false},
		{"allowed lateness", func(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[string, int]]) dataflow.PCollection[dataflow.KV[string, int]] {
			return dataflow.WindowInto(s, "Window", fixed, in, dataflow.AllowedLateness(time.Minute))
		}, false},
		{"sessions", func(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[string, int]]) dataflow.PCollection[dataflow.KV[string, int]] {
			return dataflow.WindowInto(s, "Window", dataflow.Sessions(time.Second), in)
		}, false},
		{"count trigger", func(s dataflow.Scope, in dataflow.PCollection[dataflow.KV[string, int]]) dataflow.PCollection[dataflow.KV[string, int]] {
			return dataflow.WindowInto(s, "Window", fixed, in, dataflow.Triggering(dataflow.Repeatedly(dataflow.AfterCount(2))), dataflow.DiscardingPanes())
		}, false},
	} {
		p := dataflow.NewPipeline()
		s := p.Root()
		in := transforms.Create(s, "Values", dataflow.Pair("a", 1), dataflow.Pair("b", 2))
		transforms.SumPerKey(s, "Sum", tc.win(s, in))
		pl, err := newPlan(p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if lifted := len(pl.liftedGBK) == 1; lifted != tc.lift {
			t.Errorf("%s: lifted on Beam = %v, want %v", tc.name, lifted, tc.lift)
		}
	}
}

// TestLiftedCombineOnPrism runs lifted combines whose accumulators Beam
// encodes between its precombine and merge steps (a struct accumulator for
// the mean), over many keys and windows.
func TestLiftedCombineOnPrism(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	const n, keys = 20_000, 7
	nums := transforms.Sequence(s, "Sequence", 0, n)
	keyed := transforms.Map(s, "Key", func(i int64) dataflow.KV[int64, int64] { return dataflow.Pair(i%keys, i) }, nums)
	stamped := transforms.WithTimestamps(s, "Timestamps", func(kv dataflow.KV[int64, int64]) dataflow.EventTime { return dataflow.EventTime(kv.Value) }, keyed)
	kvs := dataflow.WindowInto(s, "Window", dataflow.Fixed(5*time.Second), stamped)
	sums := transforms.SumPerKey(s, "Sum", kvs)
	means := transforms.MeanPerKey(s, "Mean", kvs)
	wantSums := map[dataflow.Window]map[int64]int64{}
	wantCounts := map[dataflow.Window]map[int64]int64{}
	for i := int64(0); i < n; i++ {
		w := dataflow.IntervalWindow(dataflow.EventTime(i/5000*5000), dataflow.EventTime(i/5000*5000+5000))
		if wantSums[w] == nil {
			wantSums[w], wantCounts[w] = map[int64]int64{}, map[int64]int64{}
		}
		wantSums[w][i%keys] += i
		wantCounts[w][i%keys]++
	}
	var want []passert.Windowed[dataflow.KV[int64, float64]]
	var wantSum []passert.Windowed[dataflow.KV[int64, int64]]
	for w, m := range wantSums {
		for k, sum := range m {
			wantSum = append(wantSum, passert.At(dataflow.Pair(k, sum), w.MaxTimestamp(), w))
			want = append(want, passert.At(dataflow.Pair(k, float64(sum)/float64(wantCounts[w][k])), w.MaxTimestamp(), w))
		}
	}
	passert.That(s, "Sums", sums).WindowedEquals(wantSum...)
	passert.That(s, "Means", means).WindowedEquals(want...)
	passert.That(s, "OnTime", sums).InOnlyPane().Count(len(wantSum))
	pl, err := newPlan(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.liftedGBK) != 2 {
		t.Fatalf("%d combines lifted on Beam, want 2", len(pl.liftedGBK))
	}
	res, err := New(Options{}).Run(context.Background(), p, dataflow.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
