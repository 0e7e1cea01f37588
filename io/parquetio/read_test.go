package parquetio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		file, column string
		rowGroup     int
		want         string
	}{
		{"bad/truncated.parquet", "", -1, "not a readable Parquet file"},
		{"bad/not_parquet.parquet", "", -1, "not a readable Parquet file"},
		{"bad/corrupt_page.parquet", "ts_ms", 0, ""},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			_, err := readAll[event](t, path, 2)
			var re *ReadError
			if !errors.As(err, &re) {
				t.Fatalf("read: %v, want a ReadError", err)
			}
			if re.Path != path || re.RowGroup != tc.rowGroup || re.Column != tc.column || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: path %q, row group %d, column %q; want %q, %d, %q and %q", err, re.Path, re.RowGroup, re.Column, path, tc.rowGroup, tc.column, tc.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

type needsPrice struct {
	Key   int64 `parquet:"key"`
	Price int64 `parquet:"price"`
}

type keyAsString struct {
	Key string `parquet:"key"`
}

type optionalPrice struct {
	Key   int64  `parquet:"key"`
	Price *int64 `parquet:"price"`
	Note  string `parquet:"note,optional"`
}

func TestSchemaMismatch(t *testing.T) {
	const path = "testdata/duckdb_events.parquet"
	_, err := readAll[needsPrice](t, path, 1)
	if err == nil || !strings.Contains(err.Error(), `column "price": missing from the file`) || !strings.Contains(err.Error(), path) {
		t.Errorf("missing required column: %v", err)
	}
	_, err = readAll[keyAsString](t, path, 1)
	if err == nil || !strings.Contains(err.Error(), `column "key": the file has INT64`) {
		t.Errorf("type mismatch: %v", err)
	}
	// Optional fields may be missing: they read as nil or zero.
	elems, err := readAll[optionalPrice](t, path, 1)
	if err != nil || len(elems) != 20000 {
		t.Fatalf("optional missing column: %d rows, %v", len(elems), err)
	}
	for _, e := range elems {
		if e.Value.Price != nil || e.Value.Note != "" {
			t.Fatalf("missing columns read as %+v", e.Value)
		}
	}
}

func TestDeadLetters(t *testing.T) {
	var dead DeadLetters
	var st Stats
	elems, err := readAll[event](t, "testdata/duckdb_events.parquet", 2,
		Files("testdata/bad/*.parquet"), DeadLetter(&dead), WithStats(&st), EventTimeColumn("ts_ms"))
	if err != nil {
		t.Fatal(err)
	}
	all := dead.All()
	var got []string
	for _, e := range all {
		got = append(got, fmt.Sprintf("%s:%d:%s", filepath.Base(e.Path), e.RowGroup, e.Column))
	}
	want := []string{"corrupt_page.parquet:0:ts_ms", "not_parquet.parquet:-1:", "truncated.parquet:-1:"}
	if !slices.Equal(got, want) {
		t.Fatalf("dead letters %v, want %v\n%v", got, want, &dead)
	}
	// The good file whole, and the row groups of the corrupt one after the damaged first.
	first := openForTest(t, "testdata/bad/corrupt_page.parquet").RowGroups()[0].NumRows()
	if want := 20000 + 20000 - int(first); len(elems) != want {
		t.Fatalf("read %d rows, want %d", len(elems), want)
	}
	if n := st.Snapshot().DeadLetters; n != 3 {
		t.Fatalf("stats count %d dead letters", n)
	}
	if s := dead.String(); !strings.Contains(s, "3 dead letters") || !strings.Contains(s, "truncated.parquet") {
		t.Fatalf("report:\n%s", s)
	}
}

// writeEvents writes rows 0..n-1 of the windowsum events, sorted by time,
// with small row groups and pages so that statistics can prune.
func writeEvents(t testing.TB, path string, n, rowGroup int64) {
	t.Helper()
	rows := make([]event, n)
	for i := range n {
		rows[i] = event{i, (i * 7919) % 1000, i%997 + 1}
	}
	writeFile(t, path, rows, parquet.MaxRowsPerRowGroup(rowGroup), parquet.PageBufferSize(4096))
}

func TestTimeRangePrunes(t *testing.T) {
	dir := t.TempDir()
	writeEvents(t, filepath.Join(dir, "events.parquet"), 100_000, 10_000)
	ms := func(i int64) time.Time { return time.UnixMilli(i).UTC() }
	var st Stats
	elems, err := readAll[event](t, dir, 2, EventTimeColumn("ts_ms"), TimeRange(ms(25_000), ms(27_000)), WithStats(&st))
	if err != nil {
		t.Fatal(err)
	}
	got := sortedBy(values(elems), func(e event) int64 { return e.TS })
	if len(got) != 2000 || got[0].TS != 25_000 || got[1999].TS != 26_999 {
		t.Fatalf("read %d rows from %v to %v", len(got), got[0], got[len(got)-1])
	}
	for _, e := range elems {
		if int64(e.Time) != e.Value.TS {
			t.Fatalf("element %v has time %v", e.Value, e.Time)
		}
	}
	snap := st.Snapshot()
	if snap.RowGroups != 10 || snap.RowGroupsPruned != 9 {
		t.Fatalf("stats %v: want 9 of 10 row groups pruned", snap)
	}
	if snap.PagesPruned == 0 || snap.RowsDecoded >= 10_000 || snap.RowsSkipped == 0 {
		t.Fatalf("stats %v: want pages of the surviving row group pruned", snap)
	}
	if snap.RowsEmitted != 2000 {
		t.Fatalf("stats %v", snap)
	}
}

func TestWhere(t *testing.T) {
	dir := t.TempDir()
	writeEvents(t, filepath.Join(dir, "events.parquet"), 50_000, 5_000)
	count := func(keep func(event) bool) int {
		n := 0
		for i := range int64(50_000) {
			if keep(event{i, (i * 7919) % 1000, i%997 + 1}) {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		pred   ReadOption
		keep   func(event) bool
		pruned int64 // row groups
	}{
		{Where("key", Eq, 7), func(e event) bool { return e.Key == 7 }, 0},
		{Where("value", Gt, 990), func(e event) bool { return e.Value > 990 }, 0},
		{Where("ts_ms", Lt, int32(12_000)), func(e event) bool { return e.TS < 12_000 }, 7},
		{Where("ts_ms", Ge, 45_000.5), func(e event) bool { return e.TS >= 45_001 }, 9},
		{Where("ts_ms", Ne, 3), func(e event) bool { return e.TS != 3 }, 0},
		{Where("ts_ms", Le, time.UnixMilli(4_999)), func(e event) bool { return e.TS <= 4_999 }, 9},
	} {
		var st Stats
		elems, err := readAll[event](t, dir, 2, tc.pred, WithStats(&st))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range elems {
			if !tc.keep(e.Value) {
				t.Fatalf("kept %v", e.Value)
			}
		}
		if want := count(tc.keep); len(elems) != want {
			t.Fatalf("kept %d rows, want %d", len(elems), want)
		}
		if got := st.Snapshot().RowGroupsPruned; got != tc.pruned {
			t.Fatalf("%d row groups pruned, want %d", got, tc.pruned)
		}
	}
	_, err := readAll[event](t, dir, 1, Where("key", Eq, "seven"))
	if err == nil || !strings.Contains(err.Error(), "cannot be compared") {
		t.Fatalf("string against INT64: %v", err)
	}
	_, err = readAll[event](t, dir, 1, Where("nope", Eq, 1))
	if err == nil || !strings.Contains(err.Error(), "no such column") {
		t.Fatalf("unknown column: %v", err)
	}
}

func TestTimeRangeOnDuckDBFile(t *testing.T) {
	var st Stats
	elems, err := readAll[event](t, "testdata/duckdb_events.parquet", 2, EventTimeColumn("ts_ms"),
		TimeRange(time.UnixMilli(7_000), time.UnixMilli(7_500)), WithStats(&st)) // DuckDB's row groups: 6144 rows
	if err != nil {
		t.Fatal(err)
	}
	if len(elems) != 500 {
		t.Fatalf("%d rows", len(elems))
	}
	if snap := st.Snapshot(); snap.RowGroupsPruned != snap.RowGroups-1 {
		t.Fatalf("stats %v: want all row groups but one pruned", snap)
	}
}

func TestEventTimeFunc(t *testing.T) {
	from, to := time.UnixMilli(100), time.UnixMilli(200)
	elems, err := readAll[event](t, "testdata/duckdb_events.parquet", 2,
		EventTime(func(e event) time.Time { return time.UnixMilli(e.TS * 2) }), TimeRange(from, to))
	if err != nil {
		t.Fatal(err)
	}
	if len(elems) != 50 {
		t.Fatalf("%d rows", len(elems))
	}
	for _, e := range elems {
		if int64(e.Time) != 2*e.Value.TS {
			t.Fatalf("%v at %v", e.Value, e.Time)
		}
	}
	p := dataflow.NewPipeline()
	Read[event](p.Root(), "Read", "x", EventTime(func(e typesRow) time.Time { return e.TsMs }))
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "EventTime function") {
		t.Fatalf("EventTime of another type: %v", err)
	}
}

// wide has big columns that a narrow read must not decode.
type wide struct {
	ID  int64  `parquet:"id"`
	A   string `parquet:"a"`
	B   string `parquet:"b"`
	C   []byte `parquet:"c"`
	Num int64  `parquet:"num"`
}

type narrow struct {
	Num int64 `parquet:"num"`
}

func TestProjection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wide.parquet")
	rows := make([]wide, 20_000)
	for i := range rows {
		rows[i] = wide{ID: int64(i), A: strings.Repeat("a", 50) + fmt.Sprint(i), B: fmt.Sprint(i, strings.Repeat("b", 80)), C: []byte(strings.Repeat("c", 40) + fmt.Sprint(i)), Num: int64(i)}
	}
	writeFile(t, path, rows, parquet.Compression(&parquet.Uncompressed))
	fi, _ := os.Stat(path)
	var st Stats
	elems, err := readAll[narrow](t, path, 1, WithStats(&st))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, e := range elems {
		sum += e.Value.Num
	}
	if sum != 20_000*19_999/2 {
		t.Fatalf("sum %d", sum)
	}
	if read := st.Snapshot().BytesRead; read > fi.Size()/10 {
		t.Fatalf("read %d bytes of a %d-byte file for one int column of five", read, fi.Size())
	}
}

// hiveRow takes year and month from directories (the files have no such
// columns), and region from the file, which its directory overrides.
type hiveRow struct {
	Year   int    `parquet:"year"`
	Month  *int8  `parquet:"month"`
	ID     int64  `parquet:"id"`
	Region string `parquet:"region"`
}

type hiveFileRow struct {
	ID     int64  `parquet:"id"`
	Region string `parquet:"region"`
}

func TestHivePartitions(t *testing.T) {
	dir := t.TempDir()
	var id int64
	for _, d := range []string{"year=2023/month=12/region=eu", "year=2024/month=01/region=us", "year=2024/month=" + hiveNull + "/region=us", "year=2024/month=02/region=eu", "year=2024/month=02/_tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		rows := []hiveFileRow{{id, "file-region"}, {id + 1, "file-region"}}
		id += 2
		writeFile(t, filepath.Join(dir, d, "data.parquet"), rows)
	}
	for _, generic := range []bool{false, true} {
		opts := []ReadOption{Where("year", Ge, 2024)}
		if generic {
			opts = append(opts, forceGeneric())
		}
		var st Stats
		elems, err := readAll[hiveRow](t, dir, 2, append(opts, WithStats(&st))...)
		if err != nil {
			t.Fatal(err)
		}
		got := sortedBy(values(elems), func(r hiveRow) int64 { return r.ID })
		var desc []string
		for _, r := range got {
			m := "nil"
			if r.Month != nil {
				m = fmt.Sprint(*r.Month)
			}
			desc = append(desc, fmt.Sprintf("%d/%s/%s/%d", r.Year, m, r.Region, r.ID))
		}
		want := []string{"2024/1/us/2", "2024/1/us/3", "2024/nil/us/4", "2024/nil/us/5", "2024/2/eu/6", "2024/2/eu/7"}
		if !slices.Equal(desc, want) {
			t.Fatalf("generic=%t: got %v, want %v", generic, desc, want)
		}
		if snap := st.Snapshot(); snap.Files != 3 || snap.FilesPruned != 1 {
			t.Fatalf("stats %v", snap)
		}
	}
}

func TestPatterns(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		writeEvents(t, filepath.Join(dir, fmt.Sprintf("e%d.parquet", i)), 100, 100)
	}
	for _, tc := range []struct {
		pattern string
		opts    []ReadOption
		want    int
	}{
		{filepath.Join(dir, "e1.parquet"), nil, 100},
		{filepath.Join(dir, "e[01].parquet"), nil, 200},
		{dir, nil, 300},
		{"", []ReadOption{Files(filepath.Join(dir, "e0.parquet"), filepath.Join(dir, "e2.parquet"))}, 200},
		{filepath.Join(dir, "*.parquet"), []ReadOption{Files(filepath.Join(dir, "e0.parquet"))}, 300}, // each file once
	} {
		elems, err := readAll[event](t, tc.pattern, 2, tc.opts...)
		if err != nil || len(elems) != tc.want {
			t.Errorf("Read(%q): %d rows, %v; want %d", tc.pattern, len(elems), err, tc.want)
		}
	}
	if _, err := readAll[event](t, filepath.Join(dir, "nothing*"), 1); err == nil || !strings.Contains(err.Error(), "no file matches") {
		t.Errorf("no match: %v", err)
	}
}

