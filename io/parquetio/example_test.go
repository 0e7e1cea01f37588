package parquetio_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/sluicedata/sluice/io/parquetio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

type Sale struct {
	TS       time.Time `parquet:"ts,timestamp(millisecond)"`
	Category string    `parquet:"category,dict"`
	Cents    int64     `parquet:"cents"`
}

// collect is a sink that keeps what it is given.
type collect struct {
	mu  sync.Mutex
	out []string
}

func (c *collect) NewWriter(context.Context, int) (dataflow.SinkWriter[string], error) { return c, nil }
func (c *collect) Write(b []dataflow.Elem[string]) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range b {
		c.out = append(c.out, e.Value)
	}
	return nil
}
func (c *collect) Close(context.Context) (any, error)  { return nil, nil }
func (c *collect) Commit(context.Context, []any) error { return nil }
func (c *collect) Abort(context.Context, []any) error  { return nil }

// Write sales partitioned by category, then read one day of one category
// back: the other partition is never opened, and the event times come from
// the ts column.
func Example() {
	dir, err := os.MkdirTemp("", "sales")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	runner := direct.New(direct.Options{Progress: direct.ProgressOff})
	day := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)

	p := dataflow.NewPipeline()
	s := p.Root()
	sales := transforms.Create(s, "Sales",
		Sale{day.Add(-time.Hour), "books", 1200},
		Sale{day.Add(time.Hour), "books", 800},
		Sale{day.Add(2 * time.Hour), "toys", 2500},
		Sale{day.Add(25 * time.Hour), "books", 990},
	)
	parquetio.Write(s, "Write", dir, sales, parquetio.PartitionBy("category", func(x Sale) string { return x.Category }))
	if _, err := dataflow.Execute(ctx, runner, p); err != nil {
		fmt.Println(err)
		return
	}

	var stats parquetio.Stats
	p = dataflow.NewPipeline()
	s = p.Root()
	books := parquetio.Read[Sale](s, "Read", dir,
		parquetio.Where("category", parquetio.Eq, "books"),
		parquetio.EventTimeColumn("ts"), parquetio.TimeRange(day, day.Add(24*time.Hour)),
		parquetio.WithStats(&stats))
	lines := dataflow.ParDo(s, "Format", dataflow.DoFnFunc[Sale, string](
		func(c *dataflow.Context, x Sale, emit dataflow.Emitter[string]) error {
			emit.Emit(fmt.Sprintf("%v %s %d", c.Timestamp(), x.Category, x.Cents))
			return nil
		}), books)
	out := &collect{}
	dataflow.Write(s, "Collect", dataflow.Sink[string](out), lines)
	if _, err := dataflow.Execute(ctx, runner, p); err != nil {
		fmt.Println(err)
		return
	}
	slices.Sort(out.out)
	for _, l := range out.out {
		fmt.Println(l)
	}
	st := stats.Snapshot()
	fmt.Printf("files read %d, pruned %d\n", st.Files, st.FilesPruned)
	// Output:
	// 2024-03-05T01:00:00.000Z books 800
	// files read 1, pruned 1
}
