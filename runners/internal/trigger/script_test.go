package trigger

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of the testdata scripts")

// TestScripts runs the scripts in testdata. Each case is a list of commands,
// a line "----", and the expected output, up to a blank line:
//
//	strategy [window=START,END|global] [mode=accumulating|discarding]
//	         [lateness=DURATION] [combiner=eow|earliest|latest]
//	         [ontime=always|nonempty] trigger=EXPR
//	    starts a window afresh: the watermark at -inf, processing time at 0
//	element TS...      elements with event timestamps TS (milliseconds); a
//	                   word wm=T sets the watermark the following elements
//	                   arrive with, without calling OnWatermark
//	watermark T        advances the input watermark to T (ms, -inf, +inf or eogw)
//	proctime [+]D      sets processing time to D, or advances it by +D
//	roundtrip          marshals and unmarshals the window state
//	status             prints the state: elements, hold, deadlines
//
// Output lines are "COMMAND: EVENT". Every script runs twice, the second time
// round-tripping the state through MarshalBinary before every command; both
// runs must print the same. Run with -rewrite to regenerate expectations.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScriptFile(t, file)
		})
	}
}

type scriptCase struct {
	pre      []string // comments and blank lines before the case
	line     int
	commands []string
	expected []string
}

func parseScript(t *testing.T, file string) (cases []scriptCase, trailer []string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var cur scriptCase
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if len(cur.commands) == 0 && (l == "" || strings.HasPrefix(l, "#")) {
			cur.pre = append(cur.pre, l)
			continue
		}
		if l != "----" {
			if len(cur.commands) == 0 {
				cur.line = i + 1
			}
			cur.commands = append(cur.commands, l)
			continue
		}
		for i++; i < len(lines) && lines[i] != ""; i++ {
			cur.expected = append(cur.expected, lines[i])
		}
		cases = append(cases, cur)
		cur = scriptCase{pre: []string{""}}
	}
	if len(cur.commands) > 0 {
		t.Fatalf("%s:%d: case without ----", file, cur.line)
	}
	return cases, cur.pre[1:]
}

