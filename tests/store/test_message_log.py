"""The message log on a real SQLite file: group commit, per-conversation seq, idempotent resends,
and the rows a send writes in its message's own transaction."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence

import pytest
from sqlalchemy import func, select

from townhall.domain.errors import Conflict, ErrorCode
from townhall.store import moderation as moderation_store
from townhall.store import stream as stream_store
from townhall.store.database import Database, Transaction
from townhall.store.message_log import Appended, MessageLog, StoredMessage, WrittenWith
from townhall.store.schema import inbox, messages, moderation_statements

from .conftest import add_account, add_conversation


@pytest.fixture
async def people(database: Database) -> tuple[int, int, int]:
    return (
        await add_account(database, "alice"),
        await add_account(database, "bob"),
        await add_account(database, "carol"),
    )


async def stored_rows(database: Database) -> list:
    async with database.reading() as conn:
        return list(await conn.execute(select(messages).order_by(messages.c.position)))


async def send(
    log: MessageLog,
    conversation_id: int,
    sender_id: int,
    client_id: str,
    text: str = "hello",
    recipients: tuple[int, ...] = (),
) -> Appended:
    return await log.append(
        conversation_id=conversation_id,
        sender_id=sender_id,
        client_id=client_id,
        text=text,
        recipients=recipients or (sender_id,),
    )


async def test_concurrent_sends_get_contiguous_seq_in_each_conversation(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, carol = people
    ab = await add_conversation(database, [alice, bob])
    abc = await add_conversation(database, [alice, bob, carol])

    results = await asyncio.gather(
        *(
            send(message_log, ab if i % 3 else abc, alice if i % 2 else bob, f"c{i}")
            for i in range(300)
        )
    )

    for conversation_id in (ab, abc):
        seqs = sorted(
            r.message.seq for r in results if r.message.conversation_id == conversation_id
        )
        assert seqs == list(range(1, len(seqs) + 1))
    assert len({r.message.id for r in results}) == 300
    assert len({r.message.position for r in results}) == 300
    assert not any(r.duplicate for r in results)
    assert len(await stored_rows(database)) == 300


async def test_positions_increase_in_commit_order_and_callbacks_see_batches_in_order(
    database: Database, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])
    log = MessageLog(database, batch_max=16, clock=time.time)
    batches: list[list[int]] = []

    def on_commit(batch: Sequence[Appended]) -> None:
        # Committed by now: a reader at the committed position sees the whole batch.
        assert database.positions.persisted_upto() >= batch[-1].message.position
        batches.append([appended.message.position for appended in batch])

    log.on_commit(on_commit)
    log.start()
    try:
        results = await asyncio.gather(
            *(send(log, conversation_id, alice, f"c{i}") for i in range(100))
        )
    finally:
        await log.stop()

    in_commit_order = [position for batch in batches for position in batch]
    assert in_commit_order == sorted(in_commit_order)
    assert len(set(in_commit_order)) == 100
    assert sorted(in_commit_order) == sorted(r.message.position for r in results)
    assert 1 < len(batches) < 100  # sends that wait together are committed together
    assert all(len(batch) <= 16 for batch in batches)
    # Within the conversation, seq follows position: history order is commit order.
    rows = await stored_rows(database)
    assert [row.seq for row in rows] == list(range(1, 101))


async def test_every_recipient_gets_an_inbox_entry(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, carol = people
    group = await add_conversation(database, [alice, bob, carol])
    sent = await send(message_log, group, alice, "c1", "hi all", (alice, bob, carol))

    async with database.reading() as conn:
        for account_id in (alice, bob, carol):
            entries = await stream_store.entries_since(
                conn, account_id, since=0, upto=database.positions.persisted_upto(), limit=10
            )
            assert [(e.position, e.item) for e in entries] == [
                (sent.message.position, sent.message)
            ]


async def test_a_resend_returns_the_stored_message_and_writes_nothing(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])
    committed: list[Appended] = []
    message_log.on_commit(committed.extend)

    first = await send(message_log, conversation_id, alice, "same-id", "hi bob")
    again = await send(message_log, conversation_id, alice, "same-id", "hi bob")

    assert first.duplicate is False
    assert again.duplicate is True
    assert again.message == first.message
    assert len(await stored_rows(database)) == 1
    assert [a.message.id for a in committed] == [first.message.id]  # no second delivery
    async with database.reading() as conn:
        assert await conn.scalar(select(func.count()).select_from(inbox)) == 1


async def test_a_resend_in_the_same_batch_is_stored_once(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])

    results = await asyncio.gather(
        *(send(message_log, conversation_id, alice, "retry-me", "hi") for _ in range(5))
    )

    assert len({r.message.id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False, True, True, True, True]
    assert len(await stored_rows(database)) == 1


async def test_the_same_client_id_from_another_sender_is_another_message(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])

    from_alice = await send(message_log, conversation_id, alice, "c1", "hi")
    from_bob = await send(message_log, conversation_id, bob, "c1", "hi")

    assert from_bob.duplicate is False
    assert from_bob.message.id != from_alice.message.id
    assert [from_alice.message.seq, from_bob.message.seq] == [1, 2]


async def test_a_reused_client_id_with_other_text_is_refused(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])
    other_conversation = await add_conversation(database, [alice, bob])
    await send(message_log, conversation_id, alice, "c1", "hi")

    for conversation, text in [(conversation_id, "something else"), (other_conversation, "hi")]:
        with pytest.raises(Conflict) as refused:
            await send(message_log, conversation, alice, "c1", text)
        assert refused.value.code == "client_id_reused"

    rows = await stored_rows(database)
    assert [(row.conversation_id, row.client_id, row.text) for row in rows] == [
        (conversation_id, "c1", "hi")
    ]


async def test_a_reused_client_id_in_the_same_batch_is_refused(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])

    first, second = await asyncio.gather(
        send(message_log, conversation_id, alice, "c1", "hi"),
        send(message_log, conversation_id, alice, "c1", "something else"),
        return_exceptions=True,
    )

    assert isinstance(first, Appended)
    assert isinstance(second, Conflict)
    assert second.code == "client_id_reused"
    assert [row.text for row in await stored_rows(database)] == ["hi"]


async def test_a_send_that_cannot_be_stored_fails_alone(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])
    no_such_account = 999_999

    results = await asyncio.gather(
        send(message_log, conversation_id, alice, "c1", "one"),
        send(message_log, conversation_id, no_such_account, "c2", "breaks the batch"),
        send(message_log, conversation_id, bob, "c3", "two"),
        return_exceptions=True,
    )

    ok_one, failed, ok_two = results
    assert isinstance(failed, Conflict)
    assert failed.code == "message_not_stored"
    assert isinstance(ok_one, Appended)
    assert isinstance(ok_two, Appended)
    rows = await stored_rows(database)
    assert [(row.text, row.seq) for row in rows] == [("one", 1), ("two", 2)]
    after = await send(message_log, conversation_id, alice, "c4", "three")
    assert after.message.seq == 3
    assert database.positions.persisted_upto() >= after.message.position


async def test_stop_answers_every_sender_it_accepted(
    database: Database, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])
    log = MessageLog(database, batch_max=1024, clock=time.time)
    log.start()

    async with database.writing():  # another write is in progress when shutdown begins
        sends = [asyncio.create_task(send(log, conversation_id, alice, f"c{i}")) for i in range(20)]
        await asyncio.sleep(0.05)  # the writer has taken the batch and waits its turn
        stopping = asyncio.create_task(log.stop())
        await asyncio.sleep(0.05)
    await asyncio.wait_for(stopping, 5)

    _, pending = await asyncio.wait(sends, timeout=2)
    for task in pending:
        task.cancel()
    assert not pending, f"{len(pending)} of 20 senders are still waiting after stop()"
    assert len(await stored_rows(database)) == 20


# Rows written with a message, in its own transaction -------------------------------------------


def statement_of_reasons(
    ran: list[int] | None = None, *, then: Exception | None = None
) -> WrittenWith:
    """Writes a statement of reasons about the message (and then fails, given `then`)."""

    async def write(conn: Transaction, message: StoredMessage) -> None:
        await moderation_store.insert_statement(
            conn,
            surface="direct",
            decision="flag",
            author_id=message.sender_id,
            subject_type="message",
            subject_id=message.id,
            reasons="[]",
            automated=1,
            created_at=0,
        )
        if ran is not None:
            conn.after_commit(lambda: ran.append(message.id))
        if then is not None:
            raise then

    return write


async def statement_subjects(database: Database) -> list[int]:
    async with database.reading() as conn:
        result = await conn.execute(select(moderation_statements.c.subject_id))
        return sorted(result.scalars())


async def test_rows_written_with_a_message_commit_with_it_in_its_batch(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])
    ran: list[int] = []

    sent = await asyncio.gather(
        *(
            message_log.append(
                conversation_id=conversation_id,
                sender_id=alice,
                client_id=f"c{i}",
                text="hello",
                recipients=(alice, bob),
                written_with=statement_of_reasons(ran) if i % 2 else None,
            )
            for i in range(20)
        )
    )

    flagged = sorted(appended.message.id for appended in sent[1::2])
    assert await statement_subjects(database) == flagged
    assert sorted(ran) == flagged  # their effects ran once they committed
    assert [row.seq for row in await stored_rows(database)] == list(range(1, 21))


async def test_a_send_whose_rows_fail_is_not_stored_and_fails_alone(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])
    ran: list[int] = []

    def sent(client_id: str, written_with: WrittenWith | None) -> Awaitable[Appended]:
        return message_log.append(
            conversation_id=conversation_id,
            sender_id=alice,
            client_id=client_id,
            text=client_id,
            recipients=(alice, bob),
            written_with=written_with,
        )

    first, broken, refused, last = await asyncio.gather(
        sent("first", statement_of_reasons(ran)),
        sent("broken", statement_of_reasons(ran, then=RuntimeError("disk full"))),
        sent("refused", statement_of_reasons(ran, then=Conflict("no", code=ErrorCode.NAME_TAKEN))),
        sent("last", None),
        return_exceptions=True,
    )

    assert isinstance(broken, Conflict) and broken.code == "message_not_stored"
    assert isinstance(refused, Conflict) and refused.code == "name_taken"
    assert isinstance(first, Appended) and isinstance(last, Appended)
    assert [(row.text, row.seq) for row in await stored_rows(database)] == [
        ("first", 1),
        ("last", 2),
    ]
    assert await statement_subjects(database) == [first.message.id]
    assert ran == [first.message.id]  # a rolled-back send's effects are dropped


async def test_a_resend_writes_its_rows_only_once(
    database: Database, message_log: MessageLog, people: tuple[int, int, int]
) -> None:
    alice, bob, _ = people
    conversation_id = await add_conversation(database, [alice, bob])

    for _ in range(3):
        await message_log.append(
            conversation_id=conversation_id,
            sender_id=alice,
            client_id="same-id",
            text="hello",
            recipients=(alice, bob),
            written_with=statement_of_reasons(),
        )

    assert len(await statement_subjects(database)) == 1
