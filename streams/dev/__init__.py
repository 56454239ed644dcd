"""For development and tests, not the worker's runtime: `local_broker/` (a single-node
Kafka from the broker's own jars, `aidmon broker`) and `synthetic/` (labelled event streams
with planted findings, `aidmon generate`)."""
