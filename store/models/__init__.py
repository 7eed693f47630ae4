"""Import every model module so that Base.metadata knows all tables (alembic and tests rely on it)."""

from store.models import community, legal, matching, messaging, notices, onboarding, readmodel, security

__all__ = ["community", "legal", "matching", "messaging", "notices", "onboarding", "readmodel", "security"]
