package dataflow

import (
	"fmt"
	"math"
	"time"
)

// EventTime is a point in event time, in milliseconds since the Unix epoch.
//
// Milliseconds are Beam's and Kafka's precision, so an EventTime round-trips
// through the Beam bridge without moving any element to another window.
type EventTime int64

const (
	// MinTime is Beam's minimum timestamp (BoundedWindow.TIMESTAMP_MIN_VALUE).
	MinTime EventTime = math.MinInt64 / 1000
	// MaxTime is Beam's maximum timestamp (BoundedWindow.TIMESTAMP_MAX_VALUE).
	// A watermark at MaxTime means that no more input will arrive.
	MaxTime EventTime = math.MaxInt64 / 1000
	// EndOfGlobalWindow is the maximum timestamp of the global window: one day
	// before MaxTime, as in Beam, so that the global window can still fire.
	EndOfGlobalWindow EventTime = MaxTime - EventTime(24*time.Hour/time.Millisecond)
)

// FromTime converts a time.Time to event time (truncated to milliseconds).
func FromTime(t time.Time) EventTime { return EventTime(t.UnixMilli()) }

// FromMillis returns the event time ms milliseconds after the epoch.
func FromMillis(ms int64) EventTime { return EventTime(ms) }

// Millis returns t as milliseconds since the epoch.
func (t EventTime) Millis() int64 { return int64(t) }

// Time converts t to a UTC time.Time.
func (t EventTime) Time() time.Time { return time.UnixMilli(int64(t)).UTC() }

// Add returns t+d, truncating d to milliseconds and saturating at MinTime and MaxTime.
func (t EventTime) Add(d time.Duration) EventTime {
	ms := int64(d / time.Millisecond)
	r := int64(t) + ms
	switch {
	case ms > 0 && (r < int64(t) || r > int64(MaxTime)):
		return MaxTime
	case ms < 0 && (r > int64(t) || r < int64(MinTime)):
		return MinTime
	}
	return EventTime(r)
}

// Before reports whether t is before u.
func (t EventTime) Before(u EventTime) bool { return t < u }

// After reports whether t is after u.
func (t EventTime) After(u EventTime) bool { return t > u }

func (t EventTime) String() string {
	switch t {
	case MinTime:
		return "-inf"
	case MaxTime:
		return "+inf"
	case EndOfGlobalWindow:
		return "end-of-global-window"
	}
	return t.Time().Format("2006-01-02T15:04:05.000Z")
}

// MinOf returns the earlier of two event times.
func MinOf(a, b EventTime) EventTime {
	if a < b {
		return a
	}
	return b
}

// MaxOf returns the later of two event times.
func MaxOf(a, b EventTime) EventTime {
	if a > b {
		return a
	}
	return b
}

func checkDuration(what string, d time.Duration) error {
	if d%time.Millisecond != 0 {
		return fmt.Errorf("%s %v is not a whole number of milliseconds (event time has millisecond precision)", what, d)
	}
	return nil
}
