"""The `aidmon` command: `main.py` builds the parser from the commands of `offline.py`
(replay, schemas, generate), `live.py` (broker, topics, worker, publish, alerts, lag) and
`tokens.py` (token create), and runs one."""
