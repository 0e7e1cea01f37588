package parquetio

import (
	"errors"
	"fmt"
	"io"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/encoding"
)

// colReader reads one flat (non-repeated) leaf column of a row group, page
// by page, exposing each decoded page's values as typed slices: the heart
// of the columnar decoder. One value per row: nulls are rows whose
// definition level is below the column's maximum, and have no value.
type colReader struct {
	chunk  *parquet.FileColumnChunk
	r      io.ReaderAt
	pages  *parquet.FilePages
	seeked bool   // the offset index is loaded (if the file has one)
	name   string // column path, for errors
	ct     colType
	maxDef byte
	next   int64 // row of the row group that the next read returns

	page parquet.Page
	n    int    // rows in the page
	row  int    // next row in the page
	val  int    // next value in the page's values (nulls have none)
	defs []byte // definition levels; nil when the page has no null
	// The page's values: for a dictionary-encoded page, idx holds the
	// indexes and the typed slice the dictionary's values.
	idx    []int32
	i32    []int32
	i64    []int64
	f32    []float32
	f64    []float64
	i96    []deprecated.Int96
	bin    []byte   // BYTE_ARRAY data, or FIXED_LEN_BYTE_ARRAY values back to back
	offs   []uint32 // BYTE_ARRAY offsets into bin (len = values+1)
	size   int      // FIXED_LEN_BYTE_ARRAY size
	bools  []parquet.Value
	vbuf   []parquet.Value // scratch for reading bools
	starts []int           // scratch of copyRun
	dict   parquet.Dictionary

	// strings of the dictionary dictFor, converted once per column chunk.
	dictStrs []string
	dictFor  parquet.Dictionary
}

func newColReader(chunk *parquet.FileColumnChunk, r io.ReaderAt, name string, ct colType, maxDef int) *colReader {
	return &colReader{chunk: chunk, r: r, pages: chunk.PagesFrom(r), name: name, ct: ct, maxDef: byte(maxDef)}
}

// seek positions the reader at row of the row group.
func (c *colReader) seek(row int64) error {
	if row == c.next && (c.page != nil || row == 0) {
		return nil
	}
	if !c.seeked {
		// Load the offset index, so that seeking jumps to the page that
		// holds row instead of decoding every page before it.
		if _, err := c.chunk.OffsetIndexFrom(c.r); err != nil && !errors.Is(err, parquet.ErrMissingOffsetIndex) {
			return fmt.Errorf("read offset index: %w", err)
		}
		c.seeked = true
	}
	if err := c.pages.SeekToRow(row); err != nil {
		return fmt.Errorf("seek to row %d: %w", row, err)
	}
	c.release()
	c.next = row
	return nil
}

func (c *colReader) release() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
	c.n, c.row, c.val = 0, 0, 0
}

func (c *colReader) close() {
	c.release()
	c.pages.Close()
}

// errCorrupt marks data that contradicts itself (counts, indexes).
var errCorrupt = errors.New("corrupt data")

