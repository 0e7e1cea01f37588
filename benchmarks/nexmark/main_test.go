package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUnknownRunnersFailBeforeRunning(t *testing.T) {
	for runners, want := range map[string]string{
		"direct,flink": `unknown runner "flink"`,
		"":             "no runner given",
	} {
		var out bytes.Buffer
		dir := t.TempDir()
		err := run(context.Background(), options{runners: runners, queries: "all", events: 1000, source: "generate", repeat: 1, rate: 10_000, out: dir}, &out, &out)
		var usage usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), want) {
			t.Errorf("-runners=%q: %v, want a usage error containing %q", runners, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("-runners=%q printed %q before failing", runners, out.String())
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("-runners=%q wrote %d files", runners, len(entries))
		}
	}
}

// TestEveryRunner runs queries on the three runners: they agree with the
// baseline, and a query Prism cannot run is reported as failed, with its
// reason, while the others go on.
func TestEveryRunner(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), options{runners: "direct,streaming,prism", queries: "q0,q5,q11", events: 2000, source: "generate", repeat: 1, rate: 10_000, out: t.TempDir()}, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errOut.String())
	}
	table := out.String()
	for _, want := range []string{"direct ev/s", "streaming ev/s", "prism ev/s", "q11 on prism failed:"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "NO") {
		t.Errorf("a runner disagrees with the baseline:\n%s", table)
	}
}

func TestBadFlags(t *testing.T) {
	for _, o := range []options{
		{runners: "direct", queries: "q10", events: 10, source: "generate", repeat: 1, rate: 10_000},
		{runners: "direct", queries: "all", events: -1, source: "generate", repeat: 1, rate: 10_000},
		{runners: "direct", queries: "all", events: 10, source: "parquet", repeat: 1, rate: 10_000},
		{runners: "direct", queries: "all", events: 10, source: "generate", repeat: 0, rate: 10_000},
		{runners: "direct", queries: "all", events: 10, source: "generate", repeat: 1, rate: 0},
	} {
		var out bytes.Buffer
		err := run(context.Background(), o, &out, &out)
		var usage usageError
		if !errors.As(err, &usage) {
			t.Errorf("%+v: %v, want a usage error", o, err)
		}
	}
}

// TestCommand runs every query on the direct runner at a small size, in
// both source modes, and checks the table, the CSV and the PNG.
func TestCommand(t *testing.T) {
	for _, source := range []string{"generate", "memory"} {
		t.Run(source, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			o := options{runners: "direct", queries: "all", events: 5000, source: source, parallelism: 2, repeat: 1, rate: 1000, out: dir}
			if err := run(context.Background(), o, &stdout, &stderr); err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			table := stdout.String()
			for _, want := range []string{"q0", "q12", "baseline ev/s", "direct ev/s", "vs baseline", "winning bids"} {
				if !strings.Contains(table, want) {
					t.Errorf("table lacks %q:\n%s", want, table)
				}
			}
			if strings.Contains(table, "NO") {
				t.Errorf("a runner disagrees:\n%s", table)
			}
			f, err := os.Open(filepath.Join(dir, "nexmark.csv"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rows, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1+12*2 {
				t.Fatalf("CSV has %d rows, want a header and 24", len(rows))
			}
			for _, r := range rows[1:] {
				if r[9] != "true" {
					t.Errorf("CSV row %v: does not agree", r)
				}
			}
			img, err := os.Open(filepath.Join(dir, "nexmark.png"))
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			if _, err := png.Decode(img); err != nil {
				t.Errorf("nexmark.png: %v", err)
			}
		})
	}
}

func TestOutputPaths(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	csvPath := filepath.Join(dir, "sub.csv")
	o := options{runners: "direct", queries: "q1,q2", events: 1000, source: "generate", repeat: 2, rate: 10_000, out: dir, csv: csvPath, png: "-"}
	if err := run(context.Background(), o, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(csvPath); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nexmark.png")); !os.IsNotExist(err) {
		t.Errorf("-png=- wrote a PNG (%v)", err)
	}
}

// TestParquetSource writes the events as Parquet files once and runs the
// queries over them: the results agree with the generated baseline, and a
// second run reuses the files.
func TestParquetSource(t *testing.T) {
	dir := t.TempDir()
	for range 2 {
		var out, errOut bytes.Buffer
		err := run(context.Background(), options{runners: "direct,streaming", queries: "q0,q3,q9", events: 3000, source: "parquet", parquetDir: dir, repeat: 1, rate: 10_000, out: t.TempDir()}, &out, &errOut)
		if err != nil {
			t.Fatalf("%v\n%s\n%s", err, out.String(), errOut.String())
		}
		if strings.Contains(out.String(), "NO") || strings.Contains(out.String(), "failed") {
			t.Fatalf("runners disagree or failed over Parquet:\n%s", out.String())
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if len(files) == 0 {
		t.Fatal("no Parquet files written")
	}
}
