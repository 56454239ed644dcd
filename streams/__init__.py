"""Everything that moves bytes: the detectors of `agents/` on files, Kafka and HTTP.

    settings.py  the one frozen settings object (TOML, then the environment)
    bootstrap.py what every entry point builds from it: pseudonymiser, sanctions, monitor
    replay.py    offline replay of a JSONL file    rejects.py  rejected input kept whole
    sanctions.py the UN consolidated list (untrusted XML)
    kafka/       topics, the producer (`aidmon publish`), consumers (alerts export/tail, lag)
    worker/      the Faust app: routing to lanes, detection over table-backed state
    outputs/     the worker's ways out: alert view, webhooks, metrics
    api/         the HTTP API on the worker's web port
    cli/         the `aidmon` command
    dev/         for development and tests: the local broker, the synthetic streams

No module imports another in a cycle, nor another module's private names (tests/unit/test_architecture.py).
"""
