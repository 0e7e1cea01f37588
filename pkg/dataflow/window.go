package dataflow

import (
	"fmt"
	"slices"
	"time"
)

// Window is an event-time window: the interval [Start, End). The global window
// is the interval that ends just after EndOfGlobalWindow. Windows are small
// comparable values so runners can use them in map keys without allocating.
type Window struct {
	Start EventTime // inclusive
	End   EventTime // exclusive
}

// GlobalWindow is the single window of the GlobalWindows WindowFn.
var GlobalWindow = Window{Start: MinTime, End: EndOfGlobalWindow + 1}

// IntervalWindow returns the window [start, end).
func IntervalWindow(start, end EventTime) Window { return Window{Start: start, End: end} }

// IsGlobal reports whether w is the global window.
func (w Window) IsGlobal() bool { return w == GlobalWindow }

// MaxTimestamp is the largest timestamp in w: End-1, as in Beam.
func (w Window) MaxTimestamp() EventTime { return w.End - 1 }

// Contains reports whether t is in w.
func (w Window) Contains(t EventTime) bool { return t >= w.Start && t < w.End }

// Intersects reports whether w and o overlap.
func (w Window) Intersects(o Window) bool { return w.Start < o.End && o.Start < w.End }

// Span returns the smallest window that covers w and o.
func (w Window) Span(o Window) Window {
	return Window{Start: MinOf(w.Start, o.Start), End: MaxOf(w.End, o.End)}
}

func (w Window) String() string {
	if w.IsGlobal() {
		return "[global]"
	}
	return fmt.Sprintf("[%v, %v)", w.Start, w.End)
}

// WindowFn assigns elements to windows. It is a sealed interface: the values
// are GlobalWindows, FixedWindows, SlidingWindows and SessionWindows.
type WindowFn interface {
	// AssignWindows appends the windows that contain timestamp t to dst.
	AssignWindows(dst []Window, t EventTime) []Window
	// IsMerging reports whether windows of this fn merge (sessions).
	IsMerging() bool
	// SideInputWindow maps a main-input window to the window of a side input
	// windowed by this fn, as Beam's default WindowMappingFn does.
	SideInputWindow(main Window) (Window, error)
	// Equal reports whether two window fns assign the same windows.
	Equal(WindowFn) bool
	String() string
	windowFn()
}

// GlobalWindows puts every element in the single global window.
type GlobalWindows struct{}

// FixedWindows assigns each element to one window of Size, aligned to Offset.
type FixedWindows struct {
	Size   time.Duration
	Offset time.Duration
}

// SlidingWindows assigns each element to the Size/Period windows of length
// Size that start every Period, aligned to Offset.
type SlidingWindows struct {
	Size   time.Duration
	Period time.Duration
	Offset time.Duration
}

// SessionWindows gives each element the window [t, t+Gap); windows of the same
// key that overlap merge, so a session ends after Gap without input.
type SessionWindows struct {
	Gap time.Duration
}

// Global returns the global WindowFn.
func Global() WindowFn { return GlobalWindows{} }

// Fixed returns fixed windows of the given size, aligned to the epoch.
func Fixed(size time.Duration) WindowFn { return FixedWindows{Size: size} }

// FixedOffset returns fixed windows of the given size, shifted by offset.
func FixedOffset(size, offset time.Duration) WindowFn {
	return FixedWindows{Size: size, Offset: offset}
}

// Sliding returns sliding windows of the given size that start every period.
func Sliding(size, period time.Duration) WindowFn { return SlidingWindows{Size: size, Period: period} }

// SlidingOffset returns sliding windows shifted by offset.
func SlidingOffset(size, period, offset time.Duration) WindowFn {
	return SlidingWindows{Size: size, Period: period, Offset: offset}
}

// Sessions returns session windows with the given gap.
func Sessions(gap time.Duration) WindowFn { return SessionWindows{Gap: gap} }

func (GlobalWindows) windowFn()  {}
func (FixedWindows) windowFn()   {}
func (SlidingWindows) windowFn() {}
func (SessionWindows) windowFn() {}

func (GlobalWindows) AssignWindows(dst []Window, _ EventTime) []Window {
	return append(dst, GlobalWindow)
}
func (GlobalWindows) IsMerging() bool { return false }
func (GlobalWindows) SideInputWindow(Window) (Window, error) {
	return GlobalWindow, nil
}
func (GlobalWindows) Equal(o WindowFn) bool { _, ok := o.(GlobalWindows); return ok }
func (GlobalWindows) String() string        { return "GlobalWindows" }

// floorMod returns the start of the period-aligned slot containing t.
func alignedStart(t EventTime, period, offset int64) EventTime {
	r := (int64(t) - offset) % period
	if r < 0 {
		r += period
	}
	return t - EventTime(r)
}