// load reads the next page.
func (c *colReader) load() error {
	c.release()
	p, err := c.pages.ReadPage()
	if err != nil {
		if err == io.EOF {
			return fmt.Errorf("%w: the column ends at row %d, before the row group does", errCorrupt, c.next)
		}
		return err
	}
	c.page = p
	c.n = int(p.NumRows())
	nulls := int(p.NumNulls())
	c.defs = nil
	if nulls > 0 {
		c.defs = p.DefinitionLevels()
		if len(c.defs) != c.n {
			return fmt.Errorf("%w: page has %d definition levels for %d rows", errCorrupt, len(c.defs), c.n)
		}
	}
	if nulls > c.n || c.n < 0 {
		return fmt.Errorf("%w: page has %d nulls in %d rows", errCorrupt, nulls, c.n)
	}
	values := c.n - nulls
	c.idx, c.dict = nil, nil
	if c.ct.kind == parquet.Boolean {
		c.bools = c.bools[:0]
		vr := p.Values()
		if c.vbuf == nil {
			c.vbuf = make([]parquet.Value, 256)
		}
		for {
			k, err := vr.ReadValues(c.vbuf)
			c.bools = append(c.bools, c.vbuf[:k]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if k == 0 {
				return fmt.Errorf("%w: boolean page makes no progress", errCorrupt)
			}
		}
		if len(c.bools) != c.n {
			return fmt.Errorf("%w: page has %d values for %d rows", errCorrupt, len(c.bools), c.n)
		}
		return nil
	}
	data := p.Data()
	have := 0
	if d := p.Dictionary(); d != nil {
		c.dict = d
		c.idx = data.Int32()
		have = len(c.idx)
		data = d.Page().Data()
	}
	n := c.setData(&data)
	if c.idx == nil {
		have = n
	}
	if have < values {
		return fmt.Errorf("%w: page has %d values for %d non-null rows", errCorrupt, have, values)
	}
	return nil
}

// setData takes the typed values of a page and returns how many there are.
func (c *colReader) setData(data *encoding.Values) int {
	switch c.ct.kind {
	case parquet.Int32:
		c.i32 = data.Int32()
		return len(c.i32)
	case parquet.Int64:
		c.i64 = data.Int64()
		return len(c.i64)
	case parquet.Int96:
		c.i96 = data.Int96()
		return len(c.i96)
	case parquet.Float:
		c.f32 = data.Float()
		return len(c.f32)
	case parquet.Double:
		c.f64 = data.Double()
		return len(c.f64)
	case parquet.ByteArray:
		c.bin, c.offs = data.ByteArray()
		return max(len(c.offs)-1, 0)
	case parquet.FixedLenByteArray:
		c.bin, c.size = data.FixedLenByteArray()
		if c.size <= 0 {
			return 0
		}
		return len(c.bin) / c.size
	}
	return 0
}

// present reports whether row i of the page (counted from c.row) has a value.
func (c *colReader) present(i int) bool { return c.defs == nil || c.defs[c.row+i] == c.maxDef }

// advance moves past m rows of the page.
func (c *colReader) advance(m int) {
	if c.defs == nil {
		c.val += m
	} else {
		for _, d := range c.defs[c.row : c.row+m] {
			if d == c.maxDef {
				c.val++
			}
		}
	}
	c.row += m
	c.next += int64(m)
}

// each calls fn for consecutive runs of rows within one page that together
// cover the next k rows, then moves past them. fn gets the offset of the run
// in the k rows and its length; during fn, c.row and c.val are the run's
// first row and value.
func (c *colReader) each(k int, fn func(off, m int) error) error {
	for off := 0; off < k; {
		if c.row >= c.n {
			if err := c.load(); err != nil {
				return err
			}
			continue
		}
		m := min(k-off, c.n-c.row)
		if err := fn(off, m); err != nil {
			return err
		}
		c.advance(m)
		off += m
	}
	return nil
}

// skip moves past k rows without using their values.
func (c *colReader) skip(k int) error {
	return c.each(k, func(int, int) error { return nil })
}

// index returns the position in the typed values of the j-th value of the
// page: through the dictionary for dictionary-encoded pages.
func (c *colReader) index(j, n int) (int, error) {
	if c.idx == nil {
		return j, nil
	}
	x := int(c.idx[j])
	if uint(x) >= uint(n) {
		return 0, fmt.Errorf("%w: dictionary index %d out of range [0, %d)", errCorrupt, x, n)
	}
	return x, nil
}

// binAt returns byte array value x.
func (c *colReader) binAt(x int) ([]byte, error) {
	if c.ct.kind == parquet.FixedLenByteArray {
		return c.bin[x*c.size : (x+1)*c.size], nil
	}
	a, b := c.offs[x], c.offs[x+1]
	if a > b || int(b) > len(c.bin) {
		return nil, fmt.Errorf("%w: byte array offsets [%d, %d) out of range", errCorrupt, a, b)
	}
	return c.bin[a:b], nil
}

// nbin returns the number of byte array values (of the dictionary or page).
func (c *colReader) nbin() int {
	if c.ct.kind == parquet.FixedLenByteArray {
		if c.size == 0 {
			return 0
		}
		return len(c.bin) / c.size
	}
	return max(len(c.offs)-1, 0)
}

// dictStrings returns the dictionary's values as strings, converted once.
func (c *colReader) dictStrings() ([]string, error) {
	if c.dictFor == c.dict && c.dictStrs != nil {
		return c.dictStrs, nil
	}
	n := c.nbin()
	strs := make([]string, n)
	var total int
	for x := range n {
		b, err := c.binAt(x)
		if err != nil {
			return nil, err
		}
		total += len(b)
	}
	// One allocation for all the strings.
	buf := make([]byte, 0, total)
	for x := range n {
		b, _ := c.binAt(x)
		buf = append(buf, b...)
	}
	all := unsafe.String(unsafe.SliceData(buf), len(buf))
	pos := 0
	for x := range n {
		b, _ := c.binAt(x)
		strs[x] = all[pos : pos+len(b)]
		pos += len(b)
	}
	c.dictStrs, c.dictFor = strs, c.dict
	return strs, nil
}
