"""The one Temporal client factory: pydantic data converter, optional TLS / mTLS."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client, Interceptor, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from config.codec import EncryptionCodec
from config.crypto import DataCipher
from config.settings import Settings


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, encrypted by the codec: the Temporal history holds no personal data in clear."""
    return dataclasses.replace(
        pydantic_data_converter, payload_codec=EncryptionCodec(DataCipher.from_settings(settings))
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    if not (settings.temporal_tls_cert or settings.temporal_tls_ca):
        return False
    return TLSConfig(
        server_root_ca_cert=settings.temporal_tls_ca.read_bytes() if settings.temporal_tls_ca else None,
        client_cert=settings.temporal_tls_cert.read_bytes() if settings.temporal_tls_cert else None,
        client_private_key=settings.temporal_tls_key.read_bytes() if settings.temporal_tls_key else None,
    )


def interceptors(settings: Settings) -> list[Interceptor]:
    """OpenTelemetry tracing of workflows and activities, off unless INNOT_TRACING is set (the exporter is the
    deployment's choice: configure the OpenTelemetry SDK with OTEL_* variables)."""
    if not settings.tracing:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor()]


async def connect(settings: Settings, address: str | None = None, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        address or settings.temporal_address or "127.0.0.1:7233",
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        tls=tls_config(settings),
        interceptors=interceptors(settings),
        runtime=runtime,
    )
