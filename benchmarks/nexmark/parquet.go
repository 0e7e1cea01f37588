package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sluicedata/sluice/benchmarks/nexmark/generator"
	"github.com/sluicedata/sluice/benchmarks/nexmark/model"
	"github.com/sluicedata/sluice/io/parquetio"
	df "github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/direct"
)

// writeParquet writes events [0, n) of g as Parquet files in dir (with the
// direct runner), unless dir already holds them from an earlier run with
// the same n, as its marker file says.
func writeParquet(ctx context.Context, g *generator.Generator, n int64, dir string) error {
	marker := filepath.Join(dir, fmt.Sprintf(".nexmark-%d-events", n))
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	p := df.NewPipeline()
	s := p.Root()
	events := df.Read(s, "Events", df.BoundedSource[model.Event](generator.NewSource(g, n)))
	parquetio.Write(s, "Parquet", dir, events)
	if _, err := df.Execute(ctx, direct.New(direct.Options{Progress: direct.ProgressOff}), p); err != nil {
		return fmt.Errorf("write the events as Parquet: %w", err)
	}
	return os.WriteFile(marker, nil, 0o644)
}

// parquetEvents reads the events back from dir, timestamped by their own
// time as the generator does.
func parquetEvents(s df.Scope, dir string) df.PCollection[model.Event] {
	return parquetio.Read[model.Event](s, "Events", dir, parquetio.EventTime(func(e model.Event) time.Time {
		return time.UnixMilli(int64(e.Timestamp()))
	}))
}
