package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"time"

	"github.com/sluicedata/sluice/io/textio"
	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/pkg/transforms"
	"github.com/sluicedata/sluice/runners/direct"
)

// wordRE matches a word: letters, with an apostrophe and more letters inside
// ("don't", "o'clock").
var wordRE = regexp.MustCompile(`\p{L}+('\p{L}+)?`)

// Metrics of the run.
var (
	linesRead     = dataflow.NewCounter("wordcount", "lines")
	emptyLines    = dataflow.NewCounter("wordcount", "empty_lines")
	wordsFound    = dataflow.NewCounter("wordcount", "words")
	distinctWords = dataflow.NewCounter("wordcount", "distinct_words")
)

// extractWords emits the words of a line.
func extractWords(c *dataflow.Context, line string, emit dataflow.Emitter[string]) error {
	linesRead.Inc(c, 1)
	words := wordRE.FindAllString(line, -1)
	if len(words) == 0 {
		emptyLines.Inc(c, 1)
		return nil
	}
	wordsFound.Inc(c, int64(len(words)))
	for _, w := range words {
		emit.Emit(w)
	}
	return nil
}

// formatCount renders one count.
func formatCount(c *dataflow.Context, kv dataflow.KV[string, int64], emit dataflow.Emitter[string]) error {
	distinctWords.Inc(c, 1)
	emit.Emit(fmt.Sprintf("%s: %d", kv.Key, kv.Value))
	return nil
}

// config is the command line.
type config struct {
	input       string
	output      string
	parallelism int
}

// summary is what the program reports at the end.
type summary struct {
	lines, words, distinct int64
	elapsed                time.Duration
}

func (s summary) String() string {
	return fmt.Sprintf("wordcount: %d lines, %d words, %d distinct words in %v", s.lines, s.words, s.distinct, s.elapsed.Round(time.Millisecond))
}

// buildPipeline is WordCount from input to output.
func buildPipeline(input, output string) *dataflow.Pipeline {
	p := dataflow.NewPipeline()
	s := p.Root()
	lines := textio.Read(s, "ReadLines", input)
	words := dataflow.ParDo(s, "ExtractWords", dataflow.DoFnFunc[string, string](extractWords), lines)
	counts := transforms.CountPerElement(s, "CountWords", words)
	formatted := dataflow.ParDo(s, "FormatCounts", dataflow.DoFnFunc[dataflow.KV[string, int64], string](formatCount), counts)
	textio.Write(s, "WriteCounts", output, formatted)
	return p
}

// run runs WordCount and returns its summary.
func run(ctx context.Context, cfg config) (summary, error) {
	start := time.Now()
	p := buildPipeline(cfg.input, cfg.output)
	res, err := dataflow.Execute(ctx, direct.New(direct.Options{Parallelism: cfg.parallelism}), p)
	if err != nil {
		return summary{}, err
	}
	m := res.Metrics()
	return summary{
		lines:    m.Counter("wordcount", "lines"),
		words:    m.Counter("wordcount", "words"),
		distinct: m.Counter("wordcount", "distinct_words"),
		elapsed:  time.Since(start),
	}, nil
}

func main() {
	var cfg config
	flag.StringVar(&cfg.input, "input", "", "text files to read: a glob, a file or a directory (required)")
	flag.StringVar(&cfg.output, "output", "", "directory to write part-NNNNN.txt files of \"word: count\" lines into (required; earlier part files are replaced)")
	flag.IntVar(&cfg.parallelism, "parallelism", 0, "number of workers (default GOMAXPROCS)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: wordcount -input=GLOB -output=DIR\n\nexample: go run ./examples/wordcount -input='examples/wordcount/testdata/*.txt' -output=/tmp/counts\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if cfg.input == "" || cfg.output == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := mainErr(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, cfg config, w io.Writer) error {
	sum, err := run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, sum)
	fmt.Fprintf(w, "output: %s\n", cfg.output)
	return nil
}
