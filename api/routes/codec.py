"""POST /api/v1/codec/decode and /encode: Temporal's remote codec protocol, so that the
Temporal Web UI (and `temporal --codec-endpoint`) shows administrators the histories
that codec.py seals.

The protocol: the body is a ``Payloads`` message as protobuf JSON (``{"payloads":
[{"metadata": {k: base64}, "data": base64}]}``), the answer the same shape; the UI
names the namespace in ``X-Namespace``. The person is the bearer token's owner, or the
web session's when the browser sends its cookie from the configured UI origin (the
UI's "include cross-origin credentials"); api/cors.py answers that origin's preflight.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field, field_validator
from temporalio.api.common.v1 import Payload, Payloads

from api.deps import Ctx, oauth2, principal_from_token
from auth import tokens
from auth.identity import AuthError, Principal, authenticate
from auth.policy import Action
from services import codec
from services.errors import BadInput, Unauthenticated
from services.scope import required_scope
from web.session import COOKIE

router = APIRouter(prefix="/codec", tags=["codec"])

_B64 = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")


def _base64(value: str) -> str:
    # Strict where protobuf's own parser is lenient (it drops characters it does not
    # know): proto3 JSON bytes are standard or URL-safe base64, padded or not.
    text = value.strip()
    bare = text.rstrip("=")
    if not _B64.match(text) or len(bare) % 4 == 1:
        raise ValueError("not base64")
    try:
        base64.b64decode(bare.replace("-", "+").replace("_", "/") + "=" * (-len(bare) % 4))
    except binascii.Error:
        raise ValueError("not base64") from None
    return text


class PayloadJson(BaseModel):
    """A ``temporal.api.common.v1.Payload`` as protobuf JSON; other Payload fields the
    protocol may carry (``externalPayloads``) pass to protobuf's parser, which knows them."""

    model_config = ConfigDict(extra="allow")

    metadata: dict[str, str] = Field(default_factory=dict, max_length=64)
    data: str | None = None

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        return {k: _base64(v) for k, v in value.items()}

    @field_validator("data")
    @classmethod
    def _data(cls, value: str | None) -> str | None:
        return None if value is None else _base64(value)


class PayloadsJson(BaseModel):
    """A ``temporal.api.common.v1.Payloads`` message as protobuf JSON."""

    model_config = ConfigDict(extra="forbid")

    payloads: list[PayloadJson] = Field(default_factory=list, max_length=10_000)


Namespace = Annotated[
    str | None,
    Header(alias="X-Namespace", max_length=255, description="the namespace (the UI sends it)"),
]


@dataclass(frozen=True)
class Caller:
    principal: Principal
    via: Literal["bearer", "cookie"]
    origin: str | None


def _caller(request: Request, ctx: Ctx, token: str | None) -> Caller:
    origin = request.headers.get("origin")
    cookie = request.cookies.get(COOKIE)
    if token and tokens.split(token) is not None:
        return Caller(principal=principal_from_token(ctx, token), via="bearer", origin=origin)
    if cookie:
        allowed = ctx.settings.codec_origin
        if origin is None or origin != allowed:
            # An ambient cookie proves only that a browser holds a session, not that our
            # UI sent the request: it counts from the configured UI's pages alone.
            raise Unauthenticated(
                "a web session counts here only from the Temporal UI at "
                f"{allowed or '(none configured: APPEALS_CODEC_UI_ORIGIN)'}; "
                "elsewhere send a bearer token"
            )
        with ctx.session() as session:
            try:
                p = authenticate(session, ctx.rules, cookie, now=ctx.now())
            except AuthError as e:
                raise Unauthenticated(f"{e} (the web screens' /login)") from e
        return Caller(principal=p, via="cookie", origin=origin)
    if token:  # e.g. the UI's own OIDC access token: not one of ours
        principal_from_token(ctx, token)
    raise Unauthenticated(
        "not authenticated: log in to the web screens (the UI sends the session cookie when "
        "it includes cross-origin credentials) or send a bearer token"
    )


def allowed_to(action: Action) -> Any:
    """The caller, once their role may do ``action`` (checked before the body is read)."""

    def check(request: Request, ctx: Ctx, token: Annotated[str | None, Depends(oauth2)]) -> Caller:
        caller = _caller(request, ctx, token)
        required_scope(caller.principal, action)
        return caller

    return Depends(check)


def _payloads(body: PayloadsJson) -> list[Payload]:
    try:
        parsed = json_format.ParseDict(body.model_dump(exclude_none=True), Payloads())
    except (json_format.ParseError, ValueError, TypeError) as e:
        raise BadInput(f"invalid payloads: {' '.join(str(e).split())[:300]}") from None
    return list(parsed.payloads)


def _answer(payloads: list[Payload]) -> dict[str, Any]:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


def _call(ctx: Ctx, caller: Caller, namespace: str | None) -> codec.CodecCall:
    return codec.CodecCall(
        namespace=namespace if namespace is not None else ctx.settings.temporal_namespace,
        via=caller.via,
        origin=caller.origin[:200] if caller.origin else None,
    )


@router.post("/decode", response_model=PayloadsJson, response_model_exclude_none=True)
def decode(
    ctx: Ctx,
    body: PayloadsJson,
    caller: Annotated[Caller, allowed_to(Action.codec_decode)],
    x_namespace: Namespace = None,
) -> Any:
    """The payloads unsealed (administrators; each call audited, never its content)."""
    out = codec.decode(ctx, caller.principal, _payloads(body), call=_call(ctx, caller, x_namespace))
    return _answer(out)


@router.post("/encode", response_model=PayloadsJson, response_model_exclude_none=True)
def encode(
    ctx: Ctx,
    body: PayloadsJson,
    caller: Annotated[Caller, allowed_to(Action.codec_encode)],
    x_namespace: Namespace = None,
) -> Any:
    """The payloads sealed with the first key, as this deployment's clients seal them."""
    out = codec.encode(ctx, caller.principal, _payloads(body), call=_call(ctx, caller, x_namespace))
    return _answer(out)
