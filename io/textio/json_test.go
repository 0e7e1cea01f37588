package textio_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/io/memio"
	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
)

type event struct {
	ID    int64             `json:"id"`
	User  string            `json:"user"`
	Price float64           `json:"price"`
	At    time.Time         `json:"at"`
	Tags  []string          `json:"tags,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
	Ref   *int64            `json:"ref"`
}

func makeEvent(i int64) event {
	e := event{
		ID:    i,
		User:  fmt.Sprintf("user \"%d\"\n<&>\tü", i%7), // quotes, a newline, HTML and non-ASCII stay on one line
		Price: float64(i) / 3,
		At:    time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
	}
	if i%3 == 0 {
		e.Tags = []string{"a", fmt.Sprint(i)}
		e.Attrs = map[string]string{"k": fmt.Sprint(i)}
		r := i * 2
		e.Ref = &r
	}
	return e
}

func TestJSONRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		n, par int
		opts   []textio.WriteOption
		files  string
	}{
		{0, 1, nil, "part-*.jsonl"},
		{1, 1, nil, "part-*.jsonl"},
		{1025, 4, nil, "part-*.jsonl"},
		{3000, 3, []textio.WriteOption{textio.WithSuffix(".jsonl.gz")}, "part-*.jsonl.gz"},
	} {
		t.Run(fmt.Sprintf("n=%d/par=%d/%s", tc.n, tc.par, tc.files), func(t *testing.T) {
			dir := t.TempDir()
			p := dataflow.NewPipeline()
			seq := transforms.Sequence(p.Root(), "Sequence", 0, int64(tc.n))
			textio.WriteJSON(p.Root(), "Write", dir, transforms.Map(p.Root(), "Event", makeEvent, seq), tc.opts...)
			if err := run(t, context.Background(), p, tc.par); err != nil {
				t.Fatal(err)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, tc.files)); len(m) != len(listDir(t, dir)) || len(m) == 0 {
				t.Errorf("files %v, want only %s", listDir(t, dir), tc.files)
			}

			for _, split := range []int64{textio.DefaultSplitSize, 100} {
				p = dataflow.NewPipeline()
				g := memio.Collect(p.Root(), "Gather", textio.ReadJSON[event](p.Root(), "Read", dir, textio.WithSplitSize(split)))
				if err := run(t, context.Background(), p, 4); err != nil {
					t.Fatal(err)
				}
				got := g.Values()
				slices.SortFunc(got, func(a, b event) int { return cmp.Compare(a.ID, b.ID) })
				want := make([]event, tc.n)
				for i := range want {
					want[i] = makeEvent(int64(i))
				}
				if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("split size %d: read back (-want +got):\n%.3000s", split, diff)
				}
			}
		})
	}
}

func TestJSONLinesFormat(t *testing.T) {
	dir := t.TempDir()
	p := dataflow.NewPipeline()
	in := transforms.Create(p.Root(), "Create", map[string]any{"a": 1, "b": "<x>"})
	textio.WriteJSON(p.Root(), "Write", dir, in)
	if err := run(t, context.Background(), p, 1); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "part-00000.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "{\"a\":1,\"b\":\"<x>\"}\n"; got != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

func TestReadJSONBadLineNamesFileAndLine(t *testing.T) {
	dir := t.TempDir()
	var content strings.Builder
	for i := range 200 {
		if i == 137 {
			content.WriteString(`{"id": 137, "user": oops}` + "\n")
			continue
		}
		fmt.Fprintf(&content, `{"id": %d, "user": "u"}`+"\n", i)
	}
	path := filepath.Join(dir, "events.jsonl")
	writeFileT(t, path, content.String())
	for _, split := range []int64{textio.DefaultSplitSize, 64} {
		p := dataflow.NewPipeline()
		memio.Collect(p.Root(), "Gather", textio.ReadJSON[event](p.Root(), "Read", path, textio.WithSplitSize(split)))
		err := run(t, context.Background(), p, 2)
		t.Logf("split size %d: %v", split, err)
		if want := path + ":138:"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("split size %d: error %v, want one naming %s", split, err, want)
		}
	}
	// A line of the wrong type, and an empty line, fail too.
	for _, bad := range []string{`{"id": "seven"}`, ``, `[1, 2]`, `{"id": 1} {"id": 2}`} {
		writeFileT(t, path, "{\"id\": 1}\n"+bad+"\n{\"id\": 3}\n")
		p := dataflow.NewPipeline()
		memio.Collect(p.Root(), "Gather", textio.ReadJSON[event](p.Root(), "Read", path))
		if err := run(t, context.Background(), p, 1); err == nil || !strings.Contains(err.Error(), path+":2:") {
			t.Errorf("line %q: error %v, want one naming %s:2", bad, err, path)
		}
	}
}

func TestWriteJSONRejectsHeader(t *testing.T) {
	p := dataflow.NewPipeline()
	textio.WriteJSON(p.Root(), "Write", t.TempDir(), lines(p.Root(), 1), textio.WithHeader("h"))
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("pipeline error %v, want one about the header", err)
	}
}

func TestWriteJSONUnencodableFails(t *testing.T) {
	dir := t.TempDir()
	p := dataflow.NewPipeline()
	in := transforms.Create(p.Root(), "Create", 1, math.NaN())
	textio.WriteJSON(p.Root(), "Write", dir, in)
	if err := run(t, context.Background(), p, 1); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("run error %v, want one about NaN", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("files after the failed run: %v", names)
	}
}

func writeFileT(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
