package direct

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// ProgressMode says how a run reports its progress.
type ProgressMode uint8

const (
	// ProgressAuto draws a progress bar when ProgressOut is a terminal and
	// prints a plain line every ProgressInterval otherwise; either way only
	// once the run has lasted one interval, so short runs stay quiet. A run
	// that reported progress ends with a summary.
	ProgressAuto ProgressMode = iota
	// ProgressOff reports nothing.
	ProgressOff
	// ProgressPlain prints plain lines, and the summary, whatever ProgressOut is.
	ProgressPlain
	// ProgressBar draws a bar, and the summary, whatever ProgressOut is.
	ProgressBar
)

// Summary describes a finished run.
type Summary struct {
	Elapsed time.Duration
	// Transforms lists each transform with the elements it read and wrote.
	Transforms []TransformCount
	// SourceSplits and SourceBytes count the source splits and bytes read.
	SourceSplits, SourceBytes int64
	// SpilledBytes is what GroupByKeys wrote to disk.
	SpilledBytes int64
	// PeakRSS is the process's peak resident memory in bytes (0 if unknown).
	PeakRSS int64
}

// TransformCount is one row of a Summary.
type TransformCount struct {
	Name    string
	In, Out int64
}

// SummaryOf returns the summary of a finished direct run.
func SummaryOf(res df.Result) (Summary, bool) {
	r, ok := res.(*result)
	if !ok {
		return Summary{}, false
	}
	select {
	case <-r.Done():
	default:
		return Summary{}, false
	}
	return r.summary, true
}

func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sluice: run finished in %v", s.Elapsed.Round(time.Millisecond))
	if s.SourceBytes > 0 {
		fmt.Fprintf(&b, "; read %s in %d splits", bytesString(s.SourceBytes), s.SourceSplits)
	}
	if s.SpilledBytes > 0 {
		fmt.Fprintf(&b, "; spilled %s", bytesString(s.SpilledBytes))
	}
	if s.PeakRSS > 0 {
		fmt.Fprintf(&b, "; peak memory %s", bytesString(s.PeakRSS))
	}
	b.WriteString("\n")
	w := 0
	for _, t := range s.Transforms {
		w = max(w, len(t.Name))
	}
	fmt.Fprintf(&b, "  %-*s %14s %14s\n", w, "transform", "in", "out")
	for _, t := range s.Transforms {
		fmt.Fprintf(&b, "  %-*s %14d %14d\n", w, t.Name, t.In, t.Out)
	}
	return b.String()
}

// tracker counts what a run has done, for progress lines and the summary.
type tracker struct {
	start  time.Time
	counts map[*df.Collection]*atomic.Int64 // elements of each collection
	stages int

	stage        atomic.Int64 // index of the running stage
	stageStart   atomic.Int64 // when it started, Unix nanoseconds
	stageName    atomic.Value // string
	splitsTotal  atomic.Int64
	splitsDone   atomic.Int64
	bytesTotal   atomic.Int64
	bytesDone    atomic.Int64
	sourceSplits atomic.Int64
	sourceBytes  atomic.Int64

	filesMu    sync.Mutex
	filesLeft  map[string]int // splits not yet read, per file
	filesTotal atomic.Int64
	filesDone  atomic.Int64
}

func (t *tracker) setFiles(n int) {
	t.filesTotal.Store(int64(n))
	t.filesDone.Store(0)
	t.filesMu.Lock()
	t.filesLeft = nil
	t.filesMu.Unlock()
}

// splitDone counts a file as read once its last split is.
func (t *tracker) splitDone(file string, splitsPerFile map[string]int) {
	t.filesMu.Lock()
	defer t.filesMu.Unlock()
	if t.filesLeft == nil {
		t.filesLeft = maps.Clone(splitsPerFile)
	}
	t.filesLeft[file]--
	if t.filesLeft[file] == 0 {
		t.filesDone.Add(1)
	}
}

func newTracker(pl *plan) *tracker {
	t := &tracker{start: time.Now(), counts: map[*df.Collection]*atomic.Int64{}, stages: len(pl.stages)}
	for _, st := range pl.stages {
		for _, c := range st.root.Outputs {
			t.counts[c] = new(atomic.Int64)
		}
		for _, f := range st.fused {
			for _, c := range f.Outputs {
				t.counts[c] = new(atomic.Int64)
			}
		}
	}
	t.stageName.Store("")
	return t
}

func (t *tracker) startStage(i int, st *stage, items int, bytes int64) {
	t.stage.Store(int64(i))
	t.stageStart.Store(time.Now().UnixNano())
	t.stageName.Store(st.root.Name)
	t.splitsTotal.Store(int64(items))
	t.splitsDone.Store(0)
	t.bytesTotal.Store(bytes)
	t.bytesDone.Store(0)
	t.filesTotal.Store(0)
}

