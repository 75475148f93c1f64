"""Sealing what Temporal stores: an AES-GCM payload codec on every client and worker.

Every payload a workflow or activity carries (the worker's name, phone and ID number
among them) is encrypted before it leaves the process, so Temporal's history and Web
UI hold ciphertext only. The key id travels in the payload's metadata, so keys can
rotate: the first key of ``APPEALS_CODEC_KEYS`` encrypts, every listed key decrypts.
Payloads written before the codec (plain ``json/plain``) still decode, so cases started
earlier keep running and the saved replay histories still replay.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16  # GCM appends its 128-bit tag to the ciphertext
KEY_FILE = "codec.key"  # the embedded stack's own key, under the data directory
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class CodecKeyError(ValueError):
    """A key is missing, malformed or wrong; the message is one line naming the key id."""


def new_key() -> str:
    """A fresh 256-bit key, base64 as ``APPEALS_CODEC_KEYS`` expects it."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


@dataclass(frozen=True)
class Keyring:
    """Key id -> key, in order: the first encrypts, all of them decrypt."""

    keys: tuple[tuple[str, bytes], ...]

    @property
    def primary(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> list[str]:
        return [kid for kid, _ in self.keys]

    def key(self, kid: str) -> bytes | None:
        return next((k for i, k in self.keys if i == kid), None)

    @classmethod
    def parse(cls, text: str, *, source: str = "APPEALS_CODEC_KEYS") -> Keyring:
        """``id:base64key,id2:base64key`` (commas or whitespace between entries)."""
        keys: list[tuple[str, bytes]] = []
        for entry in text.replace(",", " ").split():
            kid, sep, b64 = entry.partition(":")
            if not sep or not _ID.match(kid):
                raise CodecKeyError(
                    f"{source}: each key is id:base64key (id of letters, digits, . _ -); "
                    f"got {kid[:20]!r}"
                )
            try:
                key = base64.b64decode(b64, validate=True)
            except binascii.Error:
                raise CodecKeyError(f"{source}: key {kid!r} is not valid base64") from None
            if len(key) != 32:
                raise CodecKeyError(
                    f"{source}: key {kid!r} is {len(key)} bytes; AES-256 needs 32 "
                    "(make one with `appeals codec-key`)"
                )
            if any(kid == i for i, _ in keys):
                raise CodecKeyError(f"{source}: key id {kid!r} is listed twice")
            keys.append((kid, key))
        if not keys:
            raise CodecKeyError(f"{source} holds no key")
        return cls(tuple(keys))


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each serialized payload; the key id is bound as associated data,
    so a payload cannot be passed off as encrypted under another id."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self._primary = AESGCM(keyring.keys[0][1])

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_one(p) for p in payloads]

    def encode_one(self, p: Payload) -> Payload:
        kid = self.keyring.primary
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._primary.encrypt(nonce, p.SerializeToString(), kid.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=nonce + sealed)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]

    def decode_one(self, p: Payload) -> Payload:
        if p.metadata.get("encoding") != ENCODING:
            return p  # written before the codec: plain, as it always was
        kid = p.metadata.get(KEY_ID, b"").decode(errors="replace")
        key = self.keyring.key(kid)
        if key is None:
            raise CodecKeyError(
                f"payload encrypted with key {kid!r}, which APPEALS_CODEC_KEYS does not hold "
                f"(it holds {', '.join(self.keyring.ids)}); add the old key after the new one"
            )
        if len(p.data) < NONCE_BYTES + TAG_BYTES:
            # AESGCM would refuse the short nonce with a bare ValueError.
            raise CodecKeyError(
                f"payload under key {kid!r} is {len(p.data)} bytes, too short to be sealed: "
                "it is corrupt"
            )
        try:
            plain = AESGCM(key).decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], kid.encode())
        except InvalidTag:
            raise CodecKeyError(
                f"payload encrypted with key {kid!r} does not decrypt with the configured key "
                f"{kid!r}: wrong key material for that id"
            ) from None
        return Payload.FromString(plain)


def converter(keyring: Keyring) -> DataConverter:
    """The project's data converter (pydantic models) with the encrypting codec."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(keyring))


def keyring_for(settings: Settings) -> Keyring:
    """The configured keys; the embedded stack makes and keeps its own key under the
    data directory when none is configured; any other Temporal needs one configured."""
    if settings.codec_keys is not None:
        return Keyring.parse(settings.codec_keys.get_secret_value())
    if not settings.embedded:
        raise CodecKeyError(
            "APPEALS_CODEC_KEYS is not set: a Temporal server other than the embedded one "
            "needs an encryption key (make one with `appeals codec-key`)"
        )
    return Keyring.parse(_embedded_key(settings.data_dir), source=str(settings.data_dir / KEY_FILE))


def _embedded_key(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".{KEY_FILE}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"dev1:{new_key()}\n")
        try:
            # A hard link appears whole or not at all: of two processes starting at
            # once, one key wins and both read it.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text()


def settings_converter(settings: Settings) -> DataConverter:
    return converter(keyring_for(settings))