// TestSplits reads a file with few, large row groups on several workers:
// row ranges of a row group are splits, and together they read every row once.
func TestSplits(t *testing.T) {
	dir := t.TempDir()
	writeEvents(t, filepath.Join(dir, "e.parquet"), 70_000, 35_000)
	src := &source[event]{patterns: []string{dir}, cfg: newReadConfig([]ReadOption{SplitRows(10_000)})}
	var err error
	if src.layout, err = layoutOf[event](); err != nil {
		t.Fatal(err)
	}
	splits, err := src.Split(t.Context(), 8)
	if err != nil {
		t.Fatal(err)
	}
	if len(splits) != 8 {
		t.Fatalf("%d splits, want 2 row groups x 4 ranges: %v", len(splits), splits)
	}
	for _, par := range []int{1, 3} {
		elems, err := readAll[event](t, dir, par, SplitRows(10_000))
		if err != nil {
			t.Fatal(err)
		}
		got := sortedBy(values(elems), func(e event) int64 { return e.TS })
		for i, e := range got {
			if e.TS != int64(i) {
				t.Fatalf("row %d is %v", i, e)
			}
		}
		if len(got) != 70_000 {
			t.Fatalf("%d rows", len(got))
		}
	}
}

// TestWhereTypes filters the DuckDB fixture on columns of several types.
func TestWhereTypes(t *testing.T) {
	day := time.Date(2024, 1, 11, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		pred ReadOption
		keep func(r typesRow) bool
	}{
		{Where("name", Eq, "name-7"), func(r typesRow) bool { return r.Name != nil && *r.Name == "name-7" }},
		{Where("name", Gt, []byte("name-8")), func(r typesRow) bool { return r.Name != nil && *r.Name > "name-8" }},
		{Where("flag", Eq, true), func(r typesRow) bool { return r.Flag }},
		{Where("f64", Lt, 10), func(r typesRow) bool { return r.F64 < 10 }},
		{Where("f32", Ge, float32(1000.5)), func(r typesRow) bool { return r.F32 >= 1000.5 }},
		{Where("u64", Gt, uint64(1<<63)), func(r typesRow) bool { return r.U64 > 1<<63 }},
		{Where("u32", Le, -1), func(r typesRow) bool { return false }},
		{Where("i64", Ne, 0), func(r typesRow) bool { return r.I64 != nil && *r.I64 != 0 }},
		{Where("day", Eq, day), func(r typesRow) bool { return r.Day.Equal(day) }},
		{Where("ts_us", Lt, time.Date(2024, 1, 1, 0, 0, 5, 0, time.UTC)), func(r typesRow) bool { return r.TsUs.Before(time.Date(2024, 1, 1, 0, 0, 5, 0, time.UTC)) }},
	} {
		elems, err := readAll[typesRow](t, "testdata/duckdb_types.parquet", 2, tc.pred)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for i := range int64(5000) {
			if tc.keep(wantTypesRow(i)) {
				want++
			}
		}
		for _, e := range elems {
			if !tc.keep(e.Value) {
				t.Fatalf("kept row %d", e.Value.ID)
			}
		}
		if len(elems) != want {
			t.Fatalf("kept %d rows, want %d", len(elems), want)
		}
	}
}

