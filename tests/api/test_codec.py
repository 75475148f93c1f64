"""The codec endpoint (Temporal's remote codec protocol) on a real stack: an
administrator unseals a case's real history, nobody else may, the Web UI's origin alone
may call it from a browser, bad input is one line, old keys still decode, and every
call is audited without its content."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlmodel import Session, select
from temporalio.api.common.v1 import Payload

from api.app import create_app
from codec import ENCODING, KEY_ID, EncryptionCodec, Keyring
from db.tables import CodecAccessRow
from services.context import Context
from settings import Settings
from tests.conftest import BIN, eventually
from tests.frontdoor import INTAKE, FrontDoor, served
from tests.keys import KEY_A, KEY_B
from tests.privacy.sealed import history_payloads, raw_client

UI = "http://127.0.0.1:18233"  # the Web UI's origin these tests configure
DECODE, ENCODE = "/api/v1/codec/decode", "/api/v1/codec/encode"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def as_json(payloads: list[Payload]) -> dict[str, Any]:
    """As the Web UI sends them: protobuf JSON, bytes in base64."""
    return {
        "payloads": [
            {"metadata": {k: b64(v) for k, v in p.metadata.items()}, "data": b64(p.data)}
            for p in payloads
        ]
    }


def from_json(body: dict[str, Any]) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in p.get("metadata", {}).items()},
            data=base64.b64decode(p.get("data", "")),
        )
        for p in body["payloads"]
    ]


def app_with(door: FrontDoor, **settings: Any) -> httpx.AsyncClient:
    """A client of the door's app as configured with ``settings`` (same stack)."""
    live = door.ctx.settings.model_copy(update={"codec_ui_origin": UI, **settings})
    ctx = Context(settings=live, engine=door.stack.engine)
    ctx._client = door.ctx._client
    app = create_app(live, ctx=ctx)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://appeals.test")


async def sealed_case(door: FrontDoor, name: str) -> tuple[str, list[Payload]]:
    """A case opened through the API, and the sealed payloads of its stored history."""
    async with await door.as_user("clerk.li") as clerk:
        r = await clerk.post("/api/v1/cases", json=INTAKE | {"request_id": door.rid(name)})
        assert r.status_code == 201, r.text
        case_id = str(r.json()["case_id"])

        async def routed() -> bool | None:
            tasks = (await clerk.get(f"/api/v1/cases/{case_id}")).json()["tasks"]
            return True if tasks else None

        await eventually(routed)
    raw = raw_client(door.stack.client)
    history = await raw.get_workflow_handle(case_id).fetch_history()
    sealed = [p for p in history_payloads(history) if p.metadata["encoding"] == ENCODING]
    assert sealed and all(b"13800138001" not in p.data for p in sealed)
    return case_id, sealed


def audit(door: FrontDoor) -> list[CodecAccessRow]:
    with Session(door.stack.engine) as session:
        return list(session.exec(select(CodecAccessRow).order_by(CodecAccessRow.id)))  # type: ignore[arg-type]


def one_line(r: httpx.Response) -> str:
    detail = r.json()["detail"]
    assert set(r.json()) == {"detail"} and isinstance(detail, str)
    assert detail.strip() and "\n" not in detail and "Traceback" not in r.text
    return detail


async def test_an_administrator_reads_a_sealed_history_and_it_is_audited(door: FrontDoor) -> None:
    _, sealed = await sealed_case(door, "codec-read")
    start = sealed[0]  # the workflow's input: the intake, name and phone included
    async with app_with(door) as c:
        admin = await door.token("admin.ops")
        r = await c.post(
            DECODE,
            json=as_json(sealed),
            headers={"Authorization": f"Bearer {admin}", "X-Namespace": "default"},
        )
    assert r.status_code == 200, r.text
    plain = from_json(r.json())
    assert len(plain) == len(sealed)
    assert all(p.metadata["encoding"] != ENCODING for p in plain)
    intake = json.loads(plain[0].data)
    assert "13800138001" in json.dumps(intake, ensure_ascii=False)
    assert "王小明" in json.dumps(intake, ensure_ascii=False)
    [row] = audit(door)
    assert (row.staff_id, row.operation, row.namespace, row.payloads) == (
        "admin.ops",
        "decode",
        "default",
        len(sealed),
    )
    assert (row.key_ids, row.outcome, row.via, row.origin) == ("test-a", "ok", "bearer", None)
    # Who, when and how many; nothing of what was unsealed, nor the ciphertext.
    stored = json.dumps(row.model_dump(mode="json"), ensure_ascii=False)
    for secret in ("13800138001", "王小明", b64(start.data)[:40], "配送站"):
        assert secret not in stored


