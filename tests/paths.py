"""Where the shared test data lives: `../shared` beside the checkout (read in place)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared").resolve()
SAMPLE = SHARED / "data" / "sample"
SANCTIONS = SHARED / "data" / "sanctions"
GEO = SHARED / "data" / "geo"
SCORE = SHARED / "tools" / "score.py"


def require(path: Path) -> Path:
    """The shared data is part of the test set-up: its absence is an error, not a skip."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the tests read ../shared beside the checkout")
    return path
