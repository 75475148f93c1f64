"""One settings class for every entry point: env prefix ``APPEALS_``."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from routing_rules import DEFAULT_RULES_DIR

EMBEDDED_PORT = 7233


class Settings(BaseSettings):
    """Read once from the environment (and ``.env``); validation errors name the variable."""

    model_config = SettingsConfigDict(env_prefix="APPEALS_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    # None means "the embedded stack": `appeals dev` starts a dev server on 127.0.0.1.
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_tls: bool = False
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_api_key: SecretStr | None = None
    task_queue: str = "appeals"
    embedded_port: int = Field(default=EMBEDDED_PORT, ge=1024, le=65000)

    database_url: str | None = None  # default: SQLite file under data_dir

    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = None  # default: the embedded sink's port (embedded_port + 2)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: bool = False
    smtp_starttls: bool = False
    mail_from: str = "appeals-noreply@appeals.example"
    # APPEALS_ADMIN_MAIL: who is told when an e-mail fails for good (unset: the log only).
    admin_mail: str | None = None
    # The outbox relay in each worker (activities/relay.py): seconds between looks at
    # the outbox when it is idle, rows sent a pass, and mails on the wire at once.
    mail_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    mail_batch: int = Field(default=50, ge=1, le=1000)
    mail_concurrency: int = Field(default=8, ge=1, le=100)

    # The HTTP API and web screens: `appeals serve` and the embedded stack listen here
    # (default: the embedded gRPC port + 3); the CLI calls ``api_url`` (default: the
    # running `appeals dev`'s address from its stack file).
    http_host: str = "127.0.0.1"
    http_port: int | None = Field(default=None, ge=1024, le=65535)
    api_url: str | None = None
    # Only the embedded stack seeds accounts with it, so that the demo and a newcomer
    # can log in; production accounts are added with `appeals users add`.
    dev_password: SecretStr = SecretStr("appeals-dev-2026")
    # Behind a TLS-terminating load balancer the app sees plain http: say so here, so
    # the session cookie is still sent only over https (and HSTS is announced).
    cookie_secure: bool = False
    token: SecretStr | None = None  # APPEALS_TOKEN: a bearer token for the CLI

    # Repeat appeals (重复来电) are matched on keyed hashes (HMAC-SHA256) of the worker's
    # phone and ID number, never on the numbers themselves. APPEALS_MATCH_KEY is that
    # key; the embedded stack makes one under the data directory when it is unset.
    match_key: SecretStr | None = None
    # A case closed longer ago than this is not what a new call repeats.
    repeat_window_days: int = Field(default=30, ge=0, le=3650)
    # APPEALS_CODEC_KEYS: "id:base64key,id2:base64key" (AES-256). The first encrypts
    # what Temporal stores, every one decrypts (rotation: put the new key first).
    # Unset, the embedded stack makes its own under data_dir; any other Temporal
    # refuses to start without one.
    codec_keys: SecretStr | None = None
    # APPEALS_CODEC_UI_ORIGIN: the Temporal Web UI (scheme://host[:port]) whose pages
    # may call /api/v1/codec from the browser, with credentials (default: the embedded
    # stack's UI; none for any other Temporal).
    codec_ui_origin: str | None = None
    # Days after a case closes before `appeals purge` blanks its personal data.
    retention_days: int = Field(default=365, ge=1)

    # The worker's capacity (`appeals worker`; bench/README.md has the measurements):
    # workflow tasks it runs at once, threads for activities (queued and local ones share
    # them), and workflows it keeps in memory between their tasks (the sticky cache; a
    # workflow not in it is replayed from its history). 20 slots, not the SDK's 100: all
    # of them share one process's GIL, so a CPU-bound worker with 100 shared its core
    # among five times as many tasks, busy clusters' tasks passed the 10 s timeout and
    # were replayed, and the replays cascaded; with 20 the backlog waits on the server's
    # queue instead.
    worker_workflow_slots: int = Field(default=20, ge=1)
    worker_activity_threads: int = Field(default=16, ge=1)
    worker_cached_workflows: int = Field(default=1000, ge=0)
    # How the worker's sandbox holds the workflow code (sandbox.py): "shared", imported
    # once for every run; "strict", imported afresh for each run with the SDK's
    # restrictions on it, as the test suite runs it.
    workflow_sandbox: Literal["shared", "strict"] = "shared"

    rules_dir: Path = DEFAULT_RULES_DIR
    time_zone: str = "Asia/Shanghai"

    @field_validator("codec_ui_origin")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        # Compared with the browser's Origin header, which is exactly scheme://host[:port].
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("an origin is http(s)://host[:port], e.g. https://temporal.example")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError("an origin has no path, query or user: only http(s)://host[:port]")
        return f"{parts.scheme}://{parts.netloc.lower()}"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises with the zone's name if unknown
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def embedded(self) -> bool:
        return self.temporal_address is None

    def _stack(self) -> dict[str, Any]:
        """What a running `appeals dev` wrote about itself under the data directory."""
        path = self.data_dir / "stack.json"
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data

    @property
    def address(self) -> str:
        if self.temporal_address:
            return self.temporal_address
        return str(self._stack().get("address") or f"127.0.0.1:{self.embedded_port}")

    @property
    def ui_address(self) -> str:
        return str(self._stack().get("ui") or f"http://127.0.0.1:{self.embedded_port + 1000}")

    @property
    def codec_origin(self) -> str | None:
        """The one origin whose pages may call the codec endpoint with credentials."""
        if self.codec_ui_origin:
            return self.codec_ui_origin
        return self.ui_address if self.embedded else None

    @property
    def sink_port(self) -> int:
        return self.smtp_port or int(self._stack().get("smtp_port") or self.embedded_port + 2)

    @property
    def api_port(self) -> int:
        return self.http_port or self.embedded_port + 3

    @property
    def api_base(self) -> str:
        """Where the CLI finds the API: APPEALS_API_URL, else the running dev stack's."""
        if self.api_url:
            return self.api_url.rstrip("/")
        return str(self._stack().get("api") or f"http://127.0.0.1:{self.api_port}")

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'appeals.db').resolve()}"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