async def test_only_administrators_may_decode_or_encode(door: FrontDoor) -> None:
    _, sealed = await sealed_case(door, "codec-roles")
    body = as_json(sealed[:1])
    async with app_with(door) as c:
        for path in (DECODE, ENCODE):
            for staff_id in (
                "clerk.li",
                "hrss.tianhe.wang",
                "hrss.tianhe.li",
                "sup.zhang",
                "yangcheng_run.liaison.tang",
            ):
                token = await door.token(staff_id)
                r = await c.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 403, (path, staff_id, r.text)
                assert "may not codec." in one_line(r)
            r = await c.post(path, json=body)
            assert r.status_code == 401 and one_line(r)
            assert r.headers["WWW-Authenticate"] == "Bearer"
            r = await c.post(path, json=body, headers={"Authorization": "Bearer not-ours"})
            assert r.status_code == 401 and one_line(r)
    assert audit(door) == []  # refused at the door: nothing was decoded


async def test_the_ui_origin_alone_may_call_it_from_a_browser(door: FrontDoor) -> None:
    _, sealed = await sealed_case(door, "codec-cors")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with app_with(door) as c:
        r = await c.options(DECODE, headers={"Origin": UI, **preflight})
        assert r.status_code == 204
        assert r.headers["Access-Control-Allow-Origin"] == UI
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert r.headers["Access-Control-Allow-Methods"] == "POST"
        allowed = {h.strip() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"content-type", "x-namespace", "authorization"} <= allowed
        for origin in ("http://127.0.0.1:9999", "https://evil.example", "null"):
            r = await c.options(DECODE, headers={"Origin": origin, **preflight})
            assert r.status_code == 403 and one_line(r)
            assert "Access-Control-Allow-Origin" not in r.headers
        r = await c.options(
            DECODE, headers={"Origin": UI, **preflight, "Access-Control-Request-Method": "PUT"}
        )
        assert r.status_code == 403 and "Access-Control-Allow-Origin" not in r.headers
        # Only the codec answers cross-origin calls at all.
        r = await c.options("/api/v1/me", headers={"Origin": UI, **preflight})
        assert "Access-Control-Allow-Origin" not in r.headers

        # The web session's cookie (what "include cross-origin credentials" sends)
        # counts from the UI's origin, and only from there.
        admin = await door.token("admin.ops")
        c.cookies.set("appeals_session", admin)
        body = as_json(sealed[:1])
        r = await c.post(DECODE, json=body, headers={"Origin": UI, "X-Namespace": "default"})
        assert r.status_code == 200, r.text
        assert r.headers["Access-Control-Allow-Origin"] == UI
        assert r.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in r.headers["Vary"]
        for headers in ({"Origin": "https://evil.example"}, {}):
            r = await c.post(DECODE, json=body, headers=headers)
            assert r.status_code == 401 and "Temporal UI at " + UI in one_line(r)
            assert "Access-Control-Allow-Origin" not in r.headers
        # A refusal to the UI's page carries the headers too, so the UI can read it.
        c.cookies.set("appeals_session", await door.token("sup.zhang"))
        r = await c.post(DECODE, json=body, headers={"Origin": UI})
        assert r.status_code == 403 and r.headers["Access-Control-Allow-Origin"] == UI
    assert [(a.via, a.origin) for a in audit(door)] == [("cookie", UI)]


