package dataflow

// User state and timers (value, bag, combining, map and set state; event-time
// and processing-time timers with output timestamps) belong here, declared on
// a stateful ParDo over keyed input and stored per key and window by the
// runner. They arrive with the streaming runner; until then a pipeline cannot
// declare state, so no runner can silently ignore it.
