package dataflow

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestEventTimeBounds(t *testing.T) {
	if got, want := int64(MinTime), int64(-9223372036854775); got != want {
		t.Errorf("MinTime = %d, want Beam's %d", got, want)
	}
	if got, want := int64(MaxTime), int64(9223372036854775); got != want {
		t.Errorf("MaxTime = %d, want Beam's %d", got, want)
	}
	if got, want := int64(EndOfGlobalWindow), int64(9223372036854775)-86400000; got != want {
		t.Errorf("EndOfGlobalWindow = %d, want %d", got, want)
	}
	if GlobalWindow.MaxTimestamp() != EndOfGlobalWindow {
		t.Errorf("global window max timestamp %v", GlobalWindow.MaxTimestamp())
	}
	if MaxTime.Add(time.Hour) != MaxTime || MinTime.Add(-time.Hour) != MinTime {
		t.Error("Add does not saturate")
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 123_456_789, time.UTC)
	if got := FromTime(now).Time(); !got.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("round trip %v -> %v", now, got)
	}
}

func TestAssignWindows(t *testing.T) {
	w := func(s, e int64) Window { return IntervalWindow(EventTime(s), EventTime(e)) }
	tests := []struct {
		fn   WindowFn
		t    int64
		want []Window
	}{
		{Global(), 5, []Window{GlobalWindow}},
		{Fixed(10 * time.Millisecond), 0, []Window{w(0, 10)}},
		{Fixed(10 * time.Millisecond), 9, []Window{w(0, 10)}},
		{Fixed(10 * time.Millisecond), 10, []Window{w(10, 20)}},
		{Fixed(10 * time.Millisecond), -1, []Window{w(-10, 0)}},
		{Fixed(10 * time.Millisecond), -10, []Window{w(-10, 0)}},
		{FixedOffset(10*time.Millisecond, 3*time.Millisecond), 2, []Window{w(-7, 3)}},
		{FixedOffset(10*time.Millisecond, 3*time.Millisecond), 3, []Window{w(3, 13)}},
		{Sliding(10*time.Millisecond, 5*time.Millisecond), 7, []Window{w(5, 15), w(0, 10)}},
		{Sliding(10*time.Millisecond, 5*time.Millisecond), 5, []Window{w(5, 15), w(0, 10)}},
		{Sliding(10*time.Millisecond, 3*time.Millisecond), 0, []Window{w(0, 10), w(-3, 7), w(-6, 4), w(-9, 1)}},
		{SlidingOffset(10*time.Millisecond, 5*time.Millisecond, 2*time.Millisecond), 1, []Window{w(-3, 7), w(-8, 2)}},
		{Sessions(10 * time.Millisecond), 4, []Window{w(4, 14)}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v@%d", tt.fn, tt.t), func(t *testing.T) {
			got := tt.fn.AssignWindows(nil, EventTime(tt.t))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
			for _, win := range got {
				if !win.Contains(EventTime(tt.t)) {
					t.Fatalf("window %v does not contain %d", win, tt.t)
				}
			}
		})
	}
}

func TestSideInputWindowMapping(t *testing.T) {
	main := IntervalWindow(10, 20)
	if got, _ := Fixed(5 * time.Millisecond).SideInputWindow(main); got != IntervalWindow(15, 20) {
		t.Errorf("fixed: %v", got)
	}
	if got, _ := Global().SideInputWindow(main); got != GlobalWindow {
		t.Errorf("global: %v", got)
	}
	// The latest sliding window that contains the end of the main window.
	if got, _ := Sliding(10*time.Millisecond, 5*time.Millisecond).SideInputWindow(main); got != IntervalWindow(15, 25) {
		t.Errorf("sliding: %v", got)
	}
	if _, err := Sessions(time.Second).SideInputWindow(main); err == nil {
		t.Error("sessions accepted as side input windows")
	}
}

func TestMergeWindows(t *testing.T) {
	w := func(s, e int64) Window { return IntervalWindow(EventTime(s), EventTime(e)) }
	merged, into := MergeWindows([]Window{w(20, 30), w(0, 10), w(5, 15), w(40, 50), w(15, 21)})
	// [15,21) only touches [0,15), so it merges with [20,30) alone.
	if diff := cmp.Diff([]Window{w(0, 15), w(15, 30), w(40, 50)}, merged); diff != "" {
		t.Fatalf("merged (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 0, 0, 2, 1}, into); diff != "" {
		t.Fatalf("into (-want +got)\n%s", diff)
	}
	// Touching windows [0,10) and [10,20) do not overlap and do not merge, as in Beam.
	merged, _ = MergeWindows([]Window{w(0, 10), w(10, 20)})
	if len(merged) != 2 {
		t.Fatalf("touching windows merged: %v", merged)
	}
}

func TestWindowingValidation(t *testing.T) {
	bad := []WindowingStrategy{
		{Fn: Fixed(0), Trigger: Default()},
		{Fn: FixedOffset(time.Second, time.Second), Trigger: Default()},
		{Fn: Sliding(time.Second, 0), Trigger: Default()},
		{Fn: Sessions(-time.Second), Trigger: Default()},
		{Fn: Fixed(time.Microsecond), Trigger: Default()},
		{Fn: Global(), Trigger: AfterCount(0)},
		{Fn: Global(), Trigger: AfterAny()},
		{Fn: Global(), Trigger: Default(), AllowedLateness: -time.Second},
	}
	for _, ws := range bad {
		if err := ws.Validate(); err == nil {
			t.Errorf("%v: accepted", ws)
		}
	}
	if err := DefaultWindowing().Validate(); err != nil {
		t.Error(err)
	}
}

func TestContinuationTrigger(t *testing.T) {
	tests := []struct{ in, want Trigger }{
		{Default(), Default()},
		{AfterCount(5), AfterCount(1)},
		{Repeatedly(AfterCount(3)), Repeatedly(AfterCount(1))},
		{AfterWatermark().WithEarlyFirings(AfterCount(4)).WithLateFirings(AfterProcessingTime(time.Minute)),
			AfterWatermark().WithEarlyFirings(AfterCount(1)).WithLateFirings(AfterProcessingTime(0))},
		{AfterEach(AfterCount(2), AfterCount(3)), Repeatedly(AfterAny(AfterCount(1), AfterCount(1)))},
		{OrFinally(Always(), AfterCount(9)), OrFinally(Always(), AfterCount(1))},
		{Never(), Never()},
	}
	for _, tt := range tests {
		if got := ContinuationTrigger(tt.in); got.String() != tt.want.String() {
			t.Errorf("ContinuationTrigger(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