func runScriptFile(t *testing.T, file string) {
	cases, trailer := parseScript(t, file)
	plain, rt := newScript(false), newScript(true)
	var out strings.Builder
	for _, c := range cases {
		got := plain.run(c.commands)
		if again := rt.run(c.commands); strings.Join(again, "\n") != strings.Join(got, "\n") {
			t.Errorf("%s:%d: round-tripping the state changed the output:\nplain:\n%s\nround-tripped:\n%s",
				file, c.line, strings.Join(got, "\n"), strings.Join(again, "\n"))
		}
		if *rewrite {
			for _, l := range c.pre {
				out.WriteString(l + "\n")
			}
			for _, l := range c.commands {
				out.WriteString(l + "\n")
			}
			out.WriteString("----\n")
			for _, l := range got {
				out.WriteString(l + "\n")
			}
			continue
		}
		if strings.Join(got, "\n") != strings.Join(c.expected, "\n") {
			t.Errorf("%s:%d:\n%s\n----\ngot:\n%s\nwant:\n%s", file, c.line,
				strings.Join(c.commands, "\n"), strings.Join(got, "\n"), strings.Join(c.expected, "\n"))
		}
	}
	if *rewrite {
		for _, l := range trailer {
			out.WriteString(l + "\n")
		}
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// script is the state of a running script.
type script struct {
	roundtrip bool
	r         *Reducer
	s         WindowState
	wm        dataflow.EventTime
	now       time.Duration // processing time since the Unix epoch
}

func newScript(roundtrip bool) *script { return &script{roundtrip: roundtrip} }

func (sc *script) clock() time.Time { return time.Unix(0, 0).Add(sc.now) }

func (sc *script) run(commands []string) []string {
	var out []string
	for _, cmd := range commands {
		lines, err := sc.exec(cmd)
		if err != nil {
			lines = []string{cmd + ": error: " + err.Error()}
		}
		out = append(out, lines...)
	}
	if len(out) == 0 {
		out = []string{"(nothing)"}
	}
	return out
}

// exec runs one command and returns its output lines.
func (sc *script) exec(cmd string) ([]string, error) {
	events, err := sc.events(cmd)
	for i, e := range events {
		if !strings.HasPrefix(e, "element ") {
			events[i] = cmd + ": " + e
		}
	}
	return events, err
}

// events runs one command and returns what happened. Elements report their own
// lines, prefixed with "element TS", since one command may carry several.
func (sc *script) events(cmd string) ([]string, error) {
	verb, args, _ := strings.Cut(cmd, " ")
	if verb != "strategy" && sc.r == nil {
		return nil, fmt.Errorf("no strategy yet")
	}
	if sc.roundtrip && sc.r != nil {
		if err := sc.reload(); err != nil {
			return nil, err
		}
	}
	switch verb {
	case "strategy":
		return nil, sc.strategy(args)
	case "element":
		var events []string
		for _, f := range strings.Fields(args) {
			if v, ok := strings.CutPrefix(f, "wm="); ok {
				// The following elements arrive with a newer watermark that
				// has not been delivered with OnWatermark yet.
				wm, err := parseTime(v)
				if err != nil {
					return nil, err
				}
				sc.wm = wm
				continue
			}
			ts, err := parseTime(f)
			if err != nil {
				return nil, err
			}
			ok, panes := sc.r.OnElement(&sc.s, ts, sc.wm, sc.clock())
			prefix := "element " + fmtTime(ts) + ": "
			if !ok {
				events = append(events, prefix+"dropped")
			}
			for _, p := range fmtPanes(panes) {
				events = append(events, prefix+p)
			}
		}
		return events, nil
	case "watermark":
		wm, err := parseTime(args)
		if err != nil {
			return nil, err
		}
		sc.wm = wm
		was := sc.r.Expired(&sc.s)
		return sc.expiry(was, fmtPanes(sc.r.OnWatermark(&sc.s, wm, sc.clock()))), nil
	case "proctime":
		d, err := time.ParseDuration(strings.TrimPrefix(args, "+"))
		if err != nil {
			return nil, err
		}
		if strings.HasPrefix(args, "+") {
			sc.now += d
		} else {
			sc.now = d
		}
		was := sc.r.Expired(&sc.s)
		return sc.expiry(was, fmtPanes(sc.r.OnProcessingTime(&sc.s, sc.wm, sc.clock()))), nil
	case "roundtrip":
		return []string{"ok"}, sc.reload()
	case "status":
		return []string{sc.status()}, nil
	}
	return nil, fmt.Errorf("unknown command %q", verb)
}

// expiry notes when the window has just expired.
func (sc *script) expiry(was bool, events []string) []string {
	if !was && sc.r.Expired(&sc.s) {
		events = append(events, "expired")
	}
	return events
}

func (sc *script) reload() error {
	b, err := sc.s.MarshalBinary()
	if err != nil {
		return err
	}
	var s WindowState
	if err := s.UnmarshalBinary(b); err != nil {
		return err
	}
	if err := sc.r.Check(&s); err != nil {
		return err
	}
	sc.s = s
	return nil
}

func (sc *script) status() string {
	r, s := sc.r, &sc.s
	var b strings.Builder
	fmt.Fprintf(&b, "elements=%d retain=%d", s.Len(), r.Retain(s))
	if r.Finished(s) {
		b.WriteString(" finished")
	}
	if r.Expired(s) {
		b.WriteString(" expired")
	}
	if h, ok := r.OutputHold(s); ok {
		fmt.Fprintf(&b, " hold=%s", fmtTime(h))
	}
	if w, ok := r.NextWatermark(s); ok {
		fmt.Fprintf(&b, " next-watermark=%s", fmtTime(w))
	}
	if d, ok := r.NextDeadline(s); ok {
		fmt.Fprintf(&b, " next-deadline=%v", d.Sub(time.Unix(0, 0)))
	}
	return b.String()
}

func (sc *script) strategy(args string) error {
	opts, expr, ok := strings.Cut(args, "trigger=")
	if !ok {
		return fmt.Errorf("strategy needs trigger=")
	}
	tr, err := parseTrigger(expr)
	if err != nil {
		return err
	}
	ws := dataflow.WindowingStrategy{Fn: dataflow.Fixed(10 * time.Millisecond), Trigger: tr}
	w := dataflow.IntervalWindow(0, 10)
	for _, o := range strings.Fields(opts) {
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "window":
			if v == "global" {
				ws.Fn, w = dataflow.Global(), dataflow.GlobalWindow
				break
			}
			a, b, _ := strings.Cut(v, ",")
			start, err1 := parseTime(a)
			end, err2 := parseTime(b)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("bad window %q", v)
			}
			ws.Fn = dataflow.Fixed(time.Duration(end-start) * time.Millisecond)
			w = dataflow.IntervalWindow(start, end)
		case "sessions":
			// The window stays as given; the WindowFn only makes the strategy merging.
			ws.Fn = dataflow.Sessions(10 * time.Millisecond)
		case "mode":
			ws.Accumulation = map[string]dataflow.AccumulationMode{"accumulating": dataflow.Accumulating, "discarding": dataflow.Discarding}[v]
		case "lateness":
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			ws.AllowedLateness = d
		case "combiner":
			ws.TimestampCombiner = map[string]dataflow.TimestampCombiner{"eow": dataflow.EndOfWindow, "earliest": dataflow.Earliest, "latest": dataflow.Latest}[v]
		case "ontime":
			ws.OnTime = map[string]dataflow.OnTimeBehavior{"always": dataflow.FireAlways, "nonempty": dataflow.FireIfNonEmpty}[v]
		default:
			return fmt.Errorf("unknown option %q", k)
		}
	}
	r, err := NewReducer(ws)
	if err != nil {
		return err
	}
	sc.r, sc.s, sc.wm, sc.now = r, r.NewState(w), dataflow.MinTime, 0
	return nil
}

