"""`townhall bench search`: searching one's own messages among 1,000,000 stored ones.

The messages -- chat in Chinese with some English, in conversations of two to fifty members --
are bulk-loaded straight into the SQLite database the migrations made, each with its row of the
search index as the message writer writes it (store/search.py), while the server is stopped. The
searcher, registered over the API, is a member of a share of the conversations. Then each kind of
query (Chinese of one, two and three characters, English words; common and rare; a word common in
others' conversations and in none of the searcher's; one found nowhere) is timed through
`GET /api/v1/search/messages` on a server pinned to its own core, one request at a time: the
latency of the first page as the client sees it, after one untimed round of every query.
A read of one row (`GET /api/v1/contacts/privacy`), timed the same way, gives what any request
costs there.
"""

from __future__ import annotations

import itertools
import os
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.progress import Progress
from rich.table import Table

from townhall.bench.bulk import FILLER_PASSWORD_HASH, LOAD_CHUNK, insert_sql, load, sqlite_file
from townhall.bench.common import BenchUser, console, percentile, register_users, run_and_report
from townhall.bench.server import split_cores, start_server
from townhall.domain.accounts import AccountStatus, Role
from townhall.domain.search import indexed_text
from townhall.store.schema import accounts, conversations, members, messages
from townhall.store.search import message_search

PAGE = 20  # hits asked for, as a client's first page
# One searcher asks thousands of times in a minute: far past a person's rate. The limiter still
# counts every search, so its cost is measured.
BASELINE = "/api/v1/contacts/privacy"
UNTHROTTLED = {"TOWNHALL_LIMITS__SEARCHES_PER_USER": "1000000/second"}
YEAR_MS = 365 * 24 * 3600 * 1000


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# What people write, most frequent first; a message draws its words by Zipf's law from these.
CHINESE_WORDS = _words(
    "我 你 好的 我们 今天 没有 什么 可以 知道 现在 一下 时候 明天 觉得 还是 一起 他们 已经 怎么"
    " 这个 那个 因为 所以 但是 如果 真的 谢谢 晚上 早上 中午 吃饭 下班 上班 加班 开会 问题 工作"
    " 公司 项目 周末 电话 微信 消息 朋友 同学 老师 孩子 家里 学校 医院 超市 地铁 高铁 飞机 机场"
    " 酒店 天气 下雨 出门 回家 快递 外卖 红包 转账 付款 发票 报销 合同 客户 需求 方案 文档 代码"
    " 测试 上线 版本 手机 电脑 不知道 怎么样 没问题 差不多 辛苦了 不客气 服务器 数据库 星期五"
    " 生日快乐 新年快乐 火锅 奶茶 咖啡 电影 音乐 篮球 足球 跑步 健身 旅游 北京 上海 广州 深圳"
    " 杭州 成都 武汉 南京 西安 重庆 天津 苏州 春节 中秋 国庆 元旦 端午 放假 请假 体检 挂号 感冒"
    " 发烧 吃药 打车 停车 加油 充电 下载 上传 密码 登录 注册 链接 图片 视频 文件 会员 优惠 打折"
)
ENGLISH_WORDS = _words(
    "ok the to and meeting thanks please review bug release server deploy coffee lunch weekend"
    " deadline python report draft merge branch sprint standup ticket email slides budget invoice"
    " client demo feedback update schedule agenda notes quick call sorry sure yes no maybe"
)
# Words a message carries rarely (RARE_SHARE of them one of these), and one common in the
# conversations the searcher is not in (ELSEWHERE_SHARE of their messages) and in none of theirs.
RARE_WORDS = (
    "鲸鱼",
    "琵琶",
    "英镑",
    "太平洋",
    "圆明园",
    "马拉松",
    "kubernetes",
    "tarball",
    "haskell",
)
RARE_SHARE = 0.0005
ELSEWHERE = "elsewhereonly"
ELSEWHERE_SHARE = 0.02
PUNCTUATION = ("\uff0c", "。", "\uff01", "\uff1f", " ", "\uff5e")  # full-width , ! ? ~

