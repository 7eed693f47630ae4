from __future__ import annotations

import pytest

from documents.rendering import Renderer
from documents.schematron import SchematronValidator


@pytest.fixture(scope="session")
def schematron() -> SchematronValidator:
    """Both bundled schematrons (EN 16931 and French CTC), compiled once per test session."""
    return SchematronValidator()


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    return Renderer()
