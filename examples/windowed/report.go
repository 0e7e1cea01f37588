package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// CategoryRevenue is the revenue of one category.
type CategoryRevenue struct {
	Category string
	Cents    int64
}

// HourStats are the results of one 1-hour window.
type HourStats struct {
	Start  dataflow.EventTime
	Orders int64
	Cents  int64
	// Top are the three categories with the most revenue, greatest first.
	Top []CategoryRevenue
}

// WindowCount is the number of orders in one window.
type WindowCount struct {
	Start, End dataflow.EventTime
	Orders     int64
}

// Report is everything the program prints, apart from timings: a value that
// the test compares with the same figures computed by a plain loop.
type Report struct {
	Seed       uint64
	N          int64
	Orders     int64
	Cents      int64
	Hours      []HourStats       // by start
	Categories []CategoryRevenue // the day's revenue per category, greatest first
	Sliding    []WindowCount     // by start
	Sessions   SessionTotals
}

// newReport puts the gathered results in order.
func newReport(seed uint64, n int64, r *results) (*Report, error) {
	rep := &Report{Seed: seed, N: n}
	hours := map[dataflow.EventTime]*HourStats{}
	hourOf := func(w dataflow.Window) *HourStats {
		h := hours[w.Start]
		if h == nil {
			h = &HourStats{Start: w.Start}
			hours[w.Start] = h
		}
		return h
	}
	for _, e := range r.hourlyOrders.Elems() {
		hourOf(e.Window).Orders += e.Value
		rep.Orders += e.Value
	}
	days := map[string]int64{}
	for _, e := range r.hourlyRevenue.Elems() {
		hourOf(e.Window).Cents += e.Value.Value
		days[e.Value.Key] += e.Value.Value
		rep.Cents += e.Value.Value
	}
	for _, e := range r.hourlyTop.Elems() {
		h := hourOf(e.Window)
		if h.Top != nil {
			return nil, fmt.Errorf("two top-3 lists for the hour at %v", e.Window.Start)
		}
		h.Top = make([]CategoryRevenue, 0, len(e.Value))
		for _, kv := range e.Value {
			h.Top = append(h.Top, CategoryRevenue{kv.Key, kv.Value})
		}
	}
	for _, h := range hours {
		rep.Hours = append(rep.Hours, *h)
	}
	slices.SortFunc(rep.Hours, func(a, b HourStats) int { return cmp.Compare(a.Start, b.Start) })
	for c, cents := range days {
		rep.Categories = append(rep.Categories, CategoryRevenue{c, cents})
	}
	sortByRevenue(rep.Categories)
	for _, e := range r.slidingOrders.Elems() {
		rep.Sliding = append(rep.Sliding, WindowCount{e.Window.Start, e.Window.End, e.Value})
	}
	slices.SortFunc(rep.Sliding, func(a, b WindowCount) int { return cmp.Compare(a.Start, b.Start) })
	switch totals := r.sessionTotals.Elems(); len(totals) {
	case 0: // no orders
	case 1:
		rep.Sessions = totals[0].Value
	default:
		return nil, fmt.Errorf("%d session totals, want one", len(totals))
	}
	return rep, nil
}

// sortByRevenue sorts greatest first, as byRevenue orders.
func sortByRevenue(cs []CategoryRevenue) {
	slices.SortFunc(cs, func(a, b CategoryRevenue) int {
		if c := cmp.Compare(b.Cents, a.Cents); c != 0 {
			return c
		}
		return strings.Compare(a.Category, b.Category)
	})
}

// Print writes the report as text tables.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "Black Friday %s, simulated (seed %d): %s orders, %s revenue\n",
		day.Time().Format("2006-01-02"), r.Seed, commas(r.Orders), dollars(r.Cents))

	fmt.Fprintf(w, "\nPer hour (1-hour fixed windows)\n")
	fmt.Fprintf(w, "  %-5s  %9s  %-16s  %12s  %s\n", "hour", "orders", "", "revenue", "top 3 categories (share of the hour's revenue)")
	var busiest int64
	for _, h := range r.Hours {
		busiest = max(busiest, h.Orders)
	}
	for _, h := range r.Hours {
		var top []string
		for _, c := range h.Top {
			top = append(top, fmt.Sprintf("%s %s", c.Category, percent(c.Cents, h.Cents)))
		}
		fmt.Fprintf(w, "  %-5s  %9s  %-16s  %12s  %s\n", clock(h.Start), commas(h.Orders), bar(h.Orders, busiest, 16), dollars(h.Cents), strings.Join(top, ", "))
	}

	fmt.Fprintf(w, "\nRevenue per category (the whole day)\n")
	for _, c := range r.Categories {
		fmt.Fprintf(w, "  %-12s  %12s  %4s\n", c.Category, dollars(c.Cents), percent(c.Cents, r.Cents))
	}

	fmt.Fprintf(w, "\nBusiest hours (1-hour windows starting every 15 minutes)\n")
	top := slices.Clone(r.Sliding)
	slices.SortStableFunc(top, func(a, b WindowCount) int { return cmp.Compare(b.Orders, a.Orders) })
	for _, wc := range top[:min(3, len(top))] {
		fmt.Fprintf(w, "  %s-%s  %9s orders\n", clock(wc.Start), clock(wc.End), commas(wc.Orders))
	}

	fmt.Fprintf(w, "\nSessions (a user's orders less than 10 minutes apart)\n")
	s := r.Sessions
	if s.Sessions == 0 {
		fmt.Fprintf(w, "  none\n")
		return
	}
	meanActive := time.Duration(s.ActiveMillis/s.Sessions) * time.Millisecond
	fmt.Fprintf(w, "  %s sessions: %.2f orders and %v from first to last order on average; longest %v\n",
		commas(s.Sessions), float64(s.Orders)/float64(s.Sessions), meanActive.Round(time.Second),
		(time.Duration(s.LongestMillis) * time.Millisecond).Round(time.Second))
}

// clock formats an event time as the hour and minute of the day, UTC.
func clock(t dataflow.EventTime) string { return t.Time().Format("15:04") }

// commas formats n with thousands separators.
func commas(n int64) string {
	if n < 0 {
		return "-" + commas(-n)
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// dollars formats cents as whole dollars, rounded.
func dollars(cents int64) string { return "$" + commas((cents+50)/100) }

func percent(part, whole int64) string {
	if whole == 0 {
		return "-"
	}
	return fmt.Sprintf("%d%%", (200*part+whole)/(2*whole))
}

// bar draws v out of most as a bar of at most width cells, in eighths.
func bar(v, most int64, width int) string {
	if most <= 0 {
		return ""
	}
	eighths := int(v * int64(width) * 8 / most)
	partial := []string{"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"}
	return strings.Repeat("█", eighths/8) + partial[eighths%8]
}
