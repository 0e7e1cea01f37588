package beam

import (
	"context"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"

	df "github.com/sluicedata/sluice/pkg/dataflow"
)

// Sluice metrics travel as Beam user metrics of the bridge's DoFn, named
// "<name>\x1f<Sluice transform>", so that the transform a metric belongs
// to survives however the runner names Beam's transforms.
const stepSep = "\x1f"

// reportMetrics hands Beam what the chain's metrics gained since the last
// report. Beam counts are cumulative per bundle, so deltas are reported.
func (inst *instance) reportMetrics(ctx context.Context) error {
	now := inst.metrics.Snapshot()
	for k, v := range now.Counters {
		if d := v - inst.sent.Counters[k]; d != 0 {
			beam.NewCounter(k.Namespace, k.Name+stepSep+k.Step).Inc(ctx, d)
		}
	}
	for k, v := range now.Distributions {
		old := inst.sent.Distributions[k]
		if v.Count == old.Count {
			continue
		}
		// Beam's Go SDK only takes single values. Report values that give
		// the same count, sum, minimum and maximum: the minimum and the
		// maximum, then the rest of the sum spread over the other values.
		dist := beam.NewDistribution(k.Namespace, k.Name+stepSep+k.Step)
		n, sum := v.Count-old.Count, v.Sum-old.Sum
		switch {
		case n == 1:
			dist.Update(ctx, sum)
		default:
			dist.Update(ctx, v.Min)
			dist.Update(ctx, v.Max)
			rest, m := sum-v.Min-v.Max, n-2
			for i := int64(0); i < m; i++ {
				share := rest / (m - i)
				dist.Update(ctx, share)
				rest -= share
			}
		}
	}
	for k, v := range now.Gauges {
		if old, ok := inst.sent.Gauges[k]; !ok || old != v {
			beam.NewGauge(k.Namespace, k.Name+stepSep+k.Step).Set(ctx, v.Value)
		}
	}
	inst.sent = now
	return nil
}

// fromBeamMetrics turns a job's Beam metrics back into Sluice's, keeping
// only the metrics the bridge reported.
func fromBeamMetrics(res *metrics.Results) df.Metrics {
	m := df.Metrics{Counters: map[df.MetricKey]int64{}, Distributions: map[df.MetricKey]df.DistributionValue{}, Gauges: map[df.MetricKey]df.GaugeValue{}}
	if res == nil {
		return m
	}
	key := func(k metrics.StepKey) (df.MetricKey, bool) {
		name, step, ok := strings.Cut(k.Name, stepSep)
		return df.MetricKey{Step: step, Namespace: k.Namespace, Name: name}, ok
	}
	all := res.AllMetrics()
	for _, c := range all.Counters() {
		if k, ok := key(c.Key); ok {
			m.Counters[k] += c.Result()
		}
	}
	for _, d := range all.Distributions() {
		if k, ok := key(d.Key); ok {
			v := d.Result()
			old, seen := m.Distributions[k]
			nv := df.DistributionValue{Count: v.Count, Sum: v.Sum, Min: v.Min, Max: v.Max}
			if seen {
				nv = df.DistributionValue{Count: old.Count + v.Count, Sum: old.Sum + v.Sum, Min: min(old.Min, v.Min), Max: max(old.Max, v.Max)}
			}
			m.Distributions[k] = nv
		}
	}
	for _, g := range all.Gauges() {
		if k, ok := key(g.Key); ok {
			v := g.Result()
			if old, seen := m.Gauges[k]; !seen || v.Timestamp.After(old.Time) {
				m.Gauges[k] = df.GaugeValue{Value: v.Value, Time: v.Timestamp}
			}
		}
	}
	return m
}
