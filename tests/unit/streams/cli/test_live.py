"""The live commands' arguments."""

from __future__ import annotations

import pytest

from streams.cli.main import main


@pytest.mark.parametrize("batch", ["0", "-3", "ten"])
def test_publish_refuses_a_batch_size_below_one(batch: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`publish --batch N` takes a whole number of at least 1; anything else is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as stopped:
        main(["publish", "events.jsonl", "--batch", batch])
    assert stopped.value.code == 2
    assert "argument --batch" in capsys.readouterr().err
