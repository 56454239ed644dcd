"""The Faust worker, the detectors of `agents/` on Kafka: `app.py` builds the app
(`build_app`); `context.py` holds what its agents share (`WorkerContext`, `Topics`);
`route.py` is the `route` agent, the task that sends the lanes and the heartbeat,
`intake.py` what `route` does with one message, `outbox.py` the lanes' batches;
`detect.py` the `detect` agent, the checkpoint task and the revocation handler;
`detection.py` the process the monitors run in (`detection_process.py` its side),
`monitors.py` keeps a monitor per lanes partition and its checkpoints, `changelog.py`
writes them, `progress.py` how far each partition has got, `lanes.py` where each event's
state lives, `table_store.py` the detectors' state in a Faust table; `alignment.py` and
`fetching.py` what the worker asks of Faust's Kafka client (partitions paused for reading
ahead, how long the broker may hold a fetch), `continuity.py` the holes in what it hands
over, read again, `commits.py` its commits past gaps (each offset counted once), and
`recovery_watch.py` the stop of a worker whose reading of its state back has stalled."""
