package memio_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

func TestCollectCommitsOnlySuccessfulRuns(t *testing.T) {
	p := dataflow.NewPipeline()
	s := p.Root()
	out := memio.Collect(s, "Out", transforms.Sequence(s, "Seq", 0, 3000))
	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{}), p); err != nil {
		t.Fatal(err)
	}
	got := out.Values()
	slices.Sort(got)
	if len(got) != 3000 || got[0] != 0 || got[2999] != 2999 || !out.Committed() {
		t.Fatalf("got %d values, committed %t", len(got), out.Committed())
	}

	p = dataflow.NewPipeline()
	s = p.Root()
	failing := transforms.MapErr(s, "Fail", func(i int64) (int64, error) {
		if i == 2000 {
			return 0, errors.New("boom")
		}
		return i, nil
	}, transforms.Sequence(s, "Seq", 0, 3000))
	out = memio.Collect(s, "Out", failing)
	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{}), p); err == nil {
		t.Fatal("failing run succeeded")
	}
	if len(out.Elems()) != 0 || out.Committed() || !out.Aborted() {
		t.Fatalf("failed run left %d elements, committed %t, aborted %t", len(out.Elems()), out.Committed(), out.Aborted())
	}
}

func ExampleCollect() {
	p := dataflow.NewPipeline()
	s := p.Root()
	words := transforms.Create(s, "Words", "a", "b", "a")
	counts := memio.Collect(s, "Counts", transforms.CountPerElement(s, "Count", words))
	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{}), p); err != nil {
		fmt.Println(err)
		return
	}
	got := counts.Values()
	slices.SortFunc(got, func(x, y dataflow.KV[string, int64]) int { return int(x.Value - y.Value) })
	fmt.Println(got)
	// Output: [(b, 1) (a, 2)]
}
