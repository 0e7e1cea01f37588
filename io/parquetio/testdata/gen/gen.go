// Command gen writes the fixtures of io/parquetio that come from DuckDB:
// it runs the statements of fixtures.sql in the parent directory (testdata).
//
//	cd io/parquetio/testdata/gen && go run .
//
// It is its own module (DuckDB is cgo and a large download), outside the
// packages that go test ./... builds.
package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	src, err := os.ReadFile("fixtures.sql")
	if err == nil {
		err = os.Chdir("..")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	defer db.Close()
	for _, stmt := range strings.Split(string(src), ";") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		q := strings.TrimSpace(strings.Join(lines, "\n"))
		if q == "" {
			continue
		}
		if _, err := db.Exec(q); err != nil {
			fmt.Fprintf(os.Stderr, "gen: %s: %v\n", q, err)
			os.Exit(1)
		}
	}
}
