package metricshttp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicedata/sluice/pkg/dataflow"
	"github.com/sluicedata/sluice/runners/streaming/internal/metricshttp"
)

func text(t *testing.T, samples []metricshttp.Sample) string {
	t.Helper()
	var b bytes.Buffer
	if err := metricshttp.Write(&b, samples); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteExact(t *testing.T) {
	samples := []metricshttp.Sample{
		{Name: "sluice_records_out_total", Help: "Records emitted.", Type: "counter", Labels: map[string]string{"stage": "b"}, Value: 7},
		{Name: "sluice_watermark_lag_seconds", Help: "Event-time lag.", Type: "gauge", Value: 1.5},
		{Name: "sluice_records_out_total", Type: "counter", Labels: map[string]string{"stage": "a"}, Value: 1e21},
		{Name: "sluice_records_out_total", Type: "counter", Labels: map[string]string{"stage": "a"}, Value: 99}, // a duplicate series: dropped
		{Name: "sluice.checkpoint-duration", Type: "summary", Labels: map[string]string{"job-id": "j1", "0kind": "full"}, Value: math.Inf(1)},
		{Name: "9lives", Type: "gauge", Value: math.NaN()},
		{Name: "neg", Type: "gauge", Labels: map[string]string{}, Value: math.Inf(-1)},
		{Name: "neg", Type: "gauge", Labels: map[string]string{"x": ""}, Value: -0.25},
	}
	want := `# TYPE _9lives gauge
_9lives NaN
# TYPE neg gauge
neg -Inf
neg{x=""} -0.25
# TYPE sluice_checkpoint_duration untyped
sluice_checkpoint_duration{_0kind="full",job_id="j1"} +Inf
# HELP sluice_records_out_total Records emitted.
# TYPE sluice_records_out_total counter
sluice_records_out_total{stage="a"} 1e+21
sluice_records_out_total{stage="b"} 7
# HELP sluice_watermark_lag_seconds Event-time lag.
# TYPE sluice_watermark_lag_seconds gauge
sluice_watermark_lag_seconds 1.5
`
	if diff := cmp.Diff(want, text(t, samples)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// The same samples in another order give the same text, but for which
	// of two duplicate series is kept.
	rev := []metricshttp.Sample{samples[7], samples[6], samples[5], samples[4], samples[2], samples[3], samples[1], samples[0]}
	if diff := cmp.Diff(want, text(t, rev)); diff != "" {
		t.Errorf("reordered (-want +got):\n%s", diff)
	}
	if got := text(t, nil); got != "" {
		t.Errorf("no samples: %q", got)
	}
}

func TestEscaping(t *testing.T) {
	samples := []metricshttp.Sample{{
		Name:   "m",
		Help:   "a \\ backslash, a \"quote\" and\na newline",
		Type:   "gauge",
		Labels: map[string]string{"path": `C:\dir\"x"` + "\n" + `end\n`, "utf8": "grüße ☃"},
		Value:  1,
	}}
	want := `# HELP m a \\ backslash, a "quote" and\na newline
# TYPE m gauge
m{path="C:\\dir\\\"x\"\nend\\n",utf8="grüße ☃"} 1
`
	if diff := cmp.Diff(want, text(t, samples)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"ok_name:sub": "ok_name:sub",
		"":            "_",
		"1st":         "_1st",
		"a.b-c d":     "a_b_c_d",
		"ü":           "__", // two bytes
		":colon":      ":colon",
	} {
		if got := metricshttp.SanitizeName(in); got != want {
			t.Errorf("SanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The exposition grammar of format 0.0.4, one regexp per kind of line.
var (
	metricName = `[a-zA-Z_:][a-zA-Z0-9_:]*`
	labelName  = `[a-zA-Z_][a-zA-Z0-9_]*`
	labelValue = `"(?:[^"\\\n]|\\\\|\\"|\\n)*"`
	helpLine   = regexp.MustCompile(`^# HELP (` + metricName + `) ((?:[^\\\n]|\\\\|\\n)*)$`)
	typeLine   = regexp.MustCompile(`^# TYPE (` + metricName + `) (counter|gauge|histogram|summary|untyped)$`)
	sampleLine = regexp.MustCompile(`^(` + metricName + `)(\{(?:` + labelName + `=` + labelValue + `(?:,` + labelName + `=` + labelValue + `)*,?)?\})? ([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf)|NaN)(?: -?[0-9]+)?$`)
)

// grammarErrors checks that every line of text is a HELP, TYPE or sample
// line, that each name has at most one HELP and one TYPE, before its
// samples, and that the samples of a name are contiguous.
func grammarErrors(text string) []string {
	var errs []string
	if text != "" && !strings.HasSuffix(text, "\n") {
		errs = append(errs, "text does not end with a newline")
	}
	typed := map[string]bool{}
	helped := map[string]bool{}
	done := map[string]bool{} // names whose group has ended
	current := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		var name string
		switch {
		case helpLine.MatchString(line):
			name = helpLine.FindStringSubmatch(line)[1]
			if helped[name] || typed[name] {
				errs = append(errs, fmt.Sprintf("line %d: HELP of %s repeated or after its TYPE", n, name))
			}
			helped[name] = true
		case typeLine.MatchString(line):
			name = typeLine.FindStringSubmatch(line)[1]
			if typed[name] {
				errs = append(errs, fmt.Sprintf("line %d: second TYPE of %s", n, name))
			}
			typed[name] = true
		case sampleLine.MatchString(line):
			name = sampleLine.FindStringSubmatch(line)[1]
			if !typed[name] {
				errs = append(errs, fmt.Sprintf("line %d: sample of %s before its TYPE", n, name))
			}
		default:
			errs = append(errs, fmt.Sprintf("line %d does not match the exposition grammar: %q", n, line))
			continue
		}
		if name != current {
			if done[name] {
				errs = append(errs, fmt.Sprintf("line %d: the samples of %s are not contiguous", n, name))
			}
			done[current] = true
			current = name
		}
	}
	return errs
}

// unescape reverses the escaping of a label value (without its quotes).
func unescape(s string) string {
	return strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n").Replace(s)
}

func TestGrammar(t *testing.T) {
	weird := []string{"", "plain", `back\slash`, `"quoted"`, "new\nline", `\n literal`, `trailing\`, "tab\there", "{}=,", "日本"}
	var samples []metricshttp.Sample
	for i, w := range weird {
		samples = append(samples,
			metricshttp.Sample{Name: "name with " + w, Help: w, Type: []string{"counter", "gauge", "other"}[i%3], Labels: map[string]string{w: w, "i": strconv.Itoa(i)}, Value: float64(i) - 3.5},
			metricshttp.Sample{Name: "shared", Type: "gauge", Labels: map[string]string{"v": w}, Value: []float64{math.NaN(), math.Inf(1), math.Inf(-1), 1e-300, -1e300, 0, math.MaxInt64, 123456789}[i%8]},
		)
	}
	out := text(t, samples)
	for _, e := range grammarErrors(out) {
		t.Error(e)
	}
	// Every label value decodes back to what was given.
	valueRE := regexp.MustCompile(`^shared\{v="((?:[^"\\]|\\.)*)"\} `)
	var got []string
	for line := range strings.Lines(out) {
		if m := valueRE.FindStringSubmatch(line); m != nil {
			got = append(got, unescape(m[1]))
		}
	}
	want := slices.Clone(weird)
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("label values decoded (-want +got):\n%s", diff)
	}
	if t.Failed() {
		t.Logf("text:\n%s", out)
	}
	// The grammar check is not vacuous.
	for _, bad := range []string{
		"# TYPE m gauge\nm{a=\"x\nb\"} 1\n",
		"# TYPE 1m gauge\n1m 1\n",
		"# TYPE m gauge\nm{a=\"x\"} one\n",
		"# TYPE m gauge\nm{a-b=\"x\"} 1\n",
		"# TYPE m gauge\nm{a=\"x\\\"} 1\n",
		"# TYPE m gauge\n# TYPE m gauge\n",
		"m 1\n",
		"# TYPE m gauge\nm 1\n# TYPE n gauge\nn 1\nm 2\n",
	} {
		if len(grammarErrors(bad)) == 0 {
			t.Errorf("the grammar check accepts %q", bad)
		}
	}
}

func TestFromMetrics(t *testing.T) {
	m := dataflow.Metrics{
		Counters: map[dataflow.MetricKey]int64{
			{Step: "Parse/Decode", Namespace: "app", Name: "bad rows"}: 3,
			{Step: "Enrich", Namespace: "app", Name: "lookups"}:        1200,
		},
		Distributions: map[dataflow.MetricKey]dataflow.DistributionValue{
			{Step: "Enrich", Namespace: "app", Name: "latency_ms"}: {Count: 4, Sum: 10, Min: 1, Max: 4},
			{Step: "Idle", Namespace: "app", Name: "none"}:         {},
		},
		Gauges: map[dataflow.MetricKey]dataflow.GaugeValue{
			{Step: "Window", Namespace: "app", Name: "open \"windows\""}: {Value: -2, Time: time.Unix(1, 0)},
		},
	}
	want := `# HELP sluice_user_counter_total Sluice user counters, by transform, namespace and name.
# TYPE sluice_user_counter_total counter
sluice_user_counter_total{name="bad rows",namespace="app",transform="Parse/Decode"} 3
sluice_user_counter_total{name="lookups",namespace="app",transform="Enrich"} 1200
# HELP sluice_user_distribution_count Sluice user distributions: values recorded.
# TYPE sluice_user_distribution_count gauge
sluice_user_distribution_count{name="latency_ms",namespace="app",transform="Enrich"} 4
sluice_user_distribution_count{name="none",namespace="app",transform="Idle"} 0
# HELP sluice_user_distribution_max Sluice user distributions: greatest value recorded.
# TYPE sluice_user_distribution_max gauge
sluice_user_distribution_max{name="latency_ms",namespace="app",transform="Enrich"} 4
# HELP sluice_user_distribution_min Sluice user distributions: least value recorded.
# TYPE sluice_user_distribution_min gauge
sluice_user_distribution_min{name="latency_ms",namespace="app",transform="Enrich"} 1
# HELP sluice_user_distribution_sum Sluice user distributions: sum of the values recorded.
# TYPE sluice_user_distribution_sum gauge
sluice_user_distribution_sum{name="latency_ms",namespace="app",transform="Enrich"} 10
sluice_user_distribution_sum{name="none",namespace="app",transform="Idle"} 0
# HELP sluice_user_gauge Sluice user gauges: the latest value set.
# TYPE sluice_user_gauge gauge
sluice_user_gauge{name="open \"windows\"",namespace="app",transform="Window"} -2
`
	got := text(t, metricshttp.FromMetrics(m, "sluice"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, e := range grammarErrors(got) {
		t.Error(e)
	}
	if s := metricshttp.FromMetrics(m, ""); s[0].Name != "user_counter_total" {
		t.Errorf("without a prefix, the first name is %q", s[0].Name)
	}
	if s := metricshttp.FromMetrics(dataflow.Metrics{}, "x"); len(s) != 0 {
		t.Errorf("no metrics gave %d samples", len(s))
	}
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var scrapes atomic.Int64
	g := func() []metricshttp.Sample {
		n := scrapes.Add(1)
		return []metricshttp.Sample{{Name: "scrapes_total", Help: "Scrapes so far.", Type: "counter", Value: float64(n)}}
	}
	addr, err := metricshttp.Serve(ctx, "127.0.0.1:0", g)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("bound address %s", addr)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 1; i <= 2; i++ {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %s", resp.Status)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
			t.Errorf("Content-Type %q", ct)
		}
		want := fmt.Sprintf("# HELP scrapes_total Scrapes so far.\n# TYPE scrapes_total counter\nscrapes_total %d\n", i)
		if diff := cmp.Diff(want, string(body)); diff != "" {
			t.Errorf("scrape %d (-want +got):\n%s", i, diff)
		}
	}
	for path, want := range map[string]int{"/": http.StatusNotFound, "/other": http.StatusNotFound} {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}
	resp, err := client.Post("http://"+addr+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %s", resp.Status)
	}

	// Once ctx is done, the address stops answering.
	cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still listening 10s after ctx was cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeBadAddress(t *testing.T) {
	if _, err := metricshttp.Serve(context.Background(), "256.0.0.1:bad", func() []metricshttp.Sample { return nil }); err == nil {
		t.Error("Serve on a bad address succeeded")
	}
}

var errWrite = errors.New("write failed")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteError(t *testing.T) {
	if err := metricshttp.Write(failWriter{}, []metricshttp.Sample{{Name: "m", Value: 1}}); !errors.Is(err, errWrite) {
		t.Errorf("error %v, want %v", err, errWrite)
	}
}
