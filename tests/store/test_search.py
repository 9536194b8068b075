"""The search index as the writers keep it: messages indexed in their batch's transaction (also
with rows written with them), taken out when removal blanks them and back when an appeal restores
them, and the rows stored before migration 0021 indexed by it."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import text

from townhall.domain.search import search_terms
from townhall.store import messages as message_store
from townhall.store import search
from townhall.store.database import Database, Transaction
from townhall.store.message_log import MessageLog, StoredMessage
from townhall.store.migrate import alembic_config, upgrade_to_head

from .conftest import add_account, add_conversation

HELD = "held"


async def page(
    database: Database, query: str, searcher: int, *, before: int | None = None, **sizes: int
) -> message_store.Found:
    async with database.reading() as conn:
        return await message_store.find(
            conn,
            search_terms(query),
            searcher_id=searcher,
            held=HELD,
            before=before,
            limit=sizes.get("limit", 50),
            scanned_max=sizes.get("scanned_max", 5_000),
        )


async def found(database: Database, query: str, searcher: int, **page_at: int) -> list[str]:
    return [hit.text for hit in (await page(database, query, searcher, **page_at)).messages]


async def test_a_batch_of_messages_is_found_as_soon_as_it_is_written(
    database: Database, message_log: MessageLog
) -> None:
    alice = await add_account(database, "alice")
    chat = await add_conversation(database, [alice])
    texts = ["我爱Python编程", "今天天气很好", "Python is fun", "编程使我快乐"]
    written = await asyncio.gather(
        *(
            message_log.append(
                conversation_id=chat,
                sender_id=alice,
                client_id=f"c{n}",
                text=body,
                recipients=(alice,),
            )
            for n, body in enumerate(texts)
        )
    )

    assert await found(database, "编程", alice) == ["编程使我快乐", "我爱Python编程"]
    assert await found(database, "python", alice) == ["Python is fun", "我爱Python编程"]
    assert await found(database, "天", alice) == ["今天天气很好"]
    assert await found(database, "爱Python编", alice) == ["我爱Python编程"]
    assert await found(database, "编 快乐", alice) == ["编程使我快乐"]
    assert await found(database, "程编", alice) == []
    newest = max(appended.message.id for appended in written)
    assert await found(database, "编程", alice, before=newest) == ["我爱Python编程"]


async def test_a_page_looks_through_so_many_matches_and_the_next_goes_on_from_there(
    database: Database, message_log: MessageLog
) -> None:
    alice, bob = await add_account(database, "alice"), await add_account(database, "bob")
    theirs, others = (
        await add_conversation(database, [alice, bob]),
        await add_conversation(database, [bob]),
    )

    async def say(conversation_id: int, n: int, text: str) -> int:
        appended = await message_log.append(
            conversation_id=conversation_id,
            sender_id=bob,
            client_id=f"c{n}",
            text=text,
            recipients=(bob,),
        )
        return appended.message.id

    mine = await say(theirs, 0, "目标 in alice's chat")
    elsewhere = [await say(others, n, "目标 elsewhere") for n in range(1, 31)]

    pages = []
    before = None
    while True:
        found = await page(database, "目标", alice, before=before, limit=5, scanned_max=10)
        pages.append([hit.id for hit in found.messages])
        if found.next_before is None:
            break
        before = found.next_before
    assert pages == [[], [], [], [mine]]
    assert (await page(database, "目标", alice, limit=5, scanned_max=10)).next_before == (
        elsewhere[-10]
    )
    assert (await page(database, "目标", alice, limit=5, scanned_max=100)).messages[0].id == mine


async def test_a_message_written_with_rows_of_its_own_is_indexed_with_them(
    database: Database, message_log: MessageLog
) -> None:
    alice = await add_account(database, "alice")
    chat = await add_conversation(database, [alice])
    seen: list[int] = []

    async def written_with(conn: Transaction, message: StoredMessage) -> None:
        seen.append(message.id)

    appended = await message_log.append(
        conversation_id=chat,
        sender_id=alice,
        client_id="with-rows",
        text="转发一篇好文章",
        recipients=(alice,),
        written_with=written_with,
    )
    assert seen == [appended.message.id]
    assert await found(database, "文章", alice) == ["转发一篇好文章"]


async def test_a_removed_message_leaves_the_index_and_a_restored_one_comes_back(
    database: Database, message_log: MessageLog
) -> None:
    alice = await add_account(database, "alice")
    chat = await add_conversation(database, [alice])
    appended = await message_log.append(
        conversation_id=chat,
        sender_id=alice,
        client_id="gone",
        text="内部资料 secret",
        recipients=(alice,),
    )
    message_id = appended.message.id
    async with database.writing() as conn:
        await message_store.blank(conn, [message_id], "removed")
    async with database.reading() as conn:
        rows = await conn.execute(
            search.message_search.select().where(search.message_search.c.rowid == message_id)
        )
        assert rows.all() == []
    assert await found(database, "secret", alice) == []

    async with database.writing() as conn:
        await message_store.restore(
            conn, message_id, text="内部资料 secret", attachment=None, media=None
        )
    assert await found(database, "资料", alice) == ["内部资料 secret"]


async def test_the_migration_indexes_what_was_stored_before_it(database: Database) -> None:
    async with database.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0020"))
    alice = await add_account(database, "alice")
    chat = await add_conversation(database, [alice])
    async with database.writing() as conn:
        for n, body in enumerate(["旧消息一条", "an OLD message", "!!!"], start=1):
            await conn.execute(
                text(
                    "INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, text,"
                    " created_at, position) VALUES (:n, :chat, :n, :alice, :client, :body, 0, :n)"
                ),
                {"n": n, "chat": chat, "alice": alice, "client": f"c{n}", "body": body},
            )
        await conn.execute(
            text(
                "INSERT INTO public_accounts (id, name, name_key, category, account_type,"
                " description, operator_id, entity_kind, status, news_entitlement, created_at)"
                " VALUES (1, '老书店', '老书店', 'culture', 'subscription', '', :alice,"
                " 'individual', 'approved', 'none', 0)"
            ),
            {"alice": alice},
        )
        await conn.execute(
            text(
                "INSERT INTO posts (id, public_account_id, title, body, content_class, status,"
                " created_at) VALUES (1, 1, '旧书推荐', '正文', 'culture', 'published', 0)"
            )
        )
    await upgrade_to_head(database)

    assert await found(database, "消息", alice) == ["旧消息一条"]
    assert await found(database, "old", alice) == ["an OLD message"]
    async with database.reading() as conn:
        indexed = {
            index.name: (await conn.execute(select_rowids(index))).scalars().all()
            for index in (search.message_search, search.post_search, search.public_account_search)
        }
    assert indexed == {"message_search": [1, 2], "post_search": [1], "public_account_search": [1]}


def select_rowids(index: object) -> object:
    return index.select().with_only_columns(index.c.rowid).order_by(index.c.rowid)  # type: ignore[attr-defined]
