"""Import every model module so that Base.metadata knows all tables (alembic and tests rely on it)."""

from store.models import (
    community,
    directory,
    legal,
    matching,
    messaging,
    notices,
    onboarding,
    readmodel,
    security,
)

__all__ = [
    "community",
    "directory",
    "legal",
    "matching",
    "messaging",
    "notices",
    "onboarding",
    "readmodel",
    "security",
]
