package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/internal/datagen"
)

// TestReport runs the example on generated orders and checks both outputs
// against a plain loop over the same orders.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	gen := datagen.Config{Kind: "orders", Rows: 30_000, Files: 3, Start: time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC), Span: 6 * time.Hour, Seed: 7, Dir: filepath.Join(dir, "orders"), RowGroupRows: 4096}
	if _, err := datagen.Generate(context.Background(), gen); err != nil {
		t.Fatal(err)
	}
	from, to := gen.Start.Add(2*time.Hour), gen.Start.Add(4*time.Hour)
	cfg := config{input: gen.Dir, output: filepath.Join(dir, "out"), top: 2, from: from, to: to, parallelism: 2}
	var out bytes.Buffer
	if err := mainErr(context.Background(), cfg, 0, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "row groups pruned by statistics") {
		t.Fatalf("report:\n%s", out.String())
	}

	// The same computation, by hand.
	type key struct {
		start    time.Time
		category string
	}
	want := map[key]*Revenue{}
	for i := range gen.Rows {
		o := datagen.OrderAt(gen, i)
		if o.TS.Before(from) || !o.TS.Before(to) {
			continue
		}
		last := o.TS.Truncate(windowPeriod)
		for s := last; s.After(o.TS.Add(-windowSize)); s = s.Add(-windowPeriod) {
			k := key{s, o.Category}
			r := want[k]
			if r == nil {
				r = &Revenue{WindowStart: s, WindowEnd: s.Add(windowSize), Category: o.Category}
				want[k] = r
			}
			r.RevenueCents += o.AmountCents
			r.Orders++
		}
	}
	var wantRev []Revenue
	for _, r := range want {
		wantRev = append(wantRev, *r)
	}
	byKey := func(a, b Revenue) int {
		if c := a.WindowStart.Compare(b.WindowStart); c != 0 {
			return c
		}
		return strings.Compare(a.Category, b.Category)
	}
	slices.SortFunc(wantRev, byKey)
	gotRev := readDir[Revenue](t, filepath.Join(cfg.output, "revenue"))
	slices.SortFunc(gotRev, byKey)
	if diff := cmp.Diff(wantRev, gotRev); diff != "" {
		t.Fatalf("revenue (-want +got):\n%s", diff)
	}

	var wantTop []Ranked
	for i := 0; i < len(wantRev); {
		j := i
		for j < len(wantRev) && wantRev[j].WindowStart.Equal(wantRev[i].WindowStart) {
			j++
		}
		win := slices.Clone(wantRev[i:j])
		slices.SortFunc(win, func(a, b Revenue) int {
			switch {
			case byRevenue(a, b):
				return 1
			case byRevenue(b, a):
				return -1
			}
			return 0
		})
		for r, v := range win[:min(2, len(win))] {
			wantTop = append(wantTop, Ranked{WindowStart: v.WindowStart, Rank: int32(r + 1), Category: v.Category, RevenueCents: v.RevenueCents, Orders: v.Orders})
		}
		i = j
	}
	gotTop, err := readTop(filepath.Join(cfg.output, "top"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantTop, gotTop); diff != "" {
		t.Fatalf("top (-want +got):\n%s", diff)
	}
}

func readDir[T any](t *testing.T, dir string) []T {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no output in %s: %v", dir, err)
	}
	var out []T
	for _, f := range files {
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}
