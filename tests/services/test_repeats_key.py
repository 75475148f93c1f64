"""The repeat-matching key: a keyed hash, never the number; the embedded stack makes a
key once (mode 0600); production without APPEALS_MATCH_KEY is a clear refusal."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from services.repeats import MatchKeyMissing, match_key, worker_hashes
from settings import Settings


def test_the_embedded_stack_makes_one_key_and_keeps_it(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    first = match_key(s)
    assert len(first) == 64 and match_key(s) == first
    assert stat.S_IMODE((tmp_path / "match.key").stat().st_mode) == 0o600
    phone, ident = worker_hashes(s, "138-0013-8001", "11010519491231002x")
    assert phone == worker_hashes(s, "13800138001", None)[0]  # separators do not matter
    assert ident is not None and "13800138001" not in phone and len(phone) == 64
    # Another key, other hashes: a read model alone cannot be searched for a number.
    other = Settings(data_dir=tmp_path, match_key=SecretStr("another-key"))
    assert worker_hashes(other, "13800138001", None)[0] != phone


def test_production_needs_the_key(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, temporal_address="temporal.example:7233")
    with pytest.raises(MatchKeyMissing, match="APPEALS_MATCH_KEY is not set"):
        match_key(s)
    assert not (tmp_path / "match.key").exists()
