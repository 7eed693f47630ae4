"""Import every model module so that Base.metadata knows all tables (alembic and tests rely on it)."""

from store.models import community
from store.models import legal
from store.models import readmodel

__all__ = ["community", "legal", "readmodel"]