# The timed queries, by kind; each kind's queries are asked in turn.
QUERIES: dict[str, tuple[str, ...]] = {
    "zh_1_common": ("我", "好", "天"),
    "zh_1_rare": ("鲸", "琶", "镑"),
    "zh_2_common": ("今天", "我们", "没有"),
    "zh_2_rare": ("鲸鱼", "琵琶", "英镑"),
    "zh_3_common": ("不知道", "怎么样", "没问题"),
    "zh_3_rare": ("太平洋", "圆明园", "马拉松"),
    "en_common": ("ok", "meeting", "thanks"),
    "en_rare": ("kubernetes", "tarball", "haskell"),
    "mixed_phrase": ("python 代码", "review 文档", "咖啡 coffee"),
    "elsewhere_only": (ELSEWHERE,),
    "nowhere": ("xylophonist", "鳄"),
}


@dataclass
class SearchBenchOptions:
    messages: int = 1_000_000
    conversations: int = 20_000
    users: int = 20_000
    searcher_conversations: int = 200
    queries: int = 200  # timed searches of each kind
    seed: int = 19


@dataclass
class Corpus:
    """The conversations as loaded: their members, and the searcher's among them."""

    members: dict[int, list[int]] = field(default_factory=dict)
    searchers: set[int] = field(default_factory=set)  # the searcher's conversations

    @property
    def member_rows(self) -> int:
        return sum(len(ids) for ids in self.members.values())


ACCOUNT_SQL = insert_sql(
    accounts, ["id", "handle", "display_name", "password_hash", "status", "created_at", "role"]
)
CONVERSATION_SQL = insert_sql(conversations, ["id", "kind", "title", "created_by", "created_at"])
MEMBER_SQL = insert_sql(members, ["conversation_id", "account_id", "role", "joined_at"])
MESSAGE_SQL = insert_sql(
    messages,
    ["id", "conversation_id", "seq", "sender_id", "client_id", "text", "created_at", "position"],
)
INDEX_SQL = insert_sql(message_search, ["rowid", "body"])


def group_size(rng: random.Random) -> int:
    """Most conversations are between two people; some are groups, a few big ones."""
    draw = rng.random()
    if draw < 0.6:
        return 2
    if draw < 0.9:
        return rng.randint(3, 10)
    return rng.randint(11, 50)


def plan_corpus(
    options: SearchBenchOptions, searcher: int, users: range, first_conversation: int
) -> Corpus:
    rng = random.Random(options.seed)
    corpus = Corpus()
    ids = range(first_conversation, first_conversation + options.conversations)
    corpus.searchers = set(rng.sample(ids, min(options.searcher_conversations, len(ids))))
    for conversation_id in ids:
        size = min(group_size(rng), len(users))
        chosen = rng.sample(users, size)
        if conversation_id in corpus.searchers:
            chosen[0] = searcher
        corpus.members[conversation_id] = chosen
    return corpus


