package parquetio

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// typesRow reads testdata/duckdb_types.parquet (written by DuckDB, see
// testdata/gen): fields in another order than the file's columns, required
// fields for the file's optional columns (nulls read as zero), pointers for
// nulls, and every physical type.
type typesRow struct {
	ID   int64     `parquet:"id"`
	TsMs time.Time `parquet:"ts_ms"`
	Name *string   `parquet:"name"`
	Flag bool      `parquet:"flag"`
	I8   int8      `parquet:"i8"`
	I16  int16     `parquet:"i16"`
	I32  int32     `parquet:"i32"`
	I64  *int64    `parquet:"i64"`
	U8   uint8     `parquet:"u8"`
	U32  uint32    `parquet:"u32"`
	U64  uint64    `parquet:"u64"`
	F32  float32   `parquet:"f32"`
	F64  float64   `parquet:"f64"`
	Bin  []byte    `parquet:"bin"`
	Day  time.Time `parquet:"day,date"`
	TsUs time.Time `parquet:"ts_us,timestamp(microsecond)"`
	TsNs time.Time `parquet:"ts_ns"`
}

// wantTypesRow is row i of duckdb_types.parquet, from fixtures.sql.
func wantTypesRow(i int64) typesRow {
	ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i*1001) * time.Millisecond)
	r := typesRow{
		ID: i, TsMs: ts, Flag: i%2 == 0, I8: int8(i % 100), I16: int16(i * 3), I32: int32(i * 7),
		U8: uint8(i % 200), U32: uint32(i * 11), U64: uint64(i) * 4000000000,
		F32: float32(i) / 4, F64: float64(i) / 8, Bin: []byte(fmt.Sprint("blob", i)),
		Day:  time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(i%366)),
		TsUs: ts, TsNs: ts,
	}
	if i%3 != 1 {
		s := fmt.Sprint("name-", i%50)
		r.Name = &s
	}
	if i%3 != 2 {
		v := i * 1000003
		r.I64 = &v
	}
	return r
}

func TestDuckDBTypes(t *testing.T) {
	for _, generic := range []bool{false, true} {
		t.Run(fmt.Sprintf("generic=%t", generic), func(t *testing.T) {
			var opts []ReadOption
			if generic {
				opts = append(opts, forceGeneric())
			}
			elems, err := readAll[typesRow](t, "testdata/duckdb_types.parquet", 2, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got := sortedBy(values(elems), func(r typesRow) int64 { return r.ID })
			if len(got) != 5000 {
				t.Fatalf("got %d rows, want 5000", len(got))
			}
			for i, r := range got {
				if diff := cmp.Diff(wantTypesRow(int64(i)), r); diff != "" {
					t.Fatalf("row %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

// nestedRow reads testdata/duckdb_nested.parquet: a struct column with a
// nested struct (flat, so the columnar decoder reads it), an optional struct
// read into a plain struct (its nulls read as zeros).
type nestedRow struct {
	ID      int64 `parquet:"id"`
	Address struct {
		City string `parquet:"city"`
		Zip  int32  `parquet:"zip"`
		Geo  struct {
			Lat float64 `parquet:"lat"`
			Lon float64 `parquet:"lon"`
		} `parquet:"geo"`
	} `parquet:"address"`
	Opt struct {
		Score int64 `parquet:"score,optional"`
	} `parquet:"opt,optional"`
}

// listRow has a list column: GenericReader reads it.
type listRow struct {
	ID   int64   `parquet:"id"`
	Tags []int64 `parquet:"tags,list"`
	Opt  *struct {
		Score int64 `parquet:"score"`
	} `parquet:"opt,optional"`
}

func TestDuckDBNested(t *testing.T) {
	want := func(i int64) nestedRow {
		var r nestedRow
		r.ID = i
		r.Address.City = fmt.Sprint("city-", i%7)
		r.Address.Zip = int32(10000 + i)
		r.Address.Geo.Lat, r.Address.Geo.Lon = float64(i)/10, -float64(i)/10
		if i%4 != 0 {
			r.Opt.Score = i * 2
		}
		return r
	}
	for _, generic := range []bool{false, true} {
		t.Run(fmt.Sprintf("generic=%t", generic), func(t *testing.T) {
			var opts []ReadOption
			if generic {
				opts = append(opts, forceGeneric())
			}
			elems, err := readAll[nestedRow](t, "testdata/duckdb_nested.parquet", 2, opts...)
			if err != nil {
				t.Fatal(err)
			}
			got := sortedBy(values(elems), func(r nestedRow) int64 { return r.ID })
			if len(got) != 1000 {
				t.Fatalf("got %d rows", len(got))
			}
			for i, r := range got {
				if diff := cmp.Diff(want(int64(i)), r); diff != "" {
					t.Fatalf("row %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
	t.Run("list", func(t *testing.T) {
		elems, err := readAll[listRow](t, "testdata/duckdb_nested.parquet", 2)
		if err != nil {
			t.Fatal(err)
		}
		got := sortedBy(values(elems), func(r listRow) int64 { return r.ID })
		for i, r := range got {
			n := int64(i % 4)
			var tags []int64
			for j := range n {
				tags = append(tags, int64(i)+j)
			}
			if diff := cmp.Diff(tags, r.Tags, cmpEmpty); diff != "" {
				t.Fatalf("row %d tags (-want +got):\n%s", i, diff)
			}
			if (r.Opt == nil) != (i%4 == 0) || (r.Opt != nil && r.Opt.Score != int64(i)*2) {
				t.Fatalf("row %d opt %+v", i, r.Opt)
			}
		}
	})
}

// cmpEmpty equates nil and empty slices.
var cmpEmpty = cmp.FilterValues(func(a, b []int64) bool { return len(a) == 0 && len(b) == 0 }, cmp.Comparer(func(a, b []int64) bool { return true }))

func values[T any](elems []dataflow.Elem[T]) []T {
	out := make([]T, len(elems))
	for i, e := range elems {
		out[i] = e.Value
	}
	return out
}

// forceGeneric reads through parquet-go's GenericReader even when T is flat.
func forceGeneric() ReadOption { return func(c *readConfig) { c.generic = true } }
