package dataflow

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Counter is a user metric that sums int64 increments. Declare counters once
// (package level or in a DoFn's fields) and update them from DoFns through the
// element's Context, which attributes the update to the running transform.
type Counter struct{ ns, name string }

// Distribution is a user metric recording count, sum, min and max of int64 values.
type Distribution struct{ ns, name string }

// Gauge is a user metric holding the latest int64 value set.
type Gauge struct{ ns, name string }

// NewCounter declares a counter.
func NewCounter(namespace, name string) *Counter { return &Counter{namespace, name} }

// NewDistribution declares a distribution.
func NewDistribution(namespace, name string) *Distribution { return &Distribution{namespace, name} }

// NewGauge declares a gauge.
func NewGauge(namespace, name string) *Gauge { return &Gauge{namespace, name} }

// Inc adds n to the counter in the transform that c belongs to.
func (m *Counter) Inc(c *Context, n int64) { c.metrics().counter(m.ns, m.name).Add(n) }

// Dec subtracts n.
func (m *Counter) Dec(c *Context, n int64) { m.Inc(c, -n) }

// Update records v.
func (m *Distribution) Update(c *Context, v int64) { c.metrics().distribution(m.ns, m.name).update(v) }

// Set sets the gauge to v.
func (m *Gauge) Set(c *Context, v int64) { c.metrics().gauge(m.ns, m.name).set(v) }

// MetricKey names a metric of one transform.
type MetricKey struct {
	Step      string // full transform name
	Namespace string
	Name      string
}

// DistributionValue is the state of a distribution.
type DistributionValue struct {
	Count, Sum, Min, Max int64
}

// Mean returns Sum/Count (0 when empty).
func (d DistributionValue) Mean() float64 {
	if d.Count == 0 {
		return 0
	}
	return float64(d.Sum) / float64(d.Count)
}

// GaugeValue is the latest value of a gauge and when it was set.
type GaugeValue struct {
	Value int64
	Time  time.Time
}

// Metrics is a snapshot of a run's user metrics.
type Metrics struct {
	Counters      map[MetricKey]int64
	Distributions map[MetricKey]DistributionValue
	Gauges        map[MetricKey]GaugeValue
}

// Counter returns the sum of the named counter over all transforms.
func (m Metrics) Counter(namespace, name string) int64 {
	var n int64
	for k, v := range m.Counters {
		if k.Namespace == namespace && k.Name == name {
			n += v
		}
	}
	return n
}

// Distribution returns the named distribution merged over all transforms.
func (m Metrics) Distribution(namespace, name string) DistributionValue {
	var d DistributionValue
	for k, v := range m.Distributions {
		if k.Namespace == namespace && k.Name == name {
			d = mergeDist(d, v)
		}
	}
	return d
}

// Gauge returns the most recently set value of the named gauge over all transforms.
func (m Metrics) Gauge(namespace, name string) (GaugeValue, bool) {
	var g GaugeValue
	ok := false
	for k, v := range m.Gauges {
		if k.Namespace == namespace && k.Name == name && (!ok || v.Time.After(g.Time)) {
			g, ok = v, true
		}
	}
	return g, ok
}

func mergeDist(a, b DistributionValue) DistributionValue {
	if a.Count == 0 {
		return b
	}
	if b.Count == 0 {
		return a
	}
	return DistributionValue{Count: a.Count + b.Count, Sum: a.Sum + b.Sum, Min: min(a.Min, b.Min), Max: max(a.Max, b.Max)}
}

// MetricsRegistry holds the metric containers of one run. Runners create one
// container per operator instance, so that updates never contend between
// workers; Snapshot sums them and may be called while the run goes on.
type MetricsRegistry struct {
	mu         sync.Mutex
	containers []*MetricsContainer
}

// NewContainer returns a new container for an instance of transform step.
func (r *MetricsRegistry) NewContainer(step string) *MetricsContainer {
	c := &MetricsContainer{step: step}
	r.mu.Lock()
	r.containers = append(r.containers, c)
	r.mu.Unlock()
	return c
}

