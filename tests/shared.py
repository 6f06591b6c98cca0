"""Paths to the team's shared data sets, which CI always has and a fresh machine may not."""

from pathlib import Path

import pytest

from .conftest import IN_CI

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SEED_LABEL = SHARED / "seeds" / "000_e8b968dd3d2da3af.txt"
CTCAE_CSV = SHARED / "datasets" / "ctcae_v5.0.csv"
DATA = Path(__file__).resolve().parent / "data"


def shared_file(path: Path) -> Path:
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing; CI must have the shared data sets")
        pytest.skip(f"{path} is not on this machine")
    return path
