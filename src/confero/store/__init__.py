"""Storage adapter: SQLAlchemy 2 async over SQLite or PostgreSQL, Alembic migrations."""
