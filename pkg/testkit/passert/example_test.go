package passert_test

import (
	"context"
	"fmt"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/testkit/passert"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

func Example() {
	p := dataflow.NewPipeline()
	s := p.Root()
	words := transforms.Create(s, "Words", "a", "b", "a")
	counts := transforms.CountPerElement(s, "Count", words)
	passert.Equals(s, "CheckCounts", counts, dataflow.Pair("a", int64(2)), dataflow.Pair("b", int64(1)))
	passert.That(s, "OnePane", counts).InOnlyPane().Count(2)

	_, err := passert.Execute(context.Background(), direct.New(direct.Options{}), p)
	fmt.Println(passert.Assertions(p), err)
	// Output: [CheckCounts OnePane] <nil>
}
