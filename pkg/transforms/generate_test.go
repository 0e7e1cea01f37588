package transforms_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

func sourceOf[T any](t *testing.T, pc dataflow.PCollection[T]) dataflow.UnboundedSource[T] {
	t.Helper()
	spec, ok := pc.Coll().Producer.Spec.(*dataflow.ReadUnboundedSpec)
	if !ok {
		t.Fatalf("producer is %T", pc.Coll().Producer.Spec)
	}
	return spec.Source.(interface{ Unwrap() any }).Unwrap().(dataflow.UnboundedSource[T])
}

func genFn(i int64) (int64, dataflow.EventTime) { return i * 10, dataflow.EventTime(i) }

// readAll reads a split to its end, restarting from its checkpointed
// position every `restartEvery` reads (0: never).
func readAll(t *testing.T, src dataflow.UnboundedSource[int64], restartEvery int) []int64 {
	t.Helper()
	ctx := context.Background()
	r, err := src.Open(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for reads := 1; ; reads++ {
		batch, err := r.Read(ctx, nil, 7)
		for _, e := range batch {
			got = append(got, e.Value)
		}
		if errors.Is(err, dataflow.ErrEndOfInput) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		if restartEvery > 0 && reads%restartEvery == 0 {
			pos, _ := r.Position()
			r.Close()
			if r, err = src.Open(ctx, pos); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestGenerateSplitsAndRestarts(t *testing.T) {
	p := dataflow.NewPipeline()
	pc := transforms.Generate(p.Root(), "Gen", genFn, transforms.GeneratorOptions{Count: 1000})
	if pc.IsBounded() {
		t.Fatal("generator output is bounded")
	}
	splits, err := sourceOf(t, pc).Split(context.Background(), 3)
	if err != nil || len(splits) != 3 {
		t.Fatalf("splits %d, %v", len(splits), err)
	}
	for _, restart := range []int{0, 1, 5} {
		var all []int64
		for _, sp := range splits {
			all = append(all, readAll(t, sp, restart)...)
		}
		slices.Sort(all)
		if len(all) != 1000 {
			t.Fatalf("restart every %d: %d elements, want 1000", restart, len(all))
		}
		for i, v := range all {
			if v != int64(i)*10 {
				t.Fatalf("restart every %d: element %d is %d (lost or duplicated)", restart, i, v)
			}
		}
	}
}

func TestGenerateRateAndWatermark(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	p := dataflow.NewPipeline()
	pc := transforms.Generate(p.Root(), "Gen", genFn, transforms.GeneratorOptions{Rate: 100, MaxOutOfOrder: 5 * time.Millisecond, Clock: clock})
	r, err := sourceOf(t, pc).Open(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := r.Read(context.Background(), nil, 1000); len(b) != 0 {
		t.Fatalf("read %d elements before any time passed", len(b))
	}
	if wm, _ := r.Watermark(now); wm != dataflow.MinTime {
		t.Fatalf("watermark before any element: %v", wm)
	}
	now = now.Add(500 * time.Millisecond)
	b, _ := r.Read(context.Background(), nil, 1000)
	if len(b) != 50 {
		t.Fatalf("read %d elements after 0.5 s at 100/s, want 50", len(b))
	}
	if wm, idle := r.Watermark(now); wm != 49-5-1 || idle {
		t.Fatalf("watermark %d idle %t, want 43 (max 49 - 5 ms - 1)", wm, idle)
	}
}

func TestIdleSplitStopsHoldingTheWatermark(t *testing.T) {
	now := time.Unix(0, 0)
	est := dataflow.BoundedOutOfOrderness{MaxDelay: time.Second, IdleTimeout: 10 * time.Second}
	est.Start(now)
	if _, idle := est.Watermark(now.Add(5 * time.Second)); idle {
		t.Fatal("idle too early")
	}
	if _, idle := est.Watermark(now.Add(10 * time.Second)); !idle {
		t.Fatal("a split that returned nothing for the idle timeout is not idle")
	}
	est.Observe(5000, now.Add(11*time.Second))
	if wm, idle := est.Watermark(now.Add(12 * time.Second)); idle || wm != 3999 {
		t.Fatalf("after an element: wm %d idle %t", wm, idle)
	}
}

func TestDirectRunnerRejectsUnboundedInput(t *testing.T) {
	p := dataflow.NewPipeline()
	transforms.Generate(p.Root(), "Gen", genFn, transforms.GeneratorOptions{})
	_, err := dataflow.Execute(context.Background(), direct.New(direct.Options{}), p)
	if err == nil || !strings.Contains(err.Error(), "Gen.out is unbounded") {
		t.Fatalf("got %v", err)
	}
}