// TestSplitsDictionary reads row ranges of row groups whose columns are
// dictionary-encoded strings and nullable values: each range starts
// mid-row-group, where the dictionary page is behind it.
func TestSplitsDictionary(t *testing.T) {
	dir := t.TempDir()
	rows := make([]wideRow, 12_000)
	for i := range rows {
		rows[i] = makeWide(int64(i))
	}
	writeFile(t, filepath.Join(dir, "w.parquet"), rows, parquet.PageBufferSize(1024), parquet.MaxRowsPerRowGroup(6_000))
	for _, generic := range []bool{false, true} {
		opts := []ReadOption{SplitRows(2_500)}
		if generic {
			opts = append(opts, forceGeneric())
		}
		elems, err := readAll[wideRow](t, dir, 3, opts...)
		if err != nil {
			t.Fatal(err)
		}
		got := sortedBy(values(elems), func(r wideRow) int64 { return r.ID })
		if len(got) != len(rows) {
			t.Fatalf("generic=%t: %d rows", generic, len(got))
		}
		for i := range rows {
			if !reflect.DeepEqual(rows[i], got[i]) && !cmp.Equal(rows[i], got[i], cmpopts.EquateEmpty()) {
				t.Fatalf("generic=%t: row %d (-want +got):\n%s", generic, i, cmp.Diff(rows[i], got[i]))
			}
		}
	}
}
