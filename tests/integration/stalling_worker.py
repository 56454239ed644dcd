"""`aidmon` whose reading of the state back stalls, for the recovery watch's test:

    python -m tests.integration.stalling_worker [aidmon arguments...]

Faust's consumer never resumes the partitions of a changelog, so a recovery with records
to read gets none of them, as in the stall once seen in CI; everything else is the real
command line, run in this process.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from faust.transport.consumer import Consumer
from faust.types import TP

from streams.cli.main import main


def stall_recovery() -> None:
    """Make the consumer leave every changelog partition paused."""
    original = Consumer.resume_partitions

    def resume_partitions(self: Consumer, tps: Iterable[TP]) -> None:
        original(self, [tp for tp in tps if not tp.topic.endswith("-changelog")])

    Consumer.resume_partitions = resume_partitions  # type: ignore[method-assign]


if __name__ == "__main__":
    stall_recovery()
    sys.exit(main(sys.argv[1:]))
