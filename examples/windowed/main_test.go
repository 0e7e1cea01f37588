package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// floor returns the start of the window of the given size that contains t.
func floor(t dataflow.EventTime, size time.Duration) dataflow.EventTime {
	ms := dataflow.EventTime(size / time.Millisecond)
	return t - (t%ms+ms)%ms
}

// loopReport computes the report with a plain loop over the same orders:
// the reference the pipeline must match.
func loopReport(seed uint64, n int64) *Report {
	g := newGenerator(seed, n)
	rep := &Report{Seed: seed, N: n}
	hours := map[dataflow.EventTime]*HourStats{}
	hourCats := map[dataflow.EventTime]map[string]int64{}
	days := map[string]int64{}
	sliding := map[dataflow.EventTime]int64{}
	userTimes := map[int64][]dataflow.EventTime{}
	hourMs := dataflow.EventTime(time.Hour / time.Millisecond)
	for i := range n {
		o := g.order(i)
		rep.Orders++
		rep.Cents += o.Cents
		start := floor(o.Time, time.Hour)
		h := hours[start]
		if h == nil {
			h = &HourStats{Start: start}
			hours[start] = h
			hourCats[start] = map[string]int64{}
		}
		h.Orders++
		h.Cents += o.Cents
		hourCats[start][o.Category] += o.Cents
		days[o.Category] += o.Cents
		for s := floor(o.Time, 15*time.Minute); s > o.Time-hourMs; s -= dataflow.EventTime(15 * time.Minute / time.Millisecond) {
			sliding[s]++
		}
		userTimes[o.User] = append(userTimes[o.User], o.Time)
	}
	for start, h := range hours {
		var cs []CategoryRevenue
		for c, cents := range hourCats[start] {
			cs = append(cs, CategoryRevenue{c, cents})
		}
		sortByRevenue(cs)
		h.Top = cs[:min(3, len(cs))]
		rep.Hours = append(rep.Hours, *h)
	}
	slices.SortFunc(rep.Hours, func(a, b HourStats) int { return int(a.Start - b.Start) })
	for c, cents := range days {
		rep.Categories = append(rep.Categories, CategoryRevenue{c, cents})
	}
	sortByRevenue(rep.Categories)
	for s, c := range sliding {
		rep.Sliding = append(rep.Sliding, WindowCount{s, s + hourMs, c})
	}
	slices.SortFunc(rep.Sliding, func(a, b WindowCount) int { return int(a.Start - b.Start) })
	gap := dataflow.EventTime(sessionGap / time.Millisecond)
	for _, ts := range userTimes {
		slices.Sort(ts)
		first, last, orders := ts[0], ts[0], int64(0)
		end := func() {
			rep.Sessions.Sessions++
			rep.Sessions.Orders += orders
			rep.Sessions.ActiveMillis += int64(last - first)
			rep.Sessions.LongestMillis = max(rep.Sessions.LongestMillis, int64(last-first))
		}
		for _, t := range ts {
			if t-last >= gap { // the windows [last, last+gap) and [t, t+gap) do not meet
				end()
				first, orders = t, 0
			}
			last = t
			orders++
		}
		end()
	}
	return rep
}

func TestReportMatchesLoop(t *testing.T) {
	for _, tc := range []struct {
		seed        uint64
		n           int64
		parallelism int
	}{
		{42, 0, 2},
		{42, 1, 1},
		{42, 5, 3},
		{42, 20_000, 1},
		{42, 20_000, 4},
		{7, 50_001, 3},
	} {
		t.Run(fmt.Sprintf("seed=%d/n=%d/parallelism=%d", tc.seed, tc.n, tc.parallelism), func(t *testing.T) {
			got, err := run(context.Background(), config{orders: tc.n, seed: tc.seed, parallelism: tc.parallelism})
			if err != nil {
				t.Fatal(err)
			}
			want := loopReport(tc.seed, tc.n)
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("pipeline report differs from the loop's (-loop +pipeline):\n%s", diff)
			}
			if got.Orders != tc.n {
				t.Errorf("%d orders in the hourly windows, want %d", got.Orders, tc.n)
			}
			if got.Sessions.Orders != tc.n {
				t.Errorf("%d orders in sessions, want %d", got.Sessions.Orders, tc.n)
			}
		})
	}
}

