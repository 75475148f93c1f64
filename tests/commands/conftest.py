"""The CLI's local commands as a user runs them: the `appeals` executable in a fresh
data directory (a real SQLite read model) and a config directory of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from settings import Settings
from tests.frontdoor import free_port

APPEALS = str(Path(sys.executable).parent / "appeals")


@dataclass
class Appeals:
    """`appeals` with its own data and config directories; every output is kept, so a
    test can check that no password ever appeared in any of them."""

    data_dir: Path
    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)

    def __call__(
        self, *args: str, stdin: str | None = None, code: int = 0, **env: str
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [APPEALS, *args],
            env=self.env | env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.outputs += [proc.stdout, proc.stderr]
        assert proc.returncode == code, f"appeals {' '.join(args)}: {proc.stdout}{proc.stderr}"
        if code:
            lines = proc.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        return proc

    @property
    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir)

    @property
    def config_dir(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "appeals"

    def api(self) -> TestClient:
        """The API over this data directory, in-process (no Temporal needed for identity)."""
        return TestClient(create_app(self.settings))


@pytest.fixture
def appeals(tmp_path: Path) -> Appeals:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPEALS_")}
    env |= {
        "APPEALS_DATA_DIR": str(tmp_path / "var"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "COLUMNS": "200",
    }
    return Appeals(data_dir=tmp_path / "var", env=env)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a real port, in a thread (the CLI under test is another process)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="appeals-test-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