func fmtPanes(panes []Pane) []string {
	var out []string
	for _, p := range panes {
		out = append(out, fmtPane(p))
	}
	return out
}

func fmtPane(p Pane) string {
	var b strings.Builder
	i := p.Info
	fmt.Fprintf(&b, "pane [%d,%d) %v idx=%d nonspec=%d", p.From, p.To, i.Timing, i.Index, i.NonSpeculativeIndex)
	if i.IsFirst {
		b.WriteString(" first")
	}
	if i.IsLast {
		b.WriteString(" last")
	}
	fmt.Fprintf(&b, " ts=%s", fmtTime(p.Timestamp))
	return b.String()
}

func fmtTime(t dataflow.EventTime) string {
	switch t {
	case dataflow.MinTime:
		return "-inf"
	case dataflow.MaxTime:
		return "+inf"
	case dataflow.EndOfGlobalWindow:
		return "eogw"
	}
	if d := t - dataflow.EndOfGlobalWindow; d > -1e9 && d < 1e9 {
		return fmt.Sprintf("eogw%+d", d)
	}
	return strconv.FormatInt(int64(t), 10)
}

func parseTime(s string) (dataflow.EventTime, error) {
	switch s {
	case "-inf":
		return dataflow.MinTime, nil
	case "+inf":
		return dataflow.MaxTime, nil
	case "eogw":
		return dataflow.EndOfGlobalWindow, nil
	}
	if rest, ok := strings.CutPrefix(s, "eogw+"); ok {
		n, err := strconv.ParseInt(rest, 10, 64)
		return dataflow.EndOfGlobalWindow + dataflow.EventTime(n), err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return dataflow.EventTime(n), err
}

// parseTrigger parses trigger expressions such as
// Repeatedly(AfterAny(AfterCount(3), AfterProcessingTime(10s))) or
// AfterWatermark(early=AfterCount(2), late=Always).
func parseTrigger(s string) (dataflow.Trigger, error) {
	p := &triggerParser{s: strings.TrimSpace(s)}
	t, err := p.expr()
	if err == nil && p.pos != len(p.s) {
		err = fmt.Errorf("trailing %q", p.s[p.pos:])
	}
	if err != nil {
		return nil, fmt.Errorf("trigger %q: %w", s, err)
	}
	return t, nil
}

type triggerParser struct {
	s   string
	pos int
}

func (p *triggerParser) skip() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func (p *triggerParser) word() string {
	p.skip()
	start := p.pos
	for p.pos < len(p.s) {
		c := rune(p.s[p.pos])
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && c != '.' {
			break
		}
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *triggerParser) accept(c byte) bool {
	p.skip()
	if p.pos < len(p.s) && p.s[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *triggerParser) expr() (dataflow.Trigger, error) {
	name := p.word()
	switch name {
	case "Default":
		return dataflow.Default(), nil
	case "Always":
		return dataflow.Always(), nil
	case "Never":
		return dataflow.Never(), nil
	case "AfterCount":
		arg, err := p.arg()
		if err != nil {
			return nil, err
		}
		n, err := strconv.Atoi(arg)
		return dataflow.AfterCount(n), err
	case "AfterProcessingTime":
		arg, err := p.arg()
		if err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(arg)
		return dataflow.AfterProcessingTime(d), err
	case "AfterWatermark":
		w := dataflow.AfterWatermark()
		if !p.accept('(') {
			return w, nil
		}
		for !p.accept(')') {
			key := p.word()
			if !p.accept('=') {
				return nil, fmt.Errorf("AfterWatermark wants early= or late=")
			}
			sub, err := p.expr()
			if err != nil {
				return nil, err
			}
			switch key {
			case "early":
				w = w.WithEarlyFirings(sub)
			case "late":
				w = w.WithLateFirings(sub)
			default:
				return nil, fmt.Errorf("AfterWatermark: unknown %q", key)
			}
			p.accept(',')
		}
		return w, nil
	}
	subs, err := p.list()
	if err != nil {
		return nil, err
	}
	switch name {
	case "Repeatedly":
		if len(subs) == 1 {
			return dataflow.Repeatedly(subs[0]), nil
		}
	case "OrFinally":
		if len(subs) == 2 {
			return dataflow.OrFinally(subs[0], subs[1]), nil
		}
	case "AfterEach":
		return dataflow.AfterEach(subs...), nil
	case "AfterAny", "AfterFirst":
		return dataflow.AfterAny(subs...), nil
	case "AfterAll":
		return dataflow.AfterAll(subs...), nil
	default:
		return nil, fmt.Errorf("unknown trigger %q", name)
	}
	return nil, fmt.Errorf("%s: wrong number of sub-triggers", name)
}

func (p *triggerParser) arg() (string, error) {
	if !p.accept('(') {
		return "", fmt.Errorf("want (")
	}
	a := p.word()
	if !p.accept(')') {
		return "", fmt.Errorf("want )")
	}
	return a, nil
}

func (p *triggerParser) list() ([]dataflow.Trigger, error) {
	if !p.accept('(') {
		return nil, fmt.Errorf("want (")
	}
	var subs []dataflow.Trigger
	for !p.accept(')') {
		t, err := p.expr()
		if err != nil {
			return nil, err
		}
		subs = append(subs, t)
		if !p.accept(',') && !p.accept(')') {
			return nil, fmt.Errorf("want , or )")
		} else if p.s[p.pos-1] == ')' {
			break
		}
	}
	return subs, nil
}
