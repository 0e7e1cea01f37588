package textio

import (
	"fmt"
	"strings"
)

// Compression is how a file's bytes are encoded.
type Compression uint8

const (
	// Auto decides by file name: ".gz" is Gzip, anything else Uncompressed.
	Auto Compression = iota
	// Uncompressed is plain text.
	Uncompressed
	// Gzip is gzip (RFC 1952), possibly of several members.
	Gzip
)

func (c Compression) String() string {
	switch c {
	case Auto:
		return "auto"
	case Uncompressed:
		return "uncompressed"
	case Gzip:
		return "gzip"
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// of resolves Auto for the file at path.
func (c Compression) of(path string) Compression {
	if c != Auto {
		return c
	}
	if strings.HasSuffix(path, ".gz") {
		return Gzip
	}
	return Uncompressed
}

// DefaultSplitSize is the default of WithSplitSize: 32 MiB.
const DefaultSplitSize = 32 << 20

// minAutoSplitSize is the smallest range Split makes on its own when the
// runner asks for more parts than the split size gives: smaller ranges cost
// more in opening files and seeking than they gain in parallelism.
const minAutoSplitSize = 1 << 20

// ReadOption configures Read.
type ReadOption func(*readConfig)

type readConfig struct {
	splitSize   int64
	compression Compression
}

func newReadConfig(opts []ReadOption) readConfig {
	c := readConfig{splitSize: DefaultSplitSize}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (c readConfig) validate() error {
	if c.splitSize <= 0 {
		return fmt.Errorf("split size %d is not positive", c.splitSize)
	}
	if c.compression > Gzip {
		return fmt.Errorf("unknown compression %v", c.compression)
	}
	return nil
}

// WithSplitSize sets the largest byte range of an uncompressed file that one
// split reads (DefaultSplitSize if not given). Split uses smaller ranges, down
// to 1 MiB, when the runner asks for more parts than this size gives.
func WithSplitSize(n int64) ReadOption {
	return func(c *readConfig) { c.splitSize = n }
}

// WithCompression sets how files are decoded (Auto, by extension, if not given).
func WithCompression(comp Compression) ReadOption {
	return func(c *readConfig) { c.compression = comp }
}

// WriteOption configures Write and WriteJSON.
type WriteOption func(*writeConfig)

type writeConfig struct {
	prefix    string
	suffix    string
	header    string
	hasHeader bool
}

func newWriteConfig(suffix string, opts []WriteOption) writeConfig {
	c := writeConfig{prefix: "part", suffix: suffix}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (c writeConfig) validate() error {
	if c.prefix == "" {
		return fmt.Errorf("empty file name prefix")
	}
	if strings.ContainsAny(c.prefix+c.suffix, `/\`) {
		return fmt.Errorf("file name prefix %q or suffix %q contains a path separator", c.prefix, c.suffix)
	}
	if strings.HasPrefix(c.prefix, ".") || strings.HasPrefix(c.prefix, "_") {
		// Read skips such files when it reads the directory.
		return fmt.Errorf("file name prefix %q makes hidden files", c.prefix)
	}
	if strings.Contains(c.header, "\n") {
		return fmt.Errorf("header %q contains a newline", c.header)
	}
	return nil
}

// compression is the compression the suffix asks for.
func (c writeConfig) compression() Compression { return Auto.of(c.suffix) }

// WithPrefix sets the file name prefix of the shards ("part" if not given):
// dir/<prefix>-00000<suffix>.
func WithPrefix(p string) WriteOption {
	return func(c *writeConfig) { c.prefix = p }
}

// WithSuffix sets the file name suffix of the shards (".txt" for Write and
// ".jsonl" for WriteJSON if not given).
// A suffix ending in ".gz" writes gzip.
func WithSuffix(s string) WriteOption {
	return func(c *writeConfig) { c.suffix = s }
}

// WithHeader writes line h at the top of every shard (Beam's
// TextIO.Write.withHeader). Read does not skip it.
func WithHeader(h string) WriteOption {
	return func(c *writeConfig) { c.header, c.hasHeader = h, true }
}
