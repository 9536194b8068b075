"""`townhall moderation train` learns the Chinese classifier from reviewers' decisions, reports
what it learnt from and how it did on decisions held out, and the server can then load it;
with too little to learn from it refuses."""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import msgspec
import orjson
from sqlalchemy import insert
from typer.testing import CliRunner

from townhall.cli.main import app
from townhall.config import Settings
from townhall.domain.moderation import ClassifierRule
from townhall.packs import load_pack
from townhall.services.classifier_plugins import zh_ngram_path
from townhall.services.classifiers import build_plugins
from townhall.store.database import open_database, prepare_storage
from townhall.store.migrate import upgrade_to_head
from townhall.store.schema import review_cases

GAMBLING = ["澳门赌场", "百家乐", "线上博彩", "六合彩", "老虎机", "赌球", "真人荷官", "下注"]
GAMBLING_BAIT = ["稳赚不赔", "送彩金", "充值返现", "包赢", "日赚千元"]
FRAUD = ["刷单返利", "兼职日结", "安全账户", "中奖领取", "免息贷款", "验证码发我"]
CHAT = [
    "今天天气不错",
    "明天一起吃饭吧",
    "记得带伞",
    "周末去爬山",
    "孩子作业写完了吗",
    "晚上七点开会",
    "这本书很好看",
    "生日快乐",
    "路上注意安全",
    "你到家了吗",
    "妈妈做的饺子真香",
    "下午的电影几点开始",
]


COMMA = "\uff0c"  # the full-width comma of Chinese text


def chat(rng: random.Random) -> str:
    return COMMA.join(rng.sample(CHAT, 2))


def gambling(rng: random.Random) -> str:
    return f"{rng.choice(CHAT[:4])}{COMMA}{rng.choice(GAMBLING)}{rng.choice(GAMBLING_BAIT)}"


def fraud(rng: random.Random) -> str:
    return f"{rng.choice(FRAUD)}{COMMA}{rng.choice(['速联系', '加微信', '名额有限'])}"


def case(number: int, text: str, state: str, categories: str, target: str = "message") -> dict:
    return {
        "target_type": target,
        "target_id": number,
        "content": orjson.dumps({"text": text}).decode(),
        "sources": "flag",
        "categories": categories,
        "priority": 1,
        "state": state,
        "opened_at": 0,
        "due_at": 0,
        "decision": {"approved": "approve", "removed": "remove"}.get(state),
        "decided_at": 1 if state in ("approved", "removed") else None,
    }


def decided_cases(rng: random.Random) -> list[dict]:
    texts = (
        [(gambling(rng), "removed", "gambling") for _ in range(120)]
        + [(fraud(rng), "removed", "fraud") for _ in range(60)]
        + [(chat(rng), "approved", "") for _ in range(220)]
    )
    rows = [case(n, text, state, categories) for n, (text, state, categories) in enumerate(texts)]
    return [
        *rows,
        # None of these is an example: no category, not decided, not a text.
        case(1000, "澳门赌场", "removed", ""),
        case(1001, "澳门赌场", "open", "gambling"),
        case(1002, "澳门赌场", "escalated", "gambling"),
        case(1003, "澳门赌场", "removed", "gambling", target="user"),
    ]


def seed(data_dir: Path, rows: list[dict]) -> None:
    url = Settings(data_dir=data_dir).resolved_database_url
    prepare_storage(data_dir, url)

    async def run() -> None:
        database = open_database(url)
        try:
            await upgrade_to_head(database)
            async with database.writing() as conn:
                await conn.execute(insert(review_cases), rows)
        finally:
            await database.dispose()

    asyncio.run(run())


def train(data_dir: Path, *options: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(
        app, ["moderation", "train", "--data-dir", str(data_dir), *options], catch_exceptions=False
    )


def test_training_reports_its_data_and_validation_and_the_server_can_load_it(
    tmp_path: Path,
) -> None:
    data_dir, report_file = tmp_path / "data", tmp_path / "report.json"
    seed(data_dir, decided_cases(random.Random(2014)))

    result = train(data_dir, "--json", str(report_file))

    assert result.exit_code == 0, result.output
    assert "trained on 320 decisions, 80 held out" in result.output
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert (report["training_size"], report["validation_size"]) == (320, 80)
    assert report["model"] == str(zh_ngram_path(data_dir))
    assert report["left_out"] == {}
    counts = {
        category: [result[key] for key in ("training_positives", "validation_positives")]
        for category, result in report["categories"].items()
    }
    assert counts == {"fraud": [48, 12], "gambling": [96, 24]}
    for result in report["categories"].values():
        assert (result["training_negatives"], result["validation_negatives"]) == (176, 44)
        assert result["precision"] >= 0.9
        assert result["recall"] >= 0.9
    assert zh_ngram_path(data_dir).exists()

    rules = msgspec.structs.replace(
        load_pack("cn-2014").moderation,
        classifiers={"zh_ngram": ClassifierRule(threshold=0.5, severity="medium")},
    )
    (model,) = build_plugins(rules, data_dir)
    # Traditional characters never seen in training: the model reads the matching skeleton.
    wager, greeting = model.predict_batch([f"快來澳門賭場下注{COMMA}包贏", "晚上一起看电影吧"])
    assert wager["gambling"] > 0.5 > greeting["gambling"]
    assert model.report["training_size"] == 320


def test_too_few_decisions_are_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random(1)
    seed(data_dir, [case(n, gambling(rng), "removed", "gambling") for n in range(20)])

    result = train(data_dir)

    assert result.exit_code == 1
    assert "only 20 decided messages and posts to learn from, at least 50 needed" in result.stderr
    assert not zh_ngram_path(data_dir).exists()


def test_removals_without_approvals_teach_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    rng = random.Random(1)
    seed(data_dir, [case(n, gambling(rng), "removed", "gambling") for n in range(20)])

    result = train(data_dir, "--min-examples", "10")

    assert result.exit_code == 1
    assert "no category has enough decisions to train on" in result.stderr
    assert "gambling: 16 removal(s) and 0 approval(s)" in result.stderr
