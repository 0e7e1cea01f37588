package passert

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// options returns the go-cmp options of an assertion: unexported fields are
// compared (test values are often structs of a package's own types), and nil
// and empty slices and maps are equal (a runner may decode an empty group or
// an empty slice either way), then the user's options.
func options(extra []cmp.Option) cmp.Options {
	return cmp.Options{
		cmp.Exporter(func(reflect.Type) bool { return true }),
		cmpopts.EquateEmpty(),
		cmp.Options(extra),
	}
}

// format prints a value for messages and for the canonical order of
// multisets: strings quoted (so that "a b" is not two values), everything
// else with %+v.
func format(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case []byte:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%+v", v)
}

// maxListed bounds the elements a message lists, and maxDiffed the elements
// for which it adds a full go-cmp diff, so that a failure on a large
// collection stays readable.
const (
	maxListed = 50
	maxDiffed = 200
)

// maxCross bounds the pairwise comparisons of the second matching pass.
const maxCross = 1 << 18

// matchMultiset matches got against want as multisets under go-cmp equality
// and returns the values of want that are not in got and those of got that
// are not in want. Candidates are first looked up by their printed form,
// which equal values almost always share; the values left over are then
// compared pairwise (for options such as EquateApprox, and for pointers, whose
// printed forms differ), unless there are too many of them.
func matchMultiset[U any](opts cmp.Options, want, got []U) (missing, unexpected []U) {
	byKey := make(map[string][]int, len(want))
	for i := range want {
		k := format(want[i])
		byKey[k] = append(byKey[k], i)
	}
	used := make([]bool, len(want))
	var left []U
	for _, g := range got {
		k := format(g)
		idxs := byKey[k]
		found := false
		for j, i := range idxs {
			if cmp.Equal(want[i], g, opts) {
				used[i] = true
				idxs[j] = idxs[len(idxs)-1]
				byKey[k] = idxs[:len(idxs)-1]
				found = true
				break
			}
		}
		if !found {
			left = append(left, g)
		}
	}
	var leftWant []int
	for i := range want {
		if !used[i] {
			leftWant = append(leftWant, i)
		}
	}
	if len(left) > 0 && len(leftWant) > 0 && len(left)*len(leftWant) <= maxCross {
		rest := left[:0:0]
		for _, g := range left {
			found := false
			for _, i := range leftWant {
				if !used[i] && cmp.Equal(want[i], g, opts) {
					used[i] = true
					found = true
					break
				}
			}
			if !found {
				rest = append(rest, g)
			}
		}
		left = rest
	}
	for i := range want {
		if !used[i] {
			missing = append(missing, want[i])
		}
	}
	return missing, left
}

// equalMultisetOf reports, as an error with the missing and unexpected values
// and a diff, whether got and want differ as multisets.
func equalMultisetOf[U any](opts cmp.Options, kind string, want, got []U) error {
	missing, unexpected := matchMultiset(opts, want, got)
	if len(missing) == 0 && len(unexpected) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: got %d elements, want %d (in any order): %d missing, %d unexpected\n", kind, len(got), len(want), len(missing), len(unexpected))
	b.WriteString(listValues("missing (want, not got)", missing))
	b.WriteString(listValues("unexpected (got, not want)", unexpected))
	if len(want)+len(got) <= maxDiffed {
		fmt.Fprintf(&b, "diff (-want +got), both sorted by printed form:\n%s", cmp.Diff(sorted(want), sorted(got), opts))
	}
	return fmt.Errorf("%s", strings.TrimRight(b.String(), "\n"))
}

// sorted returns vs sorted by printed form.
func sorted[U any](vs []U) []U {
	type kv struct {
		k string
		v U
	}
	s := make([]kv, len(vs))
	for i, v := range vs {
		s[i] = kv{format(v), v}
	}
	slices.SortStableFunc(s, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	out := make([]U, len(vs))
	for i := range s {
		out[i] = s[i].v
	}
	return out
}

func listValues[U any](title string, vs []U) string {
	if len(vs) == 0 {
		return ""
	}
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = format(v)
	}
	slices.Sort(s)
	return listStrings(title, s)
}

func listStrings(title string, s []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d\n", title, len(s))
	for i, x := range s {
		if i == maxListed {
			fmt.Fprintf(&b, "\t... and %d more\n", len(s)-maxListed)
			break
		}
		fmt.Fprintf(&b, "\t%s\n", x)
	}
	return b.String()
}

