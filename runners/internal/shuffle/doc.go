// Package shuffle is the GroupByKey exchange of the execution core: it takes
// encoded (key, window, timestamp, value) records from many workers, splits
// them into partitions by a hash of the key, keeps each partition in memory
// while a shared budget allows and spills sorted runs to disk past it, and
// reads each partition back as groups in (key, window) order with values in
// arrival order.
//
// Contract:
//  1. Add copies its arguments; callers may reuse their buffers.
//  2. Add is safe for concurrent use; Groups is called once per partition,
//     after every Add has returned, and may run concurrently for different
//     partitions.
//  3. Within a group, values come in the order they were added to the
//     partition (runs are ordered by time of spilling; the sort is stable).
//  4. Memory held by all partitions of all shuffles sharing a Budget stays
//     near the budget: a partition that is added to while the budget is
//     exceeded spills. One group must fit in memory when it is read.
//  5. The shuffle holds no goroutines; Close removes its spill files.
package shuffle
