"""The production example and the production settings, checked without Docker: the compose file runs commands
that exist, sets only settings that exist, mounts volumes the image's user can write; production refuses every
development default (all listed at once) and starts with real settings."""

from __future__ import annotations

import datetime as dt
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from typer.testing import CliRunner

from cli.main import app as cli_app
from config.doctor import CA_CERT_FILE
from config.settings import Settings, get_settings
from documents.signing import DevPki

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
DOCKERFILE = (DEPLOY / "Dockerfile").read_text()


def _innot_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in COMPOSE["services"].items() if s.get("image") == "innot:latest"}


def _known_variables() -> set[str]:
    """Every INNOT_ variable the settings read: top-level fields, and nested ones as INNOT_<FIELD>__<SUB>."""
    known = {"INNOT_SECRETS_DIR"}
    for name, field in Settings.model_fields.items():
        known.add(f"INNOT_{name.upper()}")
        annotation = field.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            known |= {f"INNOT_{name.upper()}__{sub.upper()}" for sub in annotation.model_fields}
    return known


def _command_exists(argv: list[str]) -> None:
    """Resolve `innot <group> <command> --options` against the CLI itself, as the container would run it."""
    assert argv[0] == "innot", argv
    command: Any = typer.main.get_command(cli_app)
    words = argv[1:]
    while hasattr(command, "list_commands") and words and not words[0].startswith("-"):
        found = command.get_command(command.make_context("innot", [], resilient_parsing=True), words[0])
        assert found is not None, f"`innot {' '.join(argv[1:])}`: no command {words[0]!r}"
        command, words = found, words[1:]
    assert not hasattr(command, "list_commands"), f"`{' '.join(argv)}` names a group, not a command"
    command.make_context("innot", list(words))  # raises on an unknown option or a value out of its choices


def test_every_service_runs_an_existing_innot_command() -> None:
    services = _innot_services()
    assert {"migrate", "worker", "documents-worker", "api"} <= set(services)
    for name, service in services.items():
        command = service.get("command")
        assert command, f"{name}: no command"
        _command_exists(command if isinstance(command, list) else shlex.split(command))
    cmd = re.search(r"^CMD \[(.*)\]$", DOCKERFILE, re.M)
    assert cmd is not None
    _command_exists([w.strip().strip('"') for w in cmd.group(1).split(",")])


def test_every_variable_is_a_known_setting() -> None:
    known = _known_variables()
    variables: set[str] = set()
    for service in COMPOSE["services"].values():
        variables |= {k for k in service.get("environment", {}) if k.startswith("INNOT_")}
    example = (DEPLOY / "env.example").read_text().splitlines()
    variables |= {line.split("=")[0] for line in example if line.startswith("INNOT_")}
    secrets = {name.upper() for name in COMPOSE["secrets"] if name.startswith("innot_")}
    assert not (variables | secrets) - known, f"not settings: {sorted((variables | secrets) - known)}"
    assert "INNOT_SECRET_KEY" in secrets and "INNOT_DATABASE_URL" in secrets, "secrets come from files"


def test_volumes_are_writable_by_the_images_user() -> None:
    user = re.search(r"^USER (\S+)$", DOCKERFILE, re.M)
    assert user is not None and user.group(1) not in ("root", "0"), "the image runs as an unprivileged user"
    owned = [
        Path(p)
        for line in re.findall(r"chown -R \S+ (.+)", DOCKERFILE)
        for p in line.replace("\\", " ").split()
        if p.startswith("/")
    ]
    assert owned
    for name, service in _innot_services().items():
        for volume in service.get("volumes", []):
            target = Path(volume.split(":")[1])
            assert any(target == o or o in target.parents for o in owned), f"{name}: {target} not owned by the user"


def test_the_image_leaves_out_history_environment_and_development_files() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", ".env"} <= ignored
    assert "HEALTHCHECK" in DOCKERFILE
    assert DOCKERFILE.count("FROM ") >= 2, "a build stage, and a small final stage"


def test_production_refuses_every_development_default_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", _env_file=None)
    message = str(refused.value)
    for problem in (
        "INNOT_SECRET_KEY",
        "INNOT_DATA_KEYS",
        "must point at PostgreSQL",
        "INNOT_TEMPORAL_ADDRESS",
        "INNOT_DOCUMENT_STORE",
        "placeholder identity",
        "development keys",
        "INNOT_TSA_URL",
    ):
        assert problem in message


def _real_ca(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Example Trust Services Issuing CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    (directory / CA_CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _production(keys: Path, **overrides: Any) -> dict[str, Any]:
    return {
        "environment": "production",
        "secret_key": "k" * 48,
        "data_keys": {"2026a": "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0NTY="},
        "active_data_key": "2026a",
        "database_url": "postgresql://innot:s3cret@db:5432/innot",
        "temporal_address": "temporal:7233",
        "document_store": "s3://innot-documents/prod?endpoint=http://s3:9000",
        "keys_dir": keys,
        "tsa_url": "https://tsa.example.com/tsr",
        "smtp_url": "smtps://innot:secret@smtp.example.com:465",
        "platform": {
            "legal_name": "Conseil Ouvert SAS",
            "siren": "552100554",
            "vat_number": "FR96552100554",
            "address_line": "1 place de la Bourse",
            "postcode": "69002",
            "city": "Lyon",
        },
        "_env_file": None,
    } | overrides


def test_production_starts_with_real_settings(tmp_path: Path) -> None:
    from api.app import create_app

    _real_ca(tmp_path)
    settings = Settings(**_production(tmp_path))
    assert create_app(settings).title == "innot"


def test_production_refuses_the_development_keys_and_a_passwordless_database(tmp_path: Path) -> None:
    DevPki(tmp_path).ensure("platform-seal", "innot platform seal")  # what `make run` generates
    with pytest.raises(ValidationError) as refused:
        Settings(**_production(tmp_path, database_url="postgresql://innot@db:5432/innot"))
    message = str(refused.value)
    assert "is the development CA" in message
    assert "trust connections" in message
    assert "INNOT_SECRET_KEY" not in message, "only what is wrong is listed"


def test_doctor_prints_every_check_and_commands_refuse_to_start() -> None:
    get_settings.cache_clear()  # the commands read the environment below, not a cached development one
    result = CliRunner().invoke(cli_app, ["doctor"], env={"INNOT_ENVIRONMENT": "production"})
    assert result.exit_code == 1
    assert "FAIL" in result.output and "to fix before production" in result.output
    refused = CliRunner().invoke(cli_app, ["worker"], env={"INNOT_ENVIRONMENT": "production"})
    assert refused.exit_code == 2 and "refusing to start in production" in refused.output
    get_settings.cache_clear()


def test_every_data_file_of_the_packages_is_packaged() -> None:
    """The image installs the wheel, not the checkout: a template or catalogue its package data leaves out would be
    missing in production only."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["*"]
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    missing = sorted(
        str(path.relative_to(ROOT))
        for package in packages
        for path in (ROOT / package).rglob("*")
        if path.is_file()
        and path.suffix not in (".py", ".pyc")
        and not path.name.startswith("README")
        and path.suffix != ".pot"  # the catalogues' template: the .po files are what runs
        and "__pycache__" not in path.parts
        and not any(path.match(p) for p in patterns)
    )
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
