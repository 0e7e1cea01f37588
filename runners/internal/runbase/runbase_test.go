package runbase

import (
	"context"
	"errors"
	"strings"
	"testing"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

func TestOrder(t *testing.T) {
	deps := map[string][]string{"c": {"a", "b"}, "b": {"a"}, "d": {"c"}}
	got, err := Order([]string{"d", "b"}, func(s string) []string { return deps[s] })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "") != "abcd" {
		t.Fatalf("order %v, want a b c d", got)
	}
	deps["a"] = []string{"d"}
	if _, err := Order([]string{"d"}, func(s string) []string { return deps[s] }); err == nil || !strings.Contains(err.Error(), "cyclic") {
		t.Fatalf("cycle: %v", err)
	}
}

func TestResultStates(t *testing.T) {
	stop := errors.New("stopped by the user")
	for _, tc := range []struct {
		err    error
		cancel bool
		want   df.State
	}{
		{nil, false, df.Done},
		{errors.New("boom"), false, df.Failed},
		{context.Canceled, false, df.Cancelled},
		{errors.New("interrupted"), true, df.Cancelled},
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		r := NewResult(cancel, stop)
		if tc.cancel {
			r.Cancel()
		}
		r.Finish(ctx, tc.err)
		if got := r.State(); got != tc.want {
			t.Errorf("err %v, cancel %v: state %v, want %v", tc.err, tc.cancel, got, tc.want)
		}
		if err := r.Wait(context.Background()); !errors.Is(err, tc.err) {
			t.Errorf("Wait: %v, want %v", err, tc.err)
		}
	}
}
