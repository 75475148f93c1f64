"""Connecting to Temporal the same way everywhere (CLI, worker, demo, tests)."""

from __future__ import annotations

from temporalio.client import Client, TLSConfig

from codec import settings_converter
from settings import Settings


async def connect(settings: Settings) -> Client:
    """A client whose payloads are sealed with the configured keys (see codec.py); the
    worker built on it encrypts and decrypts with the same converter."""
    data_converter = settings_converter(settings)  # a key problem fails before the network
    tls: TLSConfig | bool = settings.temporal_tls
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.address,
        namespace=settings.temporal_namespace,
        tls=tls,
        api_key=api_key,
        data_converter=data_converter,
    )
