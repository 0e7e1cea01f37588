// Command windowed is Sluice's demo: windowed analytics over one simulated
// day of e-commerce orders. It needs no input and no setup:
//
//	go run ./examples/windowed                 # 1,000,000 orders
//	go run ./examples/windowed -orders=10000000 -parallelism=8
//
// The orders come from a generator (transforms.Sequence of order ids and a
// ParDo that turns id i into an order), deterministic for a -seed: each
// order's time, user, category and amount depend only on the seed, the
// number of orders and the id, so every run and every number of workers gives
// the same orders. Orders follow a day's rhythm (quiet at night, busy in the
// evening), and some users place several orders within minutes.
//
// Every order carries its event timestamp, and four analyses window them:
//
//	Hourly    1-hour fixed windows: orders (Count), revenue per category
//	          (SumPerKey) and the top 3 categories of each hour (Top)
//	Sliding   1-hour windows every 15 minutes: orders (Count); the report
//	          lists the three busiest
//	Sessions  session windows per user with a 10-minute gap: the number of
//	          sessions, orders per session and time from first to last order
//	          (CountPerKey, then CombineGlobally in the global window)
//
// Results come back through memio collectors, which keep the elements, with
// their windows, once the run commits. The report is
// sorted, so it is the same on every run; only the closing line (run time and
// orders per second) varies. The test checks every figure against a plain
// loop over the same generated orders.
package main
