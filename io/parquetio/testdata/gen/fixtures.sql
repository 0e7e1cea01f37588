-- Fixtures written by DuckDB, another writer than parquet-go (see gen.go).
-- Run: cd io/parquetio/testdata/gen && go run . (needs cgo, and DuckDB comes as a Go module).

-- Every scalar type, NULLs in every third row, 3 row groups (DuckDB rounds
-- row groups to multiples of 2048 rows), columns in an order unlike the
-- struct's, snappy pages, dictionary and plain encodings.
COPY (
  SELECT
    CASE WHEN i % 3 = 1 THEN NULL ELSE 'name-' || (i % 50) END AS name,
    i::BIGINT AS id,
    (i % 2 = 0) AS flag,
    (i % 100)::TINYINT AS i8,
    (i * 3)::SMALLINT AS i16,
    (i * 7)::INTEGER AS i32,
    CASE WHEN i % 3 = 2 THEN NULL ELSE i * 1000003 END::BIGINT AS i64,
    (i % 200)::UTINYINT AS u8,
    (i * 11)::UINTEGER AS u32,
    (i * 4000000000)::UBIGINT AS u64,
    (i / 4.0)::FLOAT AS f32,
    (i / 8.0)::DOUBLE AS f64,
    ('blob' || i)::BLOB AS bin,
    DATE '2024-01-01' + (i % 366)::INTEGER AS day,
    TIMESTAMP '2024-01-01 00:00:00' + to_milliseconds(i * 1001) AS ts_us,
    (TIMESTAMP '2024-01-01 00:00:00' + to_milliseconds(i * 1001))::TIMESTAMP_MS AS ts_ms,
    (TIMESTAMP '2024-01-01 00:00:00' + to_milliseconds(i * 1001))::TIMESTAMP_NS AS ts_ns
  FROM range(5000) t(i)
) TO 'duckdb_types.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048, COMPRESSION snappy);

-- Nested groups and lists: a struct column (read by the columnar decoder)
-- and a list column (read by parquet-go's GenericReader).
COPY (
  SELECT
    i::BIGINT AS id,
    {'city': 'city-' || (i % 7), 'zip': (10000 + i)::INTEGER, 'geo': {'lat': i / 10.0, 'lon': -i / 10.0}} AS address,
    CASE WHEN i % 4 = 0 THEN NULL ELSE {'score': i * 2} END AS opt,
    [i, i + 1, i + 2][1:(i % 4)]::BIGINT[] AS tags
  FROM range(1000) t(i)
) TO 'duckdb_nested.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048, COMPRESSION zstd);

-- Windowsum events, as ../shared/anchors/duckdb writes them (INT64 columns,
-- OPTIONAL, dictionary pages for key and value), in 4 row groups.
COPY (SELECT i AS ts_ms, (i*7919)%1000 AS key, i%997+1 AS value FROM range(20000) t(i))
  TO 'duckdb_events.parquet' (FORMAT parquet, ROW_GROUP_SIZE 5000);
