"""INSERT … ON CONFLICT, written once for both databases.

SQLite (3.24 and later) and PostgreSQL share the syntax, and SQLAlchemy's PostgreSQL construct
compiles to it for either dialect; the tests run every repository on both.
"""

from sqlalchemy.dialects.postgresql import insert as insert_on_conflict

__all__ = ["insert_on_conflict"]
