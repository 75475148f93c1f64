"""The CLI's side of the HTTP API: the bearer token (from `appeals login`, or
APPEALS_TOKEN), one call per command, and every refusal as one line.

The token file lives in the user's config directory (``typer.get_app_dir``, i.e.
``$XDG_CONFIG_HOME/appeals/token`` on Linux) and is created with mode 0600: it is
as good as the password for eight hours.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, TextIO

import httpx
import typer

from commands.common import UserError, settings
from settings import Settings

API_PREFIX = "/api/v1"
# An action waits for the workflow's Update (up to 30 s) and opening a case for its
# first projection (up to 10 s); the client waits a little longer than both.
TIMEOUT = httpx.Timeout(90.0, connect=5.0)
LOGIN_HINT = "run `appeals login`"


class ApiError(UserError):
    """The API refused a request; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {}


def token_path() -> Path:
    return Path(typer.get_app_dir("appeals")) / "token"


def save_token(token: str) -> Path:
    """Write the token readable by its owner only, from the first byte on."""
    path = token_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".token.{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.replace(tmp, path)  # atomic: a reader sees the old token or the new one
    return path


def delete_token() -> bool:
    path = token_path()
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def stored_token(s: Settings) -> str | None:
    """APPEALS_TOKEN first (scripts, CI), else the file `appeals login` wrote."""
    if s.token is not None and s.token.get_secret_value().strip():
        return s.token.get_secret_value().strip()
    try:
        token = token_path().read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return token or None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]


def check(r: httpx.Response) -> Any:
    """The response's JSON, or an ApiError with the API's one-line ``detail``."""
    if r.status_code < 400:
        return r.json() if r.content else None
    try:
        body = r.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    detail = body.get("detail")
    message = _one_line(str(detail)) if detail else f"the API answered {r.status_code}"
    if r.status_code == 401:
        message = f"{message}; {LOGIN_HINT}"
    raise ApiError(message, r.status_code, body)


def _unreachable(base: str, e: httpx.HTTPError) -> UserError:
    if isinstance(e, httpx.TimeoutException) and not isinstance(e, httpx.ConnectTimeout):
        return UserError(f"the API at {base} did not answer in time; the action may still apply")
    return UserError(f"cannot reach the API at {base}: is `appeals dev` running?")


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def _trust_env(base: str) -> bool:
    # A proxy from the environment must not stand between the CLI and a local stack.
    host = httpx.URL(base).host
    return host not in ("127.0.0.1", "localhost", "::1")


class Api:
    """A synchronous client for the commands; ``token=None`` for /token only."""

    def __init__(self, s: Settings, *, token: str | None = None, anonymous: bool = False) -> None:
        self.base = s.api_base
        if not anonymous:
            token = token or stored_token(s)
            if token is None:
                raise UserError(f"not logged in: {LOGIN_HINT} (or set APPEALS_TOKEN)")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        if "params" in kwargs:
            kwargs["params"] = _clean(kwargs["params"])
        try:
            with httpx.Client(
                base_url=self.base + API_PREFIX,
                headers=self.headers,
                timeout=TIMEOUT,
                trust_env=_trust_env(self.base),
            ) as http:
                return check(http.request(method, path, **kwargs))
        except httpx.HTTPError as e:
            raise _unreachable(self.base, e) from e

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def stream_to(self, out: TextIO, path: str, **params: Any) -> None:
        """GET ``path`` and copy the response's text to ``out`` as it arrives."""
        try:
            with (
                httpx.Client(
                    base_url=self.base + API_PREFIX,
                    headers=self.headers,
                    timeout=TIMEOUT,
                    trust_env=_trust_env(self.base),
                ) as http,
                http.stream("GET", path, params=_clean(params)) as r,
            ):
                if r.status_code >= 400:
                    r.read()
                    check(r)
                for text in r.iter_text():
                    out.write(text)
        except httpx.HTTPError as e:
            raise _unreachable(self.base, e) from e

    def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return self.request("POST", path, json=_clean(body) or {}, headers=headers)


class AsyncApi:
    """The same for code already on an event loop (the demo, beside its own server)."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base + API_PREFIX,
            headers=headers,
            timeout=TIMEOUT,
            trust_env=_trust_env(base),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return check(await self._http.request(method, path, **kwargs))
        except httpx.HTTPError as e:
            raise _unreachable(self.base, e) from e

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=_clean(params))

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.request("POST", path, json=_clean(body) or {})

    async def login(self, username: str, password: str) -> str:
        data = await self.request(
            "POST", "/token", data={"username": username, "password": password}
        )
        return str(data["access_token"])


def api() -> Api:
    """The logged-in person's client for the configured API."""
    return Api(settings())


def post_action(path: str, body: dict[str, Any] | None, key: str | None) -> Any:
    """One action (a task's or a case's) as the logged-in person, sent with an
    Idempotency-Key. When its answer is "no answer in time; the action may still take
    effect", the line says which key it had: the same command again with ``--key`` is
    the same action (one note, one 督办, not two), whatever became of it."""
    key = key or uuid.uuid4().hex
    try:
        return api().post(path, body or {}, headers={"Idempotency-Key": key})
    except ApiError as e:
        if e.status == 503:
            raise UserError(f"{e}; to send it again: the same command with --key {key}") from e
        raise
    except UserError as e:  # the API did not answer in time
        if "may still apply" in str(e):
            raise UserError(f"{e}; to send it again: the same command with --key {key}") from e
        raise
