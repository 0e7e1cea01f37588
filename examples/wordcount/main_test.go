package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readCounts reads the "word: count" lines of every part file in dir.
func readCounts(dir string) (map[string]int64, error) {
	files, err := filepath.Glob(filepath.Join(dir, "part-*.txt"))
	if err != nil {
		return nil, err
	}
	counts := map[string]int64{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for line := range strings.Lines(string(b)) {
			var word string
			var n int64
			if _, err := fmt.Sscanf(line, "%s %d", &word, &n); err != nil {
				return nil, fmt.Errorf("%s: line %q: %w", f, line, err)
			}
			word = strings.TrimSuffix(word, ":")
			if _, dup := counts[word]; dup {
				return nil, fmt.Errorf("%s: %q counted twice", f, word)
			}
			counts[word] = n
		}
	}
	return counts, nil
}

// Example runs WordCount on the testdata and prints a few of the counts.
func Example() {
	out, err := os.MkdirTemp("", "wordcount")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(out)
	sum, err := run(context.Background(), config{input: "testdata/*.txt", output: out, parallelism: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d lines, %d words, %d distinct\n", sum.lines, sum.words, sum.distinct)
	counts, err := readCounts(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range []string{"the", "of", "was", "it", "It", "times", "tis", "question"} {
		fmt.Printf("%s: %d\n", w, counts[w])
	}
	// Output:
	// 20 lines, 225 words, 115 distinct
	// the: 20
	// of: 18
	// was: 12
	// it: 10
	// It: 1
	// times: 2
	// tis: 1
	// question: 1
}

// TestParallelismAndRerun checks that the counts do not depend on the number
// of workers and that a second run into the same directory replaces the first.
func TestParallelismAndRerun(t *testing.T) {
	out := t.TempDir()
	var first map[string]int64
	for _, par := range []int{1, 3, 8} {
		sum, err := run(context.Background(), config{input: "testdata", output: out, parallelism: par})
		if err != nil {
			t.Fatal(err)
		}
		counts, err := readCounts(out)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(counts)) != sum.distinct {
			t.Errorf("parallelism %d: %d words in the output, summary says %d", par, len(counts), sum.distinct)
		}
		var total int64
		for _, n := range counts {
			total += n
		}
		if total != sum.words {
			t.Errorf("parallelism %d: counts add up to %d, summary says %d words", par, total, sum.words)
		}
		if first == nil {
			first = counts
			continue
		}
		if fmt.Sprint(counts) != fmt.Sprint(first) { // fmt sorts map keys
			t.Errorf("parallelism %d: counts differ from parallelism 1", par)
		}
	}
}

func TestMissingInput(t *testing.T) {
	_, err := run(context.Background(), config{input: "testdata/nothing-*.txt", output: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "nothing-*.txt") {
		t.Errorf("error %v, want one naming the pattern", err)
	}
}
