"""Kafka for the commands: the topics and their creation (`topics.py`), publishing a JSONL
file (`producer.py`), reading the alerts and the group's lag (`consumer.py`). The worker
reads and writes Kafka through Faust instead (`streams.worker`)."""