// Snapshot returns the current values of every metric.
func (r *MetricsRegistry) Snapshot() Metrics {
	m := Metrics{Counters: map[MetricKey]int64{}, Distributions: map[MetricKey]DistributionValue{}, Gauges: map[MetricKey]GaugeValue{}}
	r.mu.Lock()
	cs := append([]*MetricsContainer(nil), r.containers...)
	r.mu.Unlock()
	for _, c := range cs {
		c.mu.Lock()
		for k, v := range c.counters {
			m.Counters[MetricKey{c.step, k.ns, k.name}] += v.Load()
		}
		for k, v := range c.dists {
			key := MetricKey{c.step, k.ns, k.name}
			m.Distributions[key] = mergeDist(m.Distributions[key], v.load())
		}
		for k, v := range c.gauges {
			key := MetricKey{c.step, k.ns, k.name}
			g := v.load()
			if old, ok := m.Gauges[key]; !ok || g.Time.After(old.Time) {
				m.Gauges[key] = g
			}
		}
		c.mu.Unlock()
	}
	return m
}

// MetricsContainer holds the metrics of one operator instance.
type MetricsContainer struct {
	step string
	mu   sync.Mutex // guards the maps (not the cells, which are atomic)
	// counters, dists and gauges are keyed by namespace and name.
	counters map[metricName]*atomic.Int64
	dists    map[metricName]*distCell
	gauges   map[metricName]*gaugeCell
	// last caches the most recently used counter: most DoFns update one.
	last struct {
		name metricName
		cell *atomic.Int64
	}
}

type metricName struct{ ns, name string }

func (c *MetricsContainer) counter(ns, name string) *atomic.Int64 {
	if c == nil {
		return new(atomic.Int64) // no container: metrics are dropped
	}
	k := metricName{ns, name}
	if c.last.cell != nil && c.last.name == k {
		return c.last.cell
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counters == nil {
		c.counters = map[metricName]*atomic.Int64{}
	}
	cell := c.counters[k]
	if cell == nil {
		cell = new(atomic.Int64)
		c.counters[k] = cell
	}
	c.last.name, c.last.cell = k, cell
	return cell
}

func (c *MetricsContainer) distribution(ns, name string) *distCell {
	if c == nil {
		return &distCell{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dists == nil {
		c.dists = map[metricName]*distCell{}
	}
	k := metricName{ns, name}
	cell := c.dists[k]
	if cell == nil {
		cell = &distCell{}
		cell.min.Store(math.MaxInt64)
		cell.max.Store(math.MinInt64)
		c.dists[k] = cell
	}
	return cell
}

func (c *MetricsContainer) gauge(ns, name string) *gaugeCell {
	if c == nil {
		return &gaugeCell{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gauges == nil {
		c.gauges = map[metricName]*gaugeCell{}
	}
	k := metricName{ns, name}
	cell := c.gauges[k]
	if cell == nil {
		cell = &gaugeCell{}
		c.gauges[k] = cell
	}
	return cell
}

type distCell struct {
	count, sum, min, max atomic.Int64
}

func (d *distCell) update(v int64) {
	d.count.Add(1)
	d.sum.Add(v)
	for {
		m := d.min.Load()
		if v >= m || d.min.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := d.max.Load()
		if v <= m || d.max.CompareAndSwap(m, v) {
			break
		}
	}
}

func (d *distCell) load() DistributionValue {
	n := d.count.Load()
	if n == 0 {
		return DistributionValue{}
	}
	return DistributionValue{Count: n, Sum: d.sum.Load(), Min: d.min.Load(), Max: d.max.Load()}
}

type gaugeCell struct {
	value atomic.Int64
	nanos atomic.Int64
}

func (g *gaugeCell) set(v int64) {
	g.value.Store(v)
	g.nanos.Store(time.Now().UnixNano())
}

func (g *gaugeCell) load() GaugeValue {
	return GaugeValue{Value: g.value.Load(), Time: time.Unix(0, g.nanos.Load())}
}
