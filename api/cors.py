"""CORS for the codec endpoint alone: the Temporal Web UI's pages (one configured
origin) may call /api/v1/codec from the browser with credentials; no other origin
may, and no other path answers cross-origin requests at all.

Starlette's CORSMiddleware would apply to the whole app, where the web screens and
the API have no cross-origin callers; this is the few lines of it the codec needs.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What the UI sends: its JSON body, the namespace, and with "pass access token" its
# OIDC tokens (newer UIs add the ID token as Authorization-Extras).
ALLOWED_HEADERS = ("content-type", "x-namespace", "authorization", "authorization-extras")
MAX_AGE = "600"


class CodecCors:
    def __init__(self, app: ASGIApp, *, prefix: str, origin: str | None) -> None:
        self.app, self.prefix, self.origin = app, prefix, origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = self.origin is not None and origin == self.origin
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(headers, allowed, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out.add_vary_header("Origin")
                if allowed:
                    # Also on refusals: the UI reads a 4xx and says why, instead of
                    # taking a blocked response for a network fault and retrying.
                    out["Access-Control-Allow-Origin"] = origin or ""
                    out["Access-Control-Allow-Credentials"] = "true"
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, headers: Headers, allowed: bool, send: Send) -> None:
        method = headers["access-control-request-method"].strip().upper()
        asked = {
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        }
        refusal = None
        if not allowed:
            refusal = (
                "cross-origin calls to the codec are allowed from the configured Temporal UI "
                "only (APPEALS_CODEC_UI_ORIGIN)"
            )
        elif method != "POST":
            refusal = "the codec takes POST only"
        elif not asked <= set(ALLOWED_HEADERS):
            refusal = f"the codec accepts the headers {', '.join(ALLOWED_HEADERS)} only"
        if refusal is None:
            response = [
                (b"access-control-allow-origin", (self.origin or "").encode()),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-allow-methods", b"POST"),
                (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
                (b"access-control-max-age", MAX_AGE.encode()),
                (b"vary", b"Origin"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": response})
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps({"detail": refusal}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)),
                    (b"vary", b"Origin"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