func compareWindows(a, b dataflow.Window) int {
	if a.Start != b.Start {
		return cmpInt(int64(a.Start), int64(b.Start))
	}
	return cmpInt(int64(a.End), int64(b.End))
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (cx *checkCtx[T]) windowsEqual(want map[dataflow.Window][]T, got []dataflow.Elem[T]) error {
	byWindow := map[dataflow.Window][]T{}
	for _, e := range got {
		byWindow[e.Window] = append(byWindow[e.Window], e.Value)
	}
	var windows []dataflow.Window
	for w := range want {
		windows = append(windows, w)
	}
	for w := range byWindow {
		if _, ok := want[w]; !ok {
			windows = append(windows, w)
		}
	}
	slices.SortFunc(windows, compareWindows)
	var b strings.Builder
	bad := 0
	for _, w := range windows {
		wv, gv := want[w], byWindow[w]
		missing, unexpected := matchMultiset(cx.opts, wv, gv)
		if len(missing) == 0 && len(unexpected) == 0 {
			continue
		}
		bad++
		switch {
		case len(gv) == 0:
			fmt.Fprintf(&b, "window %v: missing, want %d elements\n", w, len(wv))
		case len(wv) == 0:
			fmt.Fprintf(&b, "window %v: unexpected, got %d elements\n", w, len(gv))
		default:
			fmt.Fprintf(&b, "window %v: got %d elements, want %d\n", w, len(gv), len(wv))
		}
		b.WriteString(listValues("  missing (want, not got)", missing))
		b.WriteString(listValues("  unexpected (got, not want)", unexpected))
	}
	if bad == 0 {
		return nil
	}
	return fmt.Errorf("WindowsEqual: %d of %d windows differ\n%s", bad, len(windows), strings.TrimRight(b.String(), "\n"))
}

// paneSummary is a pane as printed in a diff.
type paneSummary struct {
	Window              dataflow.Window
	Timing              string
	Index               int64
	NonSpeculativeIndex int64
	IsFirst, IsLast     bool
	Values              []string
}

func comparePanes(a, b dataflow.PaneInfo) int {
	if c := cmpInt(a.Index, b.Index); c != 0 {
		return c
	}
	return strings.Compare(a.String(), b.String())
}

func (cx *checkCtx[T]) panesEqual(want []Pane[T], got []dataflow.Elem[T]) error {
	type key struct {
		w dataflow.Window
		p dataflow.PaneInfo
	}
	idx := map[key]int{}
	var panes []Pane[T]
	for _, e := range got {
		k := key{e.Window, e.Pane}
		i, ok := idx[k]
		if !ok {
			i = len(panes)
			idx[k] = i
			panes = append(panes, Pane[T]{Window: e.Window, Pane: e.Pane})
		}
		panes[i].Values = append(panes[i].Values, e.Value)
	}
	order := func(a, b Pane[T]) int {
		if c := compareWindows(a.Window, b.Window); c != 0 {
			return c
		}
		return comparePanes(a.Pane, b.Pane)
	}
	slices.SortStableFunc(panes, order)
	want = slices.Clone(want)
	slices.SortStableFunc(want, order)
	same := len(panes) == len(want)
	for i := 0; same && i < len(panes); i++ {
		if panes[i].Window != want[i].Window || panes[i].Pane != want[i].Pane {
			same = false
			break
		}
		missing, unexpected := matchMultiset(cx.opts, want[i].Values, panes[i].Values)
		same = len(missing) == 0 && len(unexpected) == 0
	}
	if same {
		return nil
	}
	summary := func(ps []Pane[T]) []paneSummary {
		out := make([]paneSummary, len(ps))
		for i, p := range ps {
			vs := make([]string, len(p.Values))
			for j, v := range p.Values {
				vs[j] = format(v)
			}
			slices.Sort(vs)
			out[i] = paneSummary{Window: p.Window, Timing: p.Pane.Timing.String(), Index: p.Pane.Index,
				NonSpeculativeIndex: p.Pane.NonSpeculativeIndex, IsFirst: p.Pane.IsFirst, IsLast: p.Pane.IsLast, Values: vs}
		}
		return out
	}
	return fmt.Errorf("Panes: got %d panes, want %d\ndiff (-want +got), panes ordered by window and index, values by printed form:\n%s",
		len(panes), len(want), cmp.Diff(summary(want), summary(panes), cmpopts.EquateEmpty()))
}
