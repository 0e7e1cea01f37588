package transforms_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

// A CoGroupByKey of two inputs, read back through the inputs' typed handles.
// (collect is this package's test sink: it gathers a collection's elements.)
func ExampleNewCoGroup() {
	p := dataflow.NewPipeline()
	s := p.Root()
	emails := transforms.Create(s, "Emails", transforms.Pair("amy", "amy@example.com"), transforms.Pair("carl", "carl@example.com"))
	phones := transforms.Create(s, "Phones", transforms.Pair("amy", "555-1234"), transforms.Pair("amy", "555-9999"), transforms.Pair("james", "555-0000"))

	cg := transforms.NewCoGroup[string](s, "Contacts")
	emailIn := transforms.AddCoGroupInput(cg, emails)
	phoneIn := transforms.AddCoGroupInput(cg, phones)
	lines := transforms.Map(s, "Format", func(g transforms.KV[string, transforms.CoGroupResult]) string {
		return fmt.Sprintf("%s: emails %v, phones %v", g.Key,
			slices.Sorted(emailIn.Values(g.Value)), slices.Sorted(phoneIn.Values(g.Value)))
	}, cg.Apply())
	out := collect(s, "Out", lines)

	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{}), p); err != nil {
		fmt.Println("run:", err)
		return
	}
	for _, l := range slices.Sorted(slices.Values(out.Values())) {
		fmt.Println(l)
	}
	// Output:
	// amy: emails [amy@example.com], phones [555-1234 555-9999]
	// carl: emails [carl@example.com], phones []
	// james: emails [], phones [555-0000]
}

// Quartiles of a small input are exact.
func ExampleApproximateQuantiles() {
	p := dataflow.NewPipeline()
	s := p.Root()
	nums := transforms.Sequence(s, "Nums", 0, 101)
	out := collect(s, "Out", transforms.ApproximateQuantiles(s, "Quartiles", 5, cmp.Less[int64], nums))

	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{}), p); err != nil {
		fmt.Println("run:", err)
		return
	}
	fmt.Println(out.Values())
	// Output:
	// [[0 25 50 75 100]]
}

// Counting per fixed window: Beam's classic windowed word count.
func ExampleCountPerElement() {
	p := dataflow.NewPipeline()
	s := p.Root()
	words := transforms.CreateTimestamped(s, "Words", []transforms.Timestamped[string]{
		{Value: "a", Time: 1000}, {Value: "b", Time: 2000}, {Value: "a", Time: 3000}, {Value: "a", Time: 61_000},
	})
	perMinute := transforms.WindowInto(s, "Minutes", dataflow.Fixed(time.Minute), words)
	out := collect(s, "Out", transforms.CountPerElement(s, "Count", perMinute))

	if _, err := dataflow.Execute(context.Background(), direct.New(direct.Options{}), p); err != nil {
		fmt.Println("run:", err)
		return
	}
	var lines []string
	for _, e := range out.Elems() {
		lines = append(lines, fmt.Sprintf("%v %s=%d", e.Window, e.Value.Key, e.Value.Value))
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// [1970-01-01T00:00:00.000Z, 1970-01-01T00:01:00.000Z) a=2
	// [1970-01-01T00:00:00.000Z, 1970-01-01T00:01:00.000Z) b=1
	// [1970-01-01T00:01:00.000Z, 1970-01-01T00:02:00.000Z) a=1
}
