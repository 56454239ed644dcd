"""Everything that moves bytes: settings, CLI, offline replay, list loading (and later Kafka)."""
