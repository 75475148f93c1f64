"""What a service call needs: settings, the read model, the rules, a Temporal client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from temporalio.client import Client

from client import connect
from routing_rules import RulesError, RuleSet, load_ruleset
from services.errors import Unavailable
from settings import Settings


@dataclass
class Context:
    """One per process (the API server, a test); shared by every request."""

    settings: Settings
    engine: Engine
    _rules: RuleSet | None = None
    _client: Client | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def rules(self) -> RuleSet:
        if self._rules is None:
            self._rules = load_ruleset(self.settings.rules_dir)
        return self._rules

    def reload_rules(self) -> RuleSet:
        """Read the rules directory again; the old rules stay if the new ones are invalid."""
        try:
            fresh = load_ruleset(self.settings.rules_dir)
        except RulesError:
            raise
        self._rules = fresh
        return fresh

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await connect(self.settings)
                    except RuntimeError as e:
                        raise Unavailable(
                            f"cannot reach Temporal at {self.settings.address}; try again shortly"
                        ) from e
        return self._client

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with Session(self.engine) as session:
                yield session
        except OperationalError as e:
            raise Unavailable("the database did not answer; try again shortly") from e

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
