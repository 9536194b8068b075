"""The full-text index of messages, posts' titles and public accounts' names on either database:
its tables, how a match is asked, and how rows are written (the searches themselves are their
repositories': messages.py, posts.py, public_accounts.py).

Each indexed row has one row in its index table, keyed by the indexed row's id (`rowid`), whose
`body` is the text as `domain.search.indexed_text` cuts it into tokens: on SQLite an FTS5 table
(tokenizer unicode61, which splits at the spaces between the tokens), on PostgreSQL a table of
`to_tsvector('simple', body)` under a GIN index. PostgreSQL's key column is named `rowid` too, so
the same statements serve both; only the match and the indexed value compile differently.

The application writes the index in the transaction that writes the row (migration 0021 indexed
the rows already there), and takes a row out when its text is gone (a removal). Who may see a
match is never the index's business: every search joins the real rows and asks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Dialect,
    Text,
    column,
    delete,
    insert,
    literal,
    table,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType, TypeDecorator

from townhall.domain.search import SearchTerms, indexed_text
from townhall.store.database import DbConnection
from townhall.store.schema import messages, posts, public_accounts


class _Indexed(FunctionElement[str]):
    """A text's tokens as its database indexes them."""

    name = "indexed"
    inherit_cache = True


@compiles(_Indexed)
def _indexed_as_is(element: _Indexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))  # FTS5 tokenizes what it is given


@compiles(_Indexed, "postgresql")
def _indexed_as_tsvector(element: _Indexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_tsvector('simple', {compiler.process(element.clauses, **kw)})"


class IndexedText(TypeDecorator[str]):
    """An index table's `body`: written as `indexed_text` gave it, indexed as its database
    does."""

    impl = Text
    cache_ok = True

    def bind_expression(self, bindvalue: Any) -> Any:
        return _Indexed(bindvalue)


class _Matches(FunctionElement[Any]):
    """`body` holds every phrase of the query (the second argument, a `SearchQuery`). Untyped:
    SQLite would compare a boolean with 1, and FTS5 takes MATCH only as it is."""

    name = "matches"
    type = NullType()
    inherit_cache = True


@compiles(_Matches)
def _fts5_match(element: _Matches, compiler: SQLCompiler, **kw: Any) -> str:
    body, query = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{body} MATCH {query}"


@compiles(_Matches, "postgresql")
def _tsquery_match(element: _Matches, compiler: SQLCompiler, **kw: Any) -> str:
    body, query = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{body} @@ to_tsquery('simple', {query})"


class SearchQuery(TypeDecorator[SearchTerms]):
    """Search terms as the database's query language spells them. The tokens hold letters and
    digits only (domain/search.py), and each is quoted all the same: nothing a user types can
    become an operator."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: SearchTerms | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            # to_tsquery: 'a' <-> 'b' is the phrase "a b"; & joins the phrases.
            return " & ".join(
                "(" + " <-> ".join(_quoted(token, "'") for token in phrase) + ")"
                for phrase in value.phrases
            )
        # FTS5: "a b" is the phrase; phrases side by side must all match.
        return " ".join(_quoted(" ".join(phrase), '"') for phrase in value.phrases)


def _quoted(text: str, quote: str) -> str:
    escaped = text.replace("\\", "\\\\") if quote == "'" else text
    return quote + escaped.replace(quote, quote * 2) + quote


def _index_table(name: str) -> Any:
    return table(name, column("rowid", BigInteger), column("body", IndexedText()))


message_search = _index_table("message_search")
post_search = _index_table("post_search")  # posts' titles
public_account_search = _index_table("public_account_search")  # public accounts' names
INDEX_TABLES = (message_search.name, post_search.name, public_account_search.name)
# The tables an FTS5 table keeps its index and content in, named after it.
FTS5_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")


def is_index_table(name: str) -> bool:
    """Whether a table of the database belongs to the search index: the schema (schema.py)
    leaves them out, and so do the comparison of schema and migrations and `migrate-data`."""
    return any(name == index or name in (index + s for s in FTS5_SHADOWS) for index in INDEX_TABLES)


def matches(index: Any, terms: SearchTerms) -> Any:
    """The condition that `index` holds every phrase of `terms`."""
    return _Matches(index.c.body, literal(terms, SearchQuery()))


# Writing the index --------------------------------------------------------------------------------


def index_rows(found: Iterable[tuple[int, str]]) -> list[dict[str, Any]]:
    """The index rows of (row id, text) pairs: none for a text without a token."""
    rows = []
    for row_id, text in found:
        body = indexed_text(text)
        if body:
            rows.append({"rowid": row_id, "body": body})
    return rows


async def index_messages(conn: DbConnection, found: Iterable[tuple[int, str]]) -> None:
    """Index (message id, text) pairs (the message writer indexes its batches itself)."""
    rows = index_rows(found)
    if rows:
        await conn.execute(insert(message_search), rows)


async def unindex_messages(conn: DbConnection, message_ids: Sequence[int]) -> None:
    """Their text is gone (removed by moderation): so is what the index held of it."""
    await conn.execute(delete(message_search).where(message_search.c.rowid.in_(message_ids)))


async def index_post(conn: DbConnection, post_id: int, title: str) -> None:
    await _index_one(conn, post_search, post_id, title)


async def index_public_account(conn: DbConnection, public_account_id: int, name: str) -> None:
    await _index_one(conn, public_account_search, public_account_id, name)


async def _index_one(conn: DbConnection, index: Any, row_id: int, text: str) -> None:
    body = indexed_text(text)
    if body:
        await conn.execute(insert(index).values(rowid=row_id, body=body))


# What each indexed table gives its index, by column.
INDEXED_COLUMNS = {
    messages.name: (message_search, "text"),
    posts.name: (post_search, "title"),
    public_accounts.name: (public_account_search, "name"),
}


async def index_copied(
    conn: DbConnection, table_name: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Index rows copied as they are into another database (`townhall migrate-data`)."""
    if table_name not in INDEXED_COLUMNS:
        return
    index, text_column = INDEXED_COLUMNS[table_name]
    found = index_rows((row["id"], row[text_column]) for row in rows)
    if found:
        await conn.execute(insert(index), found)
