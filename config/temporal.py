"""The one Temporal client factory: pydantic data converter, optional TLS / mTLS."""

from __future__ import annotations

import dataclasses
import py_compile
import sys
from pathlib import Path

from temporalio.client import Client, Interceptor, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import Runtime
from temporalio.worker import UnsandboxedWorkflowRunner, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from config.codec import EncryptionCodec
from config.crypto import DataCipher
from config.settings import VAR, Settings


def data_converter(settings: Settings) -> DataConverter:
    """Pydantic payloads, encrypted by the codec: the Temporal history holds no personal data in clear. Failures
    too: their message and stack trace travel as an encoded payload (a failed step's reason may quote a party's
    data), which the SDK decodes for the workflow and `api.gateway` for the ops' history view."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(DataCipher.from_settings(settings)),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def apply_retention(client: Client, settings: Settings) -> None:
    """Keep a closed workflow's history `temporal_retention_days`, then let the server delete it (namespace
    retention). For the embedded dev server; a cluster's namespace is set by its operator (deploy/compose.yaml)."""
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.namespace.v1 import NamespaceConfig
    from temporalio.api.workflowservice.v1 import UpdateNamespaceRequest

    ttl = Duration(seconds=settings.temporal_retention_days * 86_400)
    await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=settings.temporal_namespace,
            config=NamespaceConfig(workflow_execution_retention_ttl=ttl),
        )
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


# Modules the workflows import that hold no workflow state and call no restricted function in workflow code (pure
# data models, decision rules, and the activities they call by reference): the sandbox hands every workflow run
# the already-imported module instead of importing it again. The workflow modules themselves stay sandboxed: their
# clock, randomness and I/O stay checked.
PASSTHROUGH_MODULES = ("domain", "activities", "workflows.mission_rules", "workflows.mission_steps")


def workflow_runner(*, sandboxed: bool = True) -> WorkflowRunner:
    """How a worker runs the workflows: in the sandbox, which refuses a non-deterministic call (clock, randomness,
    I/O) at once, unless `Settings.workflow_sandbox` is off."""
    if not sandboxed:
        return UnsandboxedWorkflowRunner()
    compile_workflows()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def compile_workflows() -> None:
    """Bytecode for the workflow modules: the sandbox executes them again for each workflow run (each mission and
    milestone, each replay after an eviction), which compiles their source every time when no bytecode is cached
    (PYTHONDONTWRITEBYTECODE, a read-only install). Written where Python looks for it; under var/pycache when
    the source folder is read-only."""
    import workflows

    package = Path(workflows.__file__).parent
    for source in sorted(package.glob("*.py")):
        try:
            py_compile.compile(str(source), doraise=True)
        except OSError:
            if sys.pycache_prefix is not None:
                return
            sys.pycache_prefix = str(VAR / "pycache")  # read-only source folder: a writable cache for every module
            compile_workflows()
            return
