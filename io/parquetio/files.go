package parquetio

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// fileEntry is a file that a pattern names, with its partition values.
type fileEntry struct {
	path  string
	size  int64
	parts partitions
}

// partitions are the key=value directories on a file's path, outermost first.
type partitions []partKV

type partKV struct {
	key, value string
	null       bool // Hive's __HIVE_DEFAULT_PARTITION__
}

// hiveNull is the directory value Hive and Spark write for a null key.
const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// get returns the value of key; the innermost directory wins.
func (p partitions) get(key string) (string, bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].key == key {
			if p[i].null {
				return hiveNull, true
			}
			return p[i].value, true
		}
	}
	return "", false
}

// partitionsOf parses the key=value segments of the directories of path.
func partitionsOf(path string) partitions {
	var out partitions
	for seg := range strings.SplitSeq(filepath.ToSlash(filepath.Dir(path)), "/") {
		k, v, ok := strings.Cut(seg, "=")
		if !ok || k == "" {
			continue
		}
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		out = append(out, partKV{key: k, value: v, null: v == hiveNull})
	}
	return out
}

// hidden reports whether a file or directory name is skipped when reading a
// directory: writers keep their temporary and marker files under such names
// (.sluice-tmp-*, _SUCCESS, .crc files).
func hidden(name string) bool { return strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") }

// expand resolves patterns into files, each once, in pattern order and then
// by path. An existing file is itself; an existing directory is every
// non-hidden regular file under it, recursively; anything else is a glob,
// whose matching directories are read as directories.
func expand(patterns []string) ([]fileEntry, error) {
	var out []fileEntry
	seen := map[string]bool{}
	add := func(path string, size int64) {
		if !seen[path] {
			seen[path] = true
			out = append(out, fileEntry{path: path, size: size, parts: partitionsOf(path)})
		}
	}
	for _, pat := range patterns {
		n := len(out)
		matches := []string{pat}
		if _, err := os.Stat(pat); err != nil {
			if matches, err = filepath.Glob(pat); err != nil {
				return nil, fmt.Errorf("parquetio: bad file pattern %q: %w", pat, err)
			}
		}
		slices.Sort(matches)
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil {
				if errors.Is(err, os.ErrNotExist) { // removed since it was listed, or a dangling link
					continue
				}
				return nil, fmt.Errorf("parquetio: %w", err)
			}
			if fi.Mode().IsRegular() {
				add(m, fi.Size())
				continue
			}
			if !fi.IsDir() {
				continue
			}
			err = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p != m && hidden(d.Name()) {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.IsDir() {
					return nil
				}
				fi, err := os.Stat(p) // follows links
				if err != nil {
					if errors.Is(err, os.ErrNotExist) {
						return nil
					}
					return err
				}
				if fi.Mode().IsRegular() {
					add(p, fi.Size())
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("parquetio: list %s: %w", m, err)
			}
		}
		if len(out) == n && !slices.ContainsFunc(out, func(f fileEntry) bool { return f.path == pat }) {
			return nil, fmt.Errorf("parquetio: no file matches %q", pat)
		}
	}
	return out, nil
}

// partValue is a partition value parsed for a field of T.
type partValue struct {
	null   bool
	val    reflect.Value // of the field's type (addressable)
	src    unsafe.Pointer
	assign func(dst, src unsafe.Pointer)
}

// set writes the value (zero, or nil, for a null) into the field at dst.
func (p *partValue) set(dst unsafe.Pointer) { p.assign(dst, p.src) }

// parsePartition parses a directory value for field f.
func parsePartition(f *leafField, s string) (*partValue, error) {
	pv := &partValue{val: reflect.New(f.typ).Elem(), assign: assigner(f.typ)}
	pv.src = pv.val.Addr().UnsafePointer()
	if s == hiveNull {
		pv.null = true
		return pv, nil
	}
	v := pv.val
	if f.ptr {
		v.Set(reflect.New(f.typ.Elem()))
		v = v.Elem()
	}
	switch f.kind {
	case kBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, err
		}
		v.SetBool(b)
	case kInt, kInt8, kInt16, kInt32, kInt64:
		n, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return nil, err
		}
		v.SetInt(n)
	case kUint, kUint8, kUint16, kUint32, kUint64:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return nil, err
		}
		v.SetUint(n)
	case kFloat32, kFloat64:
		x, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return nil, err
		}
		v.SetFloat(x)
	case kString:
		v.SetString(s)
	case kBytes:
		v.SetBytes([]byte(s))
	case kTime:
		t, err := parseTime(s)
		if err != nil {
			return nil, err
		}
		v.Set(reflect.ValueOf(t))
	default:
		return nil, fmt.Errorf("a %v field cannot take a partition value", f.typ)
	}
	return pv, nil
}

// parseTime reads a partition value as a time: RFC 3339, a date, a date
// and time, or milliseconds since the epoch.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a time (RFC 3339, a date, or milliseconds)")
}

// assigner returns a typed copy for values of t (no reflection per row).
func assigner(t reflect.Type) func(dst, src unsafe.Pointer) {
	switch t.Kind() {
	case reflect.Pointer:
		return copyOf[unsafe.Pointer]
	case reflect.String:
		return copyOf[string]
	case reflect.Slice:
		return copyOf[[]byte]
	}
	if t == timeType {
		return copyOf[time.Time]
	}
	size := t.Size() // plain data: bools, numbers, byte arrays
	return func(dst, src unsafe.Pointer) {
		copy(unsafe.Slice((*byte)(dst), size), unsafe.Slice((*byte)(src), size))
	}
}

func copyOf[V any](dst, src unsafe.Pointer) { *(*V)(dst) = *(*V)(src) }
