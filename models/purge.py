"""What a purge run (`appeals purge`, the daily schedule, the API) takes and says."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class PurgeInput(BaseModel):
    """A run of the ``appeals-purge`` schedule. ``at`` is the run's time; a Schedule
    leaves it empty and the workflow takes its scheduled start time."""

    at: datetime | None = None


class PurgeRequest(BaseModel):
    at: datetime
    actor: str
    dry_run: bool = False


class PurgeResult(BaseModel):
    """Which cases a run purged (or, dry, would purge): ids only, never their data."""

    at: datetime
    actor: str
    dry_run: bool
    cutoff: datetime  # cases closed before this lost their personal data
    hash_cutoff: datetime  # cases closed before this lost their repeat-matching hashes
    case_ids: list[str] = Field(default_factory=list)
    hash_case_ids: list[str] = Field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "dry_run": self.dry_run,
            "cutoff": self.cutoff.isoformat(),
            "hash_cutoff": self.hash_cutoff.isoformat(),
            "cases": len(self.case_ids),
            "case_ids": self.case_ids,
            "hashes_cleared": len(self.hash_case_ids),
            "hash_case_ids": self.hash_case_ids,
        }
