package metricshttp

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicedata/sluice/pkg/dataflow"
)

// Sample is one value of one series.
type Sample struct {
	Name   string            // metric name; sanitized when written
	Help   string            // shown once per metric name; may be empty
	Type   string            // "counter" or "gauge"
	Labels map[string]string // label names are sanitized when written
	Value  float64
}

// Gatherer returns the current samples. It is called once per scrape.
type Gatherer func() []Sample

// ContentType is the media type of the text exposition format 0.0.4.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves the samples of g, gathered anew on every request, in the
// text exposition format.
func Handler(g Gatherer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var buf bytes.Buffer
		Write(&buf, g()) // a bytes.Buffer does not fail
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		if r.Method == http.MethodGet {
			w.Write(buf.Bytes()) // the scraper went away: nothing to do
		}
	})
}

// shutdownGrace bounds how long Serve waits, once ctx is done, for scrapes
// in progress before it closes their connections.
const shutdownGrace = 2 * time.Second

// Serve listens on addr (host:port; port 0 picks a free one) and serves
// Handler(g) at /metrics until ctx is done. It returns the address it
// listens on once it accepts connections.
func Serve(ctx context.Context, addr string, g Gatherer) (bound string, err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metricshttp: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", Handler(g))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second, // a scraper sends its request at once
	}
	go func() {
		// Serve returns http.ErrServerClosed after Shutdown, and any other
		// error only for a listener failure, which ends this endpoint but
		// must not fail the job: metrics are not worth the job.
		srv.Serve(ln)
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
			srv.Close()
		}
	}()
	return ln.Addr().String(), nil
}

// Write writes samples in the text exposition format 0.0.4.
func Write(w io.Writer, samples []Sample) error {
	type series struct {
		labels string // rendered, with braces, or ""
		s      *Sample
	}
	type family struct {
		name, help, typ string
		series          []series
	}
	byName := map[string]*family{}
	var fams []*family
	for i := range samples {
		s := &samples[i]
		name := SanitizeName(s.Name)
		f := byName[name]
		if f == nil {
			f = &family{name: name, typ: metricType(s.Type)}
			byName[name] = f
			fams = append(fams, f)
		}
		if f.help == "" {
			f.help = s.Help
		}
		f.series = append(f.series, series{labels: renderLabels(s.Labels), s: s})
	}
	slices.SortFunc(fams, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	var b []byte
	for _, f := range fams {
		if f.help != "" {
			b = append(b, "# HELP "...)
			b = append(b, f.name...)
			b = append(b, ' ')
			b = appendEscaped(b, f.help, false)
			b = append(b, '\n')
		}
		b = append(b, "# TYPE "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, f.typ...)
		b = append(b, '\n')
		// Stable: of duplicate series, the first given comes first and stays.
		slices.SortStableFunc(f.series, func(x, y series) int { return strings.Compare(x.labels, y.labels) })
		for i, sr := range f.series {
			if i > 0 && f.series[i-1].labels == sr.labels {
				continue
			}
			b = append(b, f.name...)
			b = append(b, sr.labels...)
			b = append(b, ' ')
			b = appendValue(b, sr.s.Value)
			b = append(b, '\n')
		}
	}
	_, err := w.Write(b)
	return err
}

func metricType(t string) string {
	switch t {
	case "counter", "gauge":
		return t
	}
	return "untyped"
}

// renderLabels writes labels as {a="x",b="y"}, sorted by sanitized name;
// "" for none. Of two names that sanitize alike, the one that sorts first
// before sanitizing stays.
func renderLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	type pair struct{ name, orig, value string }
	pairs := make([]pair, 0, len(labels))
	for k, v := range labels {
		pairs = append(pairs, pair{sanitize(k, false), k, v})
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.orig, b.orig)) })
	b := []byte{'{'}
	for i, p := range pairs {
		if i > 0 && pairs[i-1].name == p.name {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, p.name...)
		b = append(b, '=', '"')
		b = appendEscaped(b, p.value, true)
		b = append(b, '"')
	}
	b = append(b, '}')
	return string(b)
}

// appendEscaped escapes backslashes and newlines, and double quotes in
// label values.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// SanitizeName returns name as a valid Prometheus metric name: characters
// outside [a-zA-Z0-9_:] become "_", and "_" goes in front of a leading
// digit or of an empty name.
func SanitizeName(name string) string { return sanitize(name, true) }

// sanitize maps name into [a-zA-Z_:][a-zA-Z0-9_:]*, without ':' for label
// names.
func sanitize(name string, colon bool) string {
	ok := func(i int, c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (colon && c == ':') || (i > 0 && c >= '0' && c <= '9')
	}
	valid := name != ""
	for i := 0; i < len(name) && valid; i++ {
		valid = ok(i, name[i])
	}
	if valid {
		return name
	}
	var b strings.Builder
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		b.WriteByte('_')
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; ok(1, c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_') // one per byte: a multi-byte character becomes several
		}
	}
	return b.String()
}

// FromMetrics converts a snapshot of user metrics into samples, each with
// the labels transform (the full transform name), namespace and name:
//
//	<prefix>_user_counter_total                      counter
//	<prefix>_user_gauge                              gauge
//	<prefix>_user_distribution_{count,sum,min,max}   gauges
//
// (without "<prefix>_" if prefix is empty). Min and max are left out of an
// empty distribution. Values are int64s as float64s: exact up to 2^53.
func FromMetrics(m dataflow.Metrics, prefix string) []Sample {
	p := ""
	if prefix != "" {
		p = prefix + "_"
	}
	labels := func(k dataflow.MetricKey) map[string]string {
		return map[string]string{"transform": k.Step, "namespace": k.Namespace, "name": k.Name}
	}
	var out []Sample
	for _, k := range sortedKeys(m.Counters) {
		out = append(out, Sample{Name: p + "user_counter_total", Help: "Sluice user counters, by transform, namespace and name.", Type: "counter", Labels: labels(k), Value: float64(m.Counters[k])})
	}
	for _, k := range sortedKeys(m.Gauges) {
		out = append(out, Sample{Name: p + "user_gauge", Help: "Sluice user gauges: the latest value set.", Type: "gauge", Labels: labels(k), Value: float64(m.Gauges[k].Value)})
	}
	for _, k := range sortedKeys(m.Distributions) {
		d := m.Distributions[k]
		stats := []struct {
			suffix, help string
			v            int64
		}{
			{"count", "Sluice user distributions: values recorded.", d.Count},
			{"sum", "Sluice user distributions: sum of the values recorded.", d.Sum},
			{"min", "Sluice user distributions: least value recorded.", d.Min},
			{"max", "Sluice user distributions: greatest value recorded.", d.Max},
		}
		if d.Count == 0 {
			stats = stats[:2]
		}
		for _, st := range stats {
			out = append(out, Sample{Name: p + "user_distribution_" + st.suffix, Help: st.help, Type: "gauge", Labels: labels(k), Value: float64(st.v)})
		}
	}
	return out
}

func sortedKeys[V any](m map[dataflow.MetricKey]V) []dataflow.MetricKey {
	keys := make([]dataflow.MetricKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b dataflow.MetricKey) int {
		return cmp.Or(strings.Compare(a.Step, b.Step), strings.Compare(a.Namespace, b.Namespace), strings.Compare(a.Name, b.Name))
	})
	return keys
}
