"""The embedded stack as separate processes, configured as production is (a named
Temporal, a codec key, a match key, a database URL): the Temporal dev server, the SMTP
sink, the read model (a SQLite file, or a throwaway PostgreSQL), `appeals serve` and
`appeals worker`. Each part can be faulted on its own; ``stop`` ends all of them."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

from bench.chaos.parts import PartError, Service, Sink, TemporalServer, free_port, tail
from bench.chaos.pg import PgServer
from bench.stack import api_answers
from codec import new_key
from devstack import seed_accounts
from settings import Settings

PASSWORD = "chaos-dev-2026"  # the sample accounts' password on this throwaway stack


class Stack:
    def __init__(self, data: Path, *, db: str = "sqlite") -> None:
        if db not in ("sqlite", "postgres"):
            raise PartError(f"unknown database {db!r}: sqlite or postgres")
        self.data = data
        self.temporal = TemporalServer(data)
        self.sink = Sink()
        self.pg = PgServer() if db == "postgres" else None
        self.sqlite = data / "appeals.db"
        db_url = self.pg.url if self.pg else f"sqlite:///{self.sqlite}"
        self.api_port = free_port()
        self.settings = Settings(
            data_dir=data,
            temporal_address=self.temporal.address,
            codec_keys=f"chaos:{new_key()}",
            match_key=secrets.token_hex(32),
            database_url=db_url,
            smtp_host="127.0.0.1",
            smtp_port=self.sink.port,
            http_host="127.0.0.1",
            http_port=self.api_port,
            api_url=f"http://127.0.0.1:{self.api_port}",
            dev_password=PASSWORD,
        )
        self.env = self._environment()
        self.worker = Service("worker", ["worker"], self.env, data, data / "worker.log")
        self.api = Service(
            "api",
            ["serve", "--host", "127.0.0.1", "--port", str(self.api_port)],
            self.env,
            data,
            data / "api.log",
        )

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _environment(self) -> dict[str, str]:
        """This process's environment without any APPEALS_ setting of its own, plus the
        stack's; the parts run in the data directory, so no stray .env is read."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("APPEALS_")}
        s = self.settings
        assert s.codec_keys and s.match_key
        env |= {
            "APPEALS_DATA_DIR": str(s.data_dir),
            "APPEALS_TEMPORAL_ADDRESS": s.address,
            "APPEALS_CODEC_KEYS": s.codec_keys.get_secret_value(),
            "APPEALS_MATCH_KEY": s.match_key.get_secret_value(),
            "APPEALS_DATABASE_URL": s.db_url,
            "APPEALS_SMTP_HOST": s.smtp_host,
            "APPEALS_SMTP_PORT": str(s.sink_port),
            "APPEALS_HTTP_HOST": s.http_host,
            "APPEALS_HTTP_PORT": str(self.api_port),
            "APPEALS_API_URL": self.api_base,
            "APPEALS_DEV_PASSWORD": PASSWORD,
        }
        return env

    async def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        await self.temporal.start()
        self.sink.start()
        if self.pg is not None:
            await asyncio.to_thread(self.pg.init)
            await asyncio.to_thread(self.pg.start)
        # Migrated, with the sample accounts and the password above, as `appeals dev`
        # seeds them (a production deployment adds its accounts with `appeals users`).
        await asyncio.to_thread(seed_accounts, self.settings)
        self.api.start()
        await self.api_ready()
        self.worker.start()

    async def api_ready(self, timeout: float = 90) -> None:
        if not await api_answers(self.api_base, self.api.exited, timeout):
            raise PartError(f"the API did not answer within {timeout:.0f} s: {tail(self.api.log)}")

    async def stop(self) -> None:
        """Everything, whatever state the faults left it in: the worker first."""
        for service in (self.worker, self.api):
            try:
                await service.stop()
            except Exception as e:  # noqa: BLE001 - the rest must still be stopped
                print(f"warning: {service.name} did not stop: {e!r}")
        await self.temporal.stop()
        self.sink.stop()
        if self.pg is not None:
            await asyncio.to_thread(self.pg.remove)
