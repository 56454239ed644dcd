"""The Faust worker, the detectors of `agents/` on Kafka: `app.py` builds the app
(`build_app`); `context.py` holds what its agents share (`WorkerContext`, `Topics`);
`route.py` is the `route` agent and the heartbeat, `detect.py` the `detect` agent, the
checkpoint timer and the revocation handler; `monitors.py` keeps a monitor per lanes
partition and its checkpoints, `progress.py` how far each partition has got, `lanes.py`
where each event's state lives, `table_store.py` the detectors' state in a Faust table."""
