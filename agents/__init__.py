"""The detectors: pure, event-time only, no Kafka, Faust or HTTP (see ARCHITECTURE.md)."""