class Writer:
    """Chat text: words by Zipf's law, mostly Chinese, some mixed, some English."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._chinese = self._zipf(len(CHINESE_WORDS))
        self._english = self._zipf(len(ENGLISH_WORDS))

    @staticmethod
    def _zipf(size: int) -> list[float]:
        return list(itertools.accumulate(1 / (rank + 1) for rank in range(size)))

    def text(self, elsewhere: bool) -> str:
        rng = self._rng
        words = rng.randint(2, 12)
        draw = rng.random()
        english = 0 if draw < 0.7 else (rng.randint(1, 2) if draw < 0.9 else words)
        chosen = rng.choices(CHINESE_WORDS, cum_weights=self._chinese, k=words - english)
        chosen += rng.choices(ENGLISH_WORDS, cum_weights=self._english, k=english)
        if rng.random() < RARE_SHARE:
            chosen.append(rng.choice(RARE_WORDS))
        if elsewhere and rng.random() < ELSEWHERE_SHARE:
            chosen.append(ELSEWHERE)
        rng.shuffle(chosen)
        parts = []
        for word in chosen:
            parts.append(word)
            parts.append(" " if word.isascii() else rng.choice(PUNCTUATION))
        return "".join(parts).strip()


def message_rows(
    options: SearchBenchOptions, corpus: Corpus, first_id: int, first_position: int, now_ms: int
) -> Iterator[tuple[tuple[Any, ...], tuple[int, str]]]:
    """Each message's row and its index row, oldest first, over the past year."""
    rng = random.Random(options.seed + 1)
    writer = Writer(rng)
    conversation_ids = list(corpus.members)
    # Some conversations are far busier than others.
    busy = list(itertools.accumulate(rng.lognormvariate(0, 1) for _ in conversation_ids))
    seqs = dict.fromkeys(conversation_ids, 0)
    step = max(1, YEAR_MS // max(1, options.messages))
    start = now_ms - step * options.messages
    for n in range(options.messages):
        (conversation_id,) = rng.choices(conversation_ids, cum_weights=busy)
        seqs[conversation_id] += 1
        message_id = first_id + n
        text = writer.text(elsewhere=conversation_id not in corpus.searchers)
        row = (
            message_id,
            conversation_id,
            seqs[conversation_id],
            rng.choice(corpus.members[conversation_id]),
            f"bench-{message_id}",
            text,
            start + n * step,
            first_position + n,
        )
        yield row, (message_id, indexed_text(text))


def bulk_load(db_path: Path, searcher: int, options: SearchBenchOptions) -> dict[str, Any]:
    started = time.perf_counter()
    now_ms = int(time.time() * 1000)
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
        first_user = db.execute("SELECT max(id) FROM accounts").fetchone()[0] + 1
        first_conversation = (
            db.execute("SELECT max(id) FROM conversations").fetchone()[0] or 0
        ) + 1
        first_id = (db.execute("SELECT max(id) FROM messages").fetchone()[0] or 0) + 1
        first_position = 1 + max(
            db.execute("SELECT max(position) FROM messages").fetchone()[0] or 0,
            db.execute("SELECT max(position) FROM events").fetchone()[0] or 0,
        )
        users = range(first_user, first_user + options.users)
        corpus = plan_corpus(options, searcher, users, first_conversation)
        active, user = AccountStatus.ACTIVE, Role.USER
        with Progress(console=console, transient=True) as bar:
            load(
                db,
                ACCOUNT_SQL,
                (
                    (i, f"bench-{i}", f"bench {i}", FILLER_PASSWORD_HASH, active, now_ms, user)
                    for i in users
                ),
                options.users,
                "accounts",
                bar,
            )
            load(
                db,
                CONVERSATION_SQL,
                ((c, "group", f"群{c}", ids[0], now_ms) for c, ids in corpus.members.items()),
                options.conversations,
                "conversations",
                bar,
            )
            load(
                db,
                MEMBER_SQL,
                (
                    (c, account_id, "member", now_ms - YEAR_MS)
                    for c, ids in corpus.members.items()
                    for account_id in ids
                ),
                corpus.member_rows,
                "members",
                bar,
            )
            task = bar.add_task("messages and their index rows", total=options.messages)
            rows = message_rows(options, corpus, first_id, first_position, now_ms)
            indexed = 0
            while chunk := list(itertools.islice(rows, LOAD_CHUNK)):
                index_rows = [found for _, found in chunk if found[1]]
                db.execute("BEGIN")
                db.executemany(MESSAGE_SQL, [row for row, _ in chunk])
                db.executemany(INDEX_SQL, index_rows)
                db.execute("COMMIT")
                indexed += len(index_rows)
                bar.advance(task, len(chunk))
        visible = db.execute(
            "SELECT count(*) FROM messages JOIN members USING (conversation_id)"
            " WHERE members.account_id = ?",
            (searcher,),
        ).fetchone()[0]
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    seconds = time.perf_counter() - started
    return {
        "messages": options.messages,
        "indexed_messages": indexed,
        "conversations": options.conversations,
        "member_rows": corpus.member_rows,
        "searcher_conversations": len(corpus.searchers),
        "searcher_visible_messages": visible,
        "bulk_load_seconds": round(seconds, 1),
        "database_mb": round(db_path.stat().st_size / 2**20, 1),
    }


async def time_queries(
    url: str, searcher: BenchUser, options: SearchBenchOptions
) -> dict[str, Any]:
    """Each kind's queries, in turn, `options.queries` times a kind, after one untimed round."""
    headers = {"Authorization": f"Bearer {searcher.token}"}
    figures: dict[str, Any] = {}
    every: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def ask(q: str) -> tuple[float, int]:
            started = time.perf_counter()
            answer = await client.get("/api/v1/search/messages", params={"q": q, "limit": PAGE})
            elapsed = time.perf_counter() - started
            answer.raise_for_status()
            return elapsed * 1000, len(answer.json()["messages"])

        for q in itertools.chain.from_iterable(QUERIES.values()):
            await ask(q)
        # What any request of the searcher's costs here, reading one row: the rest is search.
        baseline = []
        for _ in range(options.queries):
            started = time.perf_counter()
            (await client.get(BASELINE)).raise_for_status()
            baseline.append((time.perf_counter() - started) * 1000)
        figures["baseline"] = {"path": BASELINE, **summary(baseline)}
        for kind, queries in QUERIES.items():
            latencies, hits = [], []
            for q in itertools.islice(itertools.cycle(queries), options.queries):
                elapsed_ms, found = await ask(q)
                latencies.append(elapsed_ms)
                hits.append(found)
            every += latencies
            figures[kind] = {"queries": list(queries), **summary(latencies)}
            figures[kind]["mean_hits"] = round(sum(hits) / len(hits), 1)
            console.print(
                f"{kind}: p50 {figures[kind]['p50_ms']} ms, p99 {figures[kind]['p99_ms']} ms,"
                f" {figures[kind]['mean_hits']} hits a page"
            )
    figures["all"] = summary(every)
    return figures


def summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    values = list(latencies_ms)
    return {
        "p50_ms": round(percentile(values, 0.5), 2),
        "p99_ms": round(percentile(values, 0.99), 2),
        "max_ms": round(max(values), 2),
    }


async def run_async(options: SearchBenchOptions) -> dict[str, Any]:
    if options.searcher_conversations > options.conversations:
        raise ValueError("--searcher-conversations cannot exceed --conversations")
    if options.users < 50:
        raise ValueError("--users: at least 50, the largest group's size")
    server_cores, client_cores = split_cores()
    if client_cores:
        os.sched_setaffinity(0, client_cores)
    run_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="townhall-bench-search-") as work:
        data_dir = Path(work) / "data"
        data_dir.mkdir(mode=0o700)
        server = start_server(server_cores, data_dir=data_dir, env=UNTHROTTLED)
        try:
            (searcher,) = await register_users(server.url, "bsearch", 1, itertools.count(1))
        finally:
            server.stop()
        console.print(f"bulk-loading {options.messages:,} messages")
        loaded = bulk_load(sqlite_file(data_dir), searcher.user_id, options)
        console.print(
            f"loaded {loaded['messages']:,} messages in {loaded['bulk_load_seconds']} s"
            f" ({loaded['database_mb']} MB); the searcher may read"
            f" {loaded['searcher_visible_messages']:,} of them"
        )
        server = start_server(server_cores, data_dir=data_dir, env=UNTHROTTLED)
        try:
            searches = await time_queries(server.url, searcher, options)
        finally:
            server.stop()
        # The bench keeps about one core busy; more means other work shared the machine and
        # the tails are not the server's alone.
        searches["machine_load_1m"] = round(os.getloadavg()[0], 2)
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version,
            "server_cores": sorted(server_cores) if server_cores else None,
            "client_cores": sorted(client_cores) if client_cores else None,
        },
        "options": asdict(options),
        "setup": loaded,
        "page": PAGE,
        "searches": searches,
        "run_seconds": round(time.perf_counter() - run_started, 1),
    }


def print_table(results: dict[str, Any]) -> None:
    setup = results["setup"]
    table = Table(
        title=f"townhall bench search: {setup['messages']:,} messages,"
        f" the searcher reads {setup['searcher_visible_messages']:,}"
    )
    for name in ("kind", "p50 ms", "p99 ms", "max ms", "hits a page"):
        table.add_column(name, justify="left" if name == "kind" else "right")
    for kind, figures in results["searches"].items():
        if not isinstance(figures, dict):
            continue
        table.add_row(
            kind,
            str(figures["p50_ms"]),
            str(figures["p99_ms"]),
            str(figures["max_ms"]),
            str(figures.get("mean_hits", "")),
        )
    console.print(table)


def run(options: SearchBenchOptions, json_file: Path | None) -> dict[str, Any]:
    return run_and_report(run_async(options), print_table, json_file)
