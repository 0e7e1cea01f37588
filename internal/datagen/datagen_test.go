package datagen

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

func TestWindowsumFilesHoldTheWorkload(t *testing.T) {
	dir := t.TempDir()
	w, err := Generate(context.Background(), Config{Kind: "windowsum", Rows: 2500, Files: 3, Span: time.Hour, RowGroupRows: 1000, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if w.Rows != 2500 || len(w.Files) != 3 {
		t.Fatalf("wrote %d rows in %d files", w.Rows, len(w.Files))
	}
	var got []Event
	for _, f := range w.Files {
		rows, err := parquet.ReadFile[Event](f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rows...)
	}
	if len(got) != 2500 {
		t.Fatalf("read %d rows", len(got))
	}
	for i, e := range got { // files hold consecutive slices, in time order
		if e != EventAt(int64(i)) {
			t.Fatalf("row %d is %+v, want %+v", i, e, EventAt(int64(i)))
		}
	}
}

func TestOrdersAreDeterministicAndInSpan(t *testing.T) {
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{Kind: "orders", Rows: 500, Files: 2, Start: start, Span: 24 * time.Hour, Seed: 7, Dir: t.TempDir()}
	if _, err := Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for i := range int64(500) {
		if OrderAt(cfg, i) != OrderAt(cfg, i) {
			t.Fatalf("order %d differs between calls", i)
		}
	}
	entries, _ := os.ReadDir(cfg.Dir)
	if len(entries) != 2 {
		t.Fatalf("%d files written", len(entries))
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{
		{Kind: "nope", Files: 1, Span: time.Hour, Dir: "x"},
		{Kind: "orders", Files: 0, Span: time.Hour, Dir: "x"},
		{Kind: "orders", Files: 1, Span: time.Hour},
		{Kind: "windowsum", Files: 1, Span: time.Hour, Dir: "x", ByDay: true},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
