package parquetio

import (
	"testing"
	"time"

	"github.com/parquet-go/parquet-go/deprecated"
)

func TestTimeConversions(t *testing.T) {
	// INT96: nanoseconds of the day in the low 8 bytes, the Julian day in the high 4.
	at := time.Date(2024, 3, 5, 13, 14, 15, 16_000_000, time.UTC)
	day := at.Unix()/86400 + julianUnixEpoch
	nanos := uint64(at.Sub(at.Truncate(24 * time.Hour)))
	v := deprecated.Int96{uint32(nanos), uint32(nanos >> 32), uint32(day)}
	if got := timeOfInt96(v); !got.Equal(at) {
		t.Errorf("timeOfInt96 = %v, want %v", got, at)
	}
	if got := millisOfInt96(v); got != at.UnixMilli() {
		t.Errorf("millisOfInt96 = %d, want %d", got, at.UnixMilli())
	}
	for _, tc := range []struct {
		unit time.Duration
		v    int64
		ms   int64
	}{
		{time.Microsecond, 1_999, 1}, {time.Microsecond, -1, -1}, {time.Nanosecond, -1_000_001, -2},
		{time.Millisecond, -5, -5}, {time.Nanosecond, 3_000_000, 3},
	} {
		if got := millisOfUnit(tc.unit)(tc.v); got != tc.ms {
			t.Errorf("millisOfUnit(%v)(%d) = %d, want %d", tc.unit, tc.v, got, tc.ms)
		}
		if got := timeOfUnit(tc.unit)(tc.v); !got.Equal(time.Unix(0, tc.v*int64(tc.unit))) {
			t.Errorf("timeOfUnit(%v)(%d) = %v", tc.unit, tc.v, got)
		}
	}
	if got := timeOfDate(-1); !got.Equal(time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("timeOfDate(-1) = %v", got)
	}
	if got := ceilMillis(time.UnixMilli(5).Add(time.Nanosecond)); got != 6 {
		t.Errorf("ceilMillis = %d", got)
	}
}
