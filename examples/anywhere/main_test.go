package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestSameReportOnEveryRunner runs the pipeline on every runner the
// example knows and checks that the reports agree line for line.
func TestSameReportOnEveryRunner(t *testing.T) {
	var want string
	for _, name := range runnerNames() {
		var out bytes.Buffer
		if err := run(t.Context(), &out, name, 60_000, 7); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, report, _ := strings.Cut(out.String(), "\n") // drop the timing line
		if strings.Count(report, "\n") != 10 {
			t.Fatalf("%s: want 10 one-minute windows, got:\n%s", name, report)
		}
		if want == "" {
			want = report
			continue
		}
		if report != want {
			t.Fatalf("%s disagrees:\n%s\nwant:\n%s", name, report, want)
		}
	}
}