func (t *tracker) line(bar bool) string {
	el := time.Since(t.start)
	done, total := t.splitsDone.Load(), t.splitsTotal.Load()
	bdone, btotal := t.bytesDone.Load(), t.bytesTotal.Load()
	frac := 0.0
	switch {
	case btotal > 0:
		frac = float64(bdone) / float64(btotal)
	case total > 0:
		frac = float64(done) / float64(total)
	}
	var rows int64
	for c, n := range t.counts {
		if _, ok := c.Producer.Spec.(*df.ReadSpec); ok {
			rows += n.Load()
		}
	}
	var b strings.Builder
	if bar {
		const width = 24
		filled := int(frac * width)
		b.WriteString("[" + strings.Repeat("=", filled) + strings.Repeat(" ", width-filled) + "] ")
	}
	fmt.Fprintf(&b, "stage %d/%d %s: %d/%d splits", t.stage.Load()+1, t.stages, t.stageName.Load(), done, total)
	if ft := t.filesTotal.Load(); ft > 0 {
		fmt.Fprintf(&b, ", %d/%d files", t.filesDone.Load(), ft)
	}
	if rows > 0 {
		fmt.Fprintf(&b, ", %d rows read (%.0f/s)", rows, float64(rows)/el.Seconds())
	}
	if btotal > 0 {
		fmt.Fprintf(&b, ", %s of %s (%s/s)", bytesString(bdone), bytesString(btotal), bytesString(int64(float64(t.sourceBytes.Load())/el.Seconds())))
	}
	if frac > 0 && frac < 1 {
		stageEl := time.Since(time.Unix(0, t.stageStart.Load()))
		eta := time.Duration(float64(stageEl) * (1 - frac) / frac)
		fmt.Fprintf(&b, ", stage ETA %v", eta.Round(time.Second))
	}
	fmt.Fprintf(&b, ", %v elapsed", el.Round(time.Second))
	return b.String()
}

func (t *tracker) summary(pl *plan, spilled int64) Summary {
	s := Summary{Elapsed: time.Since(t.start), SourceSplits: t.sourceSplits.Load(), SourceBytes: t.sourceBytes.Load(), SpilledBytes: spilled, PeakRSS: peakRSS()}
	seen := map[*df.Transform]bool{}
	add := func(tr *df.Transform) {
		if seen[tr] {
			return
		}
		seen[tr] = true
		tc := TransformCount{Name: tr.Name}
		for _, in := range tr.Inputs {
			if n := t.counts[in]; n != nil {
				tc.In += n.Load()
			}
		}
		for _, out := range tr.Outputs {
			if n := t.counts[out]; n != nil {
				tc.Out += n.Load()
			}
		}
		s.Transforms = append(s.Transforms, tc)
	}
	var all []*df.Transform
	for _, st := range pl.stages {
		all = append(all, st.root)
		all = append(all, st.fused...)
	}
	slices.SortFunc(all, func(a, b *df.Transform) int { return a.ID - b.ID })
	for _, tr := range all {
		add(tr)
	}
	return s
}

// reporter prints progress until stopped.
type reporter struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	any  bool // whether anything was printed
}

func startReporter(t *tracker, opts Options) *reporter {
	rep := &reporter{stop: make(chan struct{}), done: make(chan struct{})}
	mode := opts.Progress
	out := opts.ProgressOut
	if mode == ProgressOff {
		close(rep.done)
		return rep
	}
	interval := opts.ProgressInterval
	go func() {
		defer close(rep.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-rep.stop:
				if mode == ProgressBar && rep.any {
					fmt.Fprint(out, "\n")
				}
				return
			case <-tick.C:
				if mode == ProgressBar {
					fmt.Fprintf(out, "\r%s\x1b[K", t.line(true))
				} else {
					fmt.Fprintln(out, "sluice:", t.line(false))
				}
				rep.mu.Lock()
				rep.any = true
				rep.mu.Unlock()
			}
		}
	}()
	return rep
}

// finish stops the reporter and reports whether it printed anything.
func (rep *reporter) finish() bool {
	select {
	case <-rep.stop:
	default:
		close(rep.stop)
	}
	<-rep.done
	rep.mu.Lock()
	defer rep.mu.Unlock()
	return rep.any
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// peakRSS returns the peak resident set size of the process (Linux), or 0.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(sc.Text(), "VmHWM: %d kB", &kb); err == nil {
			return kb << 10
		}
	}
	return 0
}
