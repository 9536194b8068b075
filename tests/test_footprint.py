"""What a process loads, where loading it was measured to cost memory it never used
(docs/benchmarks.md, "Footprint"): each in a fresh interpreter, as a server or worker starts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.database_free


def modules_after(statement: str, *modules: str) -> dict[str, bool]:
    """Which of `modules` a fresh interpreter holds after running `statement`."""
    script = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps({{m: m in sys.modules for m in {list(modules)!r}}}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_the_console_script_s_module_loads_no_server() -> None:
    """The classifier worker is spawned, and spawn imports the `townhall` script again."""
    script_module = (
        "from importlib import import_module\n"
        "from importlib.metadata import entry_points\n"
        "(script,) = entry_points(group='console_scripts', name='townhall')\n"
        "import_module(script.module)"
    )
    loaded = modules_after(script_module, "townhall.cli.main", "fastapi", "sqlalchemy")
    assert loaded == {"townhall.cli.main": False, "fastapi": False, "sqlalchemy": False}


def test_the_server_loads_no_image_library_and_not_pypinyin_s_phrases() -> None:
    loaded = modules_after(
        "import townhall.app", "numpy", "PIL", "pdqhash", "pypinyin.phrases_dict", "pypinyin"
    )
    assert loaded == {
        "numpy": False,
        "PIL": False,
        "pdqhash": False,
        "pypinyin.phrases_dict": False,
        "pypinyin": True,  # what it reads with: the loaded subset (test_phrase_readings.py)
    }
