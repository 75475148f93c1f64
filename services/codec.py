"""Unsealing Temporal payloads for the Web UI (Temporal's remote codec protocol): for
administrators only, with this process's keys, and every call written to the
``codec_access`` table with who, when, the namespace, how many payloads and which key
ids, never the payloads themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload

from auth.identity import Principal
from auth.policy import Action
from codec import ENCODING, KEY_ID, CodecKeyError
from db.tables import CodecAccessRow
from services.context import Context
from services.errors import Forbidden, ServiceError
from services.scope import required_scope

Operation = Literal["decode", "encode"]
MAX_DETAIL = 300  # a key id comes from the request; a refusal need not echo all of it


@dataclass(frozen=True)
class CodecCall:
    """How the call reached us: the namespace the UI names (``X-Namespace``), the
    credential that identified the person, and the page's origin when a browser sent it."""

    namespace: str
    via: Literal["bearer", "cookie"]
    origin: str | None = None


class CodecRefused(ServiceError):
    """A payload this process cannot unseal (a key it does not hold, the wrong key
    material, a corrupt payload): 400, as the protocol says for a decoder error."""

    status = 400


def decode(
    ctx: Context, p: Principal, payloads: Sequence[Payload], *, call: CodecCall
) -> list[Payload]:
    """The payloads as the workflow wrote them; plain ones (from before the codec) as they are."""
    required_scope(p, Action.codec_decode)
    _check_namespace(ctx, call)
    codec = ctx.codec()
    kids = sorted(
        {
            x.metadata.get(KEY_ID, b"").decode(errors="replace")[:64]
            for x in payloads
            if x.metadata.get("encoding") == ENCODING
        }
    )
    try:
        out = [codec.decode_one(x) for x in payloads]
    except CodecKeyError as e:
        _audit(ctx, p, "decode", call, len(payloads), kids, "refused")
        raise CodecRefused(str(e)[:MAX_DETAIL]) from None
    except DecodeError:
        _audit(ctx, p, "decode", call, len(payloads), kids, "refused")
        raise CodecRefused("a payload decrypted to something that is not a payload") from None
    _audit(ctx, p, "decode", call, len(payloads), kids, "ok")
    return out


def encode(
    ctx: Context, p: Principal, payloads: Sequence[Payload], *, call: CodecCall
) -> list[Payload]:
    """The payloads sealed with the first key, as a client of ours would send them (the
    UI encodes what an administrator types, e.g. a signal's input)."""
    required_scope(p, Action.codec_encode)
    _check_namespace(ctx, call)
    codec = ctx.codec()
    out = [codec.encode_one(x) for x in payloads]
    kids = [codec.keyring.primary] if payloads else []
    _audit(ctx, p, "encode", call, len(payloads), kids, "ok")
    return out


def _check_namespace(ctx: Context, call: CodecCall) -> None:
    # The keys are this deployment's, for its namespace: another namespace's payloads
    # are none of this endpoint's business (and it says so without echoing the header).
    served = ctx.settings.temporal_namespace
    if call.namespace != served:
        raise Forbidden(f"this codec serves the namespace {served!r} only")


def _audit(
    ctx: Context,
    p: Principal,
    operation: Operation,
    call: CodecCall,
    count: int,
    kids: Sequence[str],
    outcome: str,
) -> None:
    with ctx.session() as session:
        session.add(
            CodecAccessRow(
                at=ctx.now(),
                staff_id=p.staff_id,
                operation=operation,
                namespace=call.namespace,
                payloads=count,
                key_ids=",".join(kids)[:400],
                outcome=outcome,
                via=call.via,
                origin=call.origin,
            )
        )
        session.commit()
