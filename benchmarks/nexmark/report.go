package main

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// machine describes where the figures come from.
func machine(parallelism int) string {
	workers := parallelism
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	return fmt.Sprintf("%d cores, %d workers, %s/%s", runtime.NumCPU(), workers, runtime.GOOS, runtime.GOARCH)
}

// humanCount writes n with a k/M/G suffix.
func humanCount(n float64) string {
	switch {
	case n >= 1e9:
		return strconv.FormatFloat(n/1e9, 'f', 2, 64) + "G"
	case n >= 1e6:
		return strconv.FormatFloat(n/1e6, 'f', 2, 64) + "M"
	case n >= 1e3:
		return strconv.FormatFloat(n/1e3, 'f', 1, 64) + "k"
	case n > 0 && n < 1:
		return strconv.FormatFloat(n, 'g', 2, 64)
	}
	return strconv.FormatFloat(n, 'f', 0, 64)
}

// powerOfTen writes 10^e as 1, 10, 100, 1k, ..., 1M, ..., 1G.
func powerOfTen(e int) string {
	if e < 0 {
		return strconv.FormatFloat(math.Pow(10, float64(e)), 'g', 1, 64)
	}
	suffixes := []string{"", "k", "M", "G", "T"}
	i := min(e/3, len(suffixes)-1)
	return "1" + strings.Repeat("0", e-3*i) + suffixes[i]
}

// byQuery groups measurements by query, in order, then by runner.
func byQuery(all []measurement) (order []string, rows map[string]map[string]measurement) {
	rows = map[string]map[string]measurement{}
	for _, m := range all {
		if rows[m.query] == nil {
			rows[m.query] = map[string]measurement{}
			order = append(order, m.query)
		}
		rows[m.query][m.runner] = m
	}
	return order, rows
}

// writeTable prints one row per query: its results, the baseline's events/s,
// and each runner's events/s with its ratio to the baseline.
func writeTable(w io.Writer, all []measurement, runners []string) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	order, rows := byQuery(all)
	fmt.Fprint(tw, "query\tresults\t")
	for _, r := range runners {
		if r == baselineName {
			fmt.Fprintf(tw, "%s ev/s\t", r)
			continue
		}
		fmt.Fprintf(tw, "%s ev/s\tvs baseline\tagrees\t", r)
	}
	fmt.Fprintln(tw, "what")
	for _, q := range order {
		base := rows[q][baselineName]
		fmt.Fprintf(tw, "%s\t%d\t", q, base.results.Count)
		for _, r := range runners {
			m, ok := rows[q][r]
			switch {
			case !ok:
				fmt.Fprint(tw, "-\t-\t-\t")
			case r == baselineName:
				fmt.Fprintf(tw, "%s\t", humanCount(m.eventsPerSec()))
			case m.err != "":
				fmt.Fprint(tw, "failed\t-\t-\t")
			default:
				agrees := "yes"
				if !m.agrees {
					agrees = "NO"
				}
				fmt.Fprintf(tw, "%s\t%.2fx\t%s\t", humanCount(m.eventsPerSec()), m.eventsPerSec()/base.eventsPerSec(), agrees)
			}
		}
		fmt.Fprintln(tw, base.title)
	}
	tw.Flush()
	for _, m := range all {
		if m.err != "" {
			fmt.Fprintf(w, "%s on %s failed: %s\n", m.query, m.runner, m.err)
		}
	}
}

// writeCSV writes one row per query and runner (the baseline included).
func writeCSV(w io.Writer, all []measurement) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"query", "title", "runner", "events", "results", "checksum", "seconds", "events_per_sec", "ratio_to_baseline", "agrees_with_baseline"})
	_, rows := byQuery(all)
	for _, m := range all {
		base := rows[m.query][baselineName]
		ratio := 0.0
		if base.eventsPerSec() > 0 {
			ratio = m.eventsPerSec() / base.eventsPerSec()
		}
		_ = cw.Write([]string{
			m.query, m.title, m.runner,
			strconv.FormatInt(m.events, 10),
			strconv.FormatInt(m.results.Count, 10),
			fmt.Sprintf("%016x", m.results.Checksum()),
			strconv.FormatFloat(m.seconds, 'f', 6, 64),
			strconv.FormatFloat(m.eventsPerSec(), 'f', 0, 64),
			strconv.FormatFloat(ratio, 'f', 4, 64),
			strconv.FormatBool(m.agrees && m.err == ""),
		})
	}
	cw.Flush()
	return cw.Error()
}

func writeCSVFile(path string, all []measurement) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	if err := writeCSV(f, all); err != nil {
		f.Close()
		return fmt.Errorf("write CSV %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write CSV %s: %w", path, err)
	}
	return nil
}

// writeChart draws events/s per query, one bar per runner (the baseline
// first), on a logarithmic scale (the figures span several orders of
// magnitude), and saves it as a PNG. gonum's log scale cannot draw bars,
// which start at zero, so the bars are the logarithms above a floor and the
// ticks are labelled with the events/s they stand for.
func writeChart(path, title string, all []measurement, runners []string) error {
	order, rows := byQuery(all)
	lo, hi := math.Inf(1), 0.0
	for _, m := range all {
		if v := m.eventsPerSec(); v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi == 0 {
		lo, hi = 1, 10
	}
	floor := math.Floor(math.Log10(lo))
	ceil := math.Ceil(math.Log10(hi))
	if ceil == floor {
		ceil++
	}
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "events/s (log scale, higher is better)"
	p.Legend.Top = true
	width := vg.Points(float64(min(60/len(runners), 24)))
	for i, r := range runners {
		vals := make(plotter.Values, len(order))
		for j, q := range order {
			if v := rows[q][r].eventsPerSec(); v > 0 {
				vals[j] = max(math.Log10(v)-floor, 0)
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		bars.LineStyle.Width = vg.Length(0)
		bars.Color = plotutil.Color(i)
		if r == baselineName {
			bars.Color = color.Gray{Y: 140}
		}
		bars.Offset = vg.Length(float64(i)-float64(len(runners)-1)/2) * width
		p.Add(bars)
		p.Legend.Add(r, bars)
	}
	p.NominalX(order...)
	var ticks []plot.Tick
	for e := floor; e <= ceil; e++ {
		ticks = append(ticks, plot.Tick{Value: e - floor, Label: powerOfTen(int(e))})
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = 0, (ceil-floor)*1.15 // room for the legend
	if err := p.Save(vg.Points(float64(max(480, 60*len(order)))), vg.Points(320), path); err != nil {
		return fmt.Errorf("write PNG %s: %w", path, err)
	}
	return nil
}