// TestOrdersStayInTheDay checks the generator: every order falls on the
// simulated day, so the report has at most 24 hours.
func TestOrdersStayInTheDay(t *testing.T) {
	g := newGenerator(1, 100_000)
	for i := range g.n {
		o := g.order(i)
		if o.Time < day || o.Time >= day+dayMillis {
			t.Fatalf("order %d at %v, outside the day", i, o.Time)
		}
		if o.Cents <= 0 || o.User < 0 || o.User >= g.users {
			t.Fatalf("order %d: %+v", i, o)
		}
	}
}

func TestMainOutput(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := mainErr(context.Background(), config{orders: 1000, seed: 42}, f); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b)
}

// Example runs the analytics on 3,000 orders and prints the report.
func Example() {
	rep, err := run(context.Background(), config{orders: 3000, seed: 42, parallelism: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep.Print(os.Stdout)
	// Output:
	// Black Friday 2024-11-29, simulated (seed 42): 3,000 orders, $133,168 revenue
	//
	// Per hour (1-hour fixed windows)
	//   hour      orders                         revenue  top 3 categories (share of the hour's revenue)
	//   00:00         64  ████▌                   $2,925  electronics 23%, home 22%, fashion 22%
	//   01:00         51  ███▋                    $2,170  electronics 34%, sports 20%, home 17%
	//   02:00         38  ██▋                     $1,486  fashion 34%, electronics 16%, grocery 11%
	//   03:00         29  ██                      $1,143  electronics 39%, sports 14%, grocery 13%
	//   04:00         26  █▊                        $786  home 23%, fashion 23%, beauty 17%
	//   05:00         24  █▋                        $895  fashion 34%, home 17%, toys 14%
	//   06:00         60  ████▎                   $2,138  sports 22%, fashion 19%, home 19%
	//   07:00         83  █████▉                  $4,070  electronics 34%, sports 23%, fashion 18%
	//   08:00        123  ████████▋               $6,235  home 36%, electronics 16%, sports 16%
	//   09:00        127  █████████               $5,301  home 35%, electronics 22%, sports 11%
	//   10:00        142  ██████████              $7,367  home 52%, electronics 14%, fashion 11%
	//   11:00        124  ████████▊               $6,593  home 32%, fashion 23%, electronics 17%
	//   12:00        168  ███████████▉            $7,492  fashion 29%, home 23%, electronics 20%
	//   13:00        180  ████████████▊           $7,223  fashion 41%, electronics 17%, home 13%
	//   14:00        145  ██████████▎             $6,932  fashion 38%, electronics 19%, home 18%
	//   15:00        155  ███████████             $6,549  fashion 42%, electronics 19%, grocery 10%
	//   16:00        155  ███████████             $5,759  electronics 30%, fashion 19%, toys 13%
	//   17:00        216  ███████████████▎        $8,683  electronics 22%, home 22%, grocery 19%
	//   18:00        185  █████████████▏          $7,394  electronics 29%, grocery 23%, home 15%
	//   19:00        222  ███████████████▊       $10,490  electronics 42%, grocery 14%, fashion 12%
	//   20:00        225  ████████████████       $10,547  electronics 35%, home 24%, fashion 14%
	//   21:00        216  ███████████████▎        $9,351  electronics 50%, home 12%, books 11%
	//   22:00        142  ██████████              $6,721  electronics 40%, home 16%, fashion 15%
	//   23:00        100  ███████                 $4,920  electronics 42%, home 18%, fashion 16%
	//
	// Revenue per category (the whole day)
	//   electronics        $36,726   28%
	//   home               $27,063   20%
	//   fashion            $25,787   19%
	//   grocery            $13,200   10%
	//   sports             $10,714    8%
	//   books               $6,867    5%
	//   beauty              $6,526    5%
	//   toys                $6,287    5%
	//
	// Busiest hours (1-hour windows starting every 15 minutes)
	//   19:15-20:15        262 orders
	//   19:30-20:30        256 orders
	//   19:45-20:45        255 orders
	//
	// Sessions (a user's orders less than 10 minutes apart)
	//   1,732 sessions: 1.73 orders and 3m24s from first to last order on average; longest 41m43s
}