async def test_bad_input_is_one_line_and_never_a_500(door: FrontDoor) -> None:
    _, sealed = await sealed_case(door, "codec-bad")
    under_b = EncryptionCodec(Keyring.parse(KEY_B)).encode_one(Payload(data=b'"x"'))
    other_material = KEY_B.replace("test-b", "test-a")
    forged = EncryptionCodec(Keyring.parse(other_material)).encode_one(Payload(data=b'"x"'))
    short = Payload(metadata={"encoding": ENCODING, KEY_ID: b"test-a"}, data=b"abc")
    cases: list[tuple[Any, int, str]] = [
        ({"payloads": [{"data": "!!!not base64"}]}, 422, "not base64"),
        ({"payloads": [{"metadata": {"encoding": "a b"}, "data": ""}]}, 422, "not base64"),
        ({"payloads": [{"data": "QQ"}], "extra": 1}, 422, "extra"),
        ({"payloads": [{"data": "QQ==", "nonsense": 1}]}, 422, "nonsense"),
        ({"payloads": "all of them"}, 422, "payloads"),
        (as_json([under_b]), 400, "'test-b'"),
        (as_json([forged]), 400, "wrong key material"),
        (as_json([short]), 400, "'test-a'"),
    ]
    admin = await door.token("admin.ops")
    async with app_with(door) as c:
        c.headers["Authorization"] = f"Bearer {admin}"
        for body, status, words in cases:
            r = await c.post(DECODE, json=body)
            assert r.status_code == status, (body, r.text)
            assert words in one_line(r), r.text
        r = await c.post(DECODE, content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 422 and one_line(r)
        r = await c.post(DECODE, json=as_json(sealed), headers={"X-Namespace": "elsewhere"})
        assert r.status_code == 403 and "'default' only" in one_line(r)
        assert "elsewhere" not in r.text
    # Payloads the codec could not unseal are audited as refused, still without content.
    refused = [(a.payloads, a.key_ids, a.outcome) for a in audit(door)]
    assert refused == [(1, "test-b", "refused"), (1, "test-a", "refused"), (1, "test-a", "refused")]


async def test_payloads_under_an_old_key_decode_after_rotation(door: FrontDoor) -> None:
    _, sealed = await sealed_case(door, "codec-rotate")  # sealed under test-a
    admin = await door.token("admin.ops")
    async with app_with(door, codec_keys=SecretStr(f"{KEY_B},{KEY_A}")) as c:
        c.headers["Authorization"] = f"Bearer {admin}"
        r = await c.post(DECODE, json=as_json(sealed))
        assert r.status_code == 200, r.text
        assert "13800138001" in b"".join(p.data for p in from_json(r.json())).decode()
        # What the UI encodes (e.g. a signal's input) is sealed with the new key...
        typed = Payload(metadata={"encoding": b"json/plain"}, data=b'"13912345678"')
        r = await c.post(ENCODE, json=as_json([typed]))
        assert r.status_code == 200, r.text
        [encoded] = from_json(r.json())
        assert encoded.metadata[KEY_ID] == b"test-b" and b"13912345678" not in encoded.data
        # ...and decodes back to what was typed.
        r = await c.post(DECODE, json=as_json([encoded]))
        assert from_json(r.json()) == [typed]
    assert [(a.operation, a.key_ids) for a in audit(door)] == [
        ("decode", "test-a"),
        ("encode", "test-b"),
        ("decode", "test-b"),
    ]


async def test_the_temporal_cli_reads_a_history_through_it(door: FrontDoor) -> None:
    """The Go codec client of the real `temporal` CLI, against the served endpoint."""
    case_id, _ = await sealed_case(door, "codec-cli")
    admin = await door.token("admin.ops")
    live = door.ctx.settings.model_copy(update={"codec_ui_origin": UI})
    async with served(create_app(live, ctx=door.ctx)) as url:
        target = door.stack.client.service_client.config.target_host
        args = [
            "workflow",
            "show",
            "--address",
            target,
            "--workflow-id",
            case_id,
            "--output",
            "json",
            "--codec-endpoint",
            f"{url}/api/v1/codec",
            "--codec-auth",
            f"Bearer {admin}",
        ]
        out = await run_cli(args)
    assert "13800138001" in shown(out)  # the intake, decoded by our endpoint
    rows = audit(door)
    assert rows and all(r.staff_id == "admin.ops" and r.outcome == "ok" for r in rows)


def shown(output: str) -> str:
    """Every payload's data in the CLI's JSON output (it prints them base64-encoded)."""
    try:
        history = json.loads(output)
    except ValueError:
        return ""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("metadata"), dict) and isinstance(node.get("data"), str):
                found.append(base64.b64decode(node["data"]).decode(errors="replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(history)
    return "\n".join(found)


async def run_cli(args: list[str]) -> str:
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        str(BIN / "temporal"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return out.decode()


@pytest.mark.parametrize(
    ("value", "origin", "error"),
    [
        ("https://Temporal.HRSS.example/", "https://temporal.hrss.example", None),
        ("http://127.0.0.1:8233", "http://127.0.0.1:8233", None),
        ("temporal.hrss.example", None, "http(s)://host[:port]"),
        ("https://temporal.hrss.example/ui", None, "no path"),
    ],
)
def test_the_ui_origin_setting_is_an_origin(
    value: str, origin: str | None, error: str | None
) -> None:
    if error is None:
        assert Settings(codec_ui_origin=value).codec_origin == origin
    else:
        with pytest.raises(ValidationError, match=re.escape(error)):
            Settings(codec_ui_origin=value)
    assert Settings(temporal_address="temporal.prod:7233").codec_origin is None
