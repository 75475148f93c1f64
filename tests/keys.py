"""Fixed TEST keys for the payload codec (codec.py): every test environment, the saved
v5-seal history and the rotation tests use them. Never use them anywhere real."""

from __future__ import annotations

from temporalio.converter import DataConverter

from codec import Keyring, converter

KEY_A = "test-a:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
KEY_B = "test-b:ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM="
TEST_KEYS = KEY_A


def sealed_converter(keys: str = TEST_KEYS) -> DataConverter:
    return converter(Keyring.parse(keys))
