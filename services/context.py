"""What a service call needs: settings, the read model, the rules, a Temporal client."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from temporalio.client import Client

from client import connect
from codec import CodecKeyError, EncryptionCodec, keyring_for
from routing_rules import RulesError, RuleSet, load_ruleset
from services.errors import Unavailable
from settings import Settings

log = logging.getLogger("appeals.services")


def _stamp(directory: Path) -> tuple[float, ...]:
    try:
        return tuple(sorted(p.stat().st_mtime for p in directory.glob("*.yaml")))
    except OSError:
        return ()


@dataclass
class Context:
    """One per process (the API server, a test); shared by every request."""

    settings: Settings
    engine: Engine
    _rules: RuleSet | None = None
    _client: Client | None = None
    _codec: EncryptionCodec | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _stamp: tuple[float, ...] = ()
    _checked: float = 0.0

    @property
    def rules(self) -> RuleSet:
        """The rules directory, re-read when its files change (looked at every 2 s at
        most), as the workers do; an invalid edit keeps the last valid version."""
        now = time.monotonic()
        if self._rules is None or now - self._checked > 2.0:
            self._checked = now
            stamp = _stamp(self.settings.rules_dir)
            if self._rules is None or stamp != self._stamp:
                try:
                    self._rules = load_ruleset(self.settings.rules_dir)
                    self._stamp = stamp
                except RulesError:
                    if self._rules is None:
                        raise
                    log.warning(
                        "the edited rules are invalid; keeping version %s", self._rules.version
                    )
        return self._rules

    def reload_rules(self) -> RuleSet:
        """Read the rules directory now; the old rules stay if the new ones are invalid."""
        fresh = load_ruleset(self.settings.rules_dir)
        self._rules, self._stamp = fresh, _stamp(self.settings.rules_dir)
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

    def codec(self) -> EncryptionCodec:
        """The payload codec with this process's keys (the same ones its client uses)."""
        if self._codec is None:
            try:
                self._codec = EncryptionCodec(keyring_for(self.settings))
            except CodecKeyError as e:
                raise Unavailable(f"the payload codec has no usable key: {e}") from e
        return self._codec

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
