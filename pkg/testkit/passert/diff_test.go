package passert

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestMatchMultiset(t *testing.T) {
	x, y := 1, 1
	a, b := 0.1, 0.2
	for _, tc := range []struct {
		name                string
		want, got           []any
		opts                []cmp.Option
		missing, unexpected []any
	}{
		{name: "empty"},
		{name: "equal in another order", want: []any{1, 2, 2, 3}, got: []any{2, 3, 2, 1}},
		{name: "multiplicity", want: []any{1, 1, 2}, got: []any{1, 2, 2}, missing: []any{1}, unexpected: []any{2}},
		{name: "types differ", want: []any{1}, got: []any{int64(1)}, missing: []any{1}, unexpected: []any{int64(1)}},
		// Pointers print as addresses, so they only match in the second pass.
		{name: "pointers", want: []any{&x}, got: []any{&y}},
		{name: "approx", want: []any{0.3}, got: []any{a + b}, opts: []cmp.Option{cmpopts.EquateApprox(0, 1e-9)}},
		{name: "not approx", want: []any{0.3}, got: []any{a + b}, missing: []any{0.3}, unexpected: []any{a + b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			missing, unexpected := matchMultiset(options(tc.opts), tc.want, tc.got)
			if d := cmp.Diff(tc.missing, missing, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("missing (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.unexpected, unexpected, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("unexpected (-want +got):\n%s", d)
			}
		})
	}
}

// TestMatchMultisetLarge checks that matching is not quadratic in the common
// case, and that duplicates are counted.
func TestMatchMultisetLarge(t *testing.T) {
	const n = 20000
	want := make([]int, n)
	got := make([]int, n)
	for i := range want {
		want[i] = i % 100
		got[n-1-i] = i % 100
	}
	missing, unexpected := matchMultiset(options(nil), want, got)
	if len(missing) != 0 || len(unexpected) != 0 {
		t.Fatalf("missing %v, unexpected %v", missing, unexpected)
	}
	got[0] = -1
	missing, unexpected = matchMultiset(options(nil), want, got)
	if len(missing) != 1 || len(unexpected) != 1 || unexpected[0] != -1 {
		t.Fatalf("missing %v, unexpected %v", missing, unexpected)
	}
}

func TestEqualMultisetMessage(t *testing.T) {
	err := equalMultisetOf(options(nil), "Equals", []string{"a", "b"}, []string{"b", "c", "c"})
	if err == nil {
		t.Fatal("no error")
	}
	want := `Equals: got 3 elements, want 2 (in any order): 1 missing, 2 unexpected
missing (want, not got): 1
	"a"
unexpected (got, not want): 2
	"c"
	"c"
diff (-want +got), both sorted by printed form:
`
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message:\n%s\nwant prefix:\n%s", err, want)
	}
	// Long lists are cut short.
	var many []int
	for i := range maxDiffed + 1 {
		many = append(many, i)
	}
	err = equalMultisetOf(options(nil), "Equals", nil, many)
	if !strings.Contains(err.Error(), "... and 151 more") || strings.Contains(err.Error(), "diff (-want +got)") {
		t.Errorf("long message not shortened:\n%s", err)
	}
}