func (f FixedWindows) AssignWindows(dst []Window, t EventTime) []Window {
	size := int64(f.Size / time.Millisecond)
	start := alignedStart(t, size, int64(f.Offset/time.Millisecond))
	end := start + EventTime(size)
	if end > EndOfGlobalWindow+1 || end < start {
		end = EndOfGlobalWindow + 1
	}
	return append(dst, Window{Start: start, End: end})
}
func (FixedWindows) IsMerging() bool { return false }
func (f FixedWindows) SideInputWindow(main Window) (Window, error) {
	var buf [1]Window
	return f.AssignWindows(buf[:0], main.MaxTimestamp())[0], nil
}
func (f FixedWindows) Equal(o WindowFn) bool { g, ok := o.(FixedWindows); return ok && f == g }
func (f FixedWindows) String() string {
	if f.Offset != 0 {
		return fmt.Sprintf("FixedWindows(%v, offset %v)", f.Size, f.Offset)
	}
	return fmt.Sprintf("FixedWindows(%v)", f.Size)
}

func (f SlidingWindows) AssignWindows(dst []Window, t EventTime) []Window {
	size := EventTime(f.Size / time.Millisecond)
	period := int64(f.Period / time.Millisecond)
	last := alignedStart(t, period, int64(f.Offset/time.Millisecond))
	// Beam emits the windows from the latest start backwards.
	for start := last; start > t-size; start -= EventTime(period) {
		dst = append(dst, Window{Start: start, End: start + size})
	}
	return dst
}
func (SlidingWindows) IsMerging() bool { return false }

// SideInputWindow returns the latest window that contains the end of the main
// window, as Beam's SlidingWindows.getSideInputWindow does.
func (f SlidingWindows) SideInputWindow(main Window) (Window, error) {
	t := main.MaxTimestamp()
	start := alignedStart(t, int64(f.Period/time.Millisecond), int64(f.Offset/time.Millisecond))
	return Window{Start: start, End: start + EventTime(f.Size/time.Millisecond)}, nil
}
func (f SlidingWindows) Equal(o WindowFn) bool { g, ok := o.(SlidingWindows); return ok && f == g }
func (f SlidingWindows) String() string {
	return fmt.Sprintf("SlidingWindows(%v every %v, offset %v)", f.Size, f.Period, f.Offset)
}

func (f SessionWindows) AssignWindows(dst []Window, t EventTime) []Window {
	return append(dst, Window{Start: t, End: t.Add(f.Gap)})
}
func (SessionWindows) IsMerging() bool { return true }
func (SessionWindows) SideInputWindow(Window) (Window, error) {
	return Window{}, fmt.Errorf("session windows cannot be used for side inputs (Beam does not allow it)")
}
func (f SessionWindows) Equal(o WindowFn) bool { g, ok := o.(SessionWindows); return ok && f == g }
func (f SessionWindows) String() string        { return fmt.Sprintf("Sessions(gap %v)", f.Gap) }

// MergeWindows merges overlapping windows the way session windows merge:
// windows are sorted by start, and any window that intersects the span so far
// joins it. It returns the merged windows and, for each input window, the index
// of the merged window that contains it.
func MergeWindows(ws []Window) (merged []Window, into []int) {
	order := make([]int, len(ws))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if ws[a].Start != ws[b].Start {
			return cmpTime(ws[a].Start, ws[b].Start)
		}
		return cmpTime(ws[a].End, ws[b].End)
	})
	into = make([]int, len(ws))
	for _, i := range order {
		w := ws[i]
		if n := len(merged); n > 0 && merged[n-1].Intersects(w) {
			merged[n-1] = merged[n-1].Span(w)
		} else {
			merged = append(merged, w)
		}
		into[i] = len(merged) - 1
	}
	return merged, into
}

func cmpTime(a, b EventTime) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// validateWindowFn checks the parameters of a window fn.
func validateWindowFn(fn WindowFn) error {
	switch f := fn.(type) {
	case nil:
		return fmt.Errorf("nil WindowFn")
	case GlobalWindows:
	case FixedWindows:
		if f.Size <= 0 {
			return fmt.Errorf("%v: size must be positive", f)
		}
		if err := checkDuration("fixed window size", f.Size); err != nil {
			return err
		}
		if f.Offset < 0 || f.Offset >= f.Size {
			return fmt.Errorf("%v: offset must be in [0, size)", f)
		}
	case SlidingWindows:
		if f.Size <= 0 || f.Period <= 0 {
			return fmt.Errorf("%v: size and period must be positive", f)
		}
		if err := checkDuration("sliding window size", f.Size); err != nil {
			return err
		}
		if err := checkDuration("sliding window period", f.Period); err != nil {
			return err
		}
		if f.Offset < 0 || f.Offset >= f.Period {
			return fmt.Errorf("%v: offset must be in [0, period)", f)
		}
	case SessionWindows:
		if f.Gap <= 0 {
			return fmt.Errorf("%v: gap must be positive", f)
		}
		if err := checkDuration("session gap", f.Gap); err != nil {
			return err
		}
	}
	return nil
}
