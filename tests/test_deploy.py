"""The deployment files in deploy/ are valid for the tools that read them: nginx accepts the
configuration (its TLS, WebSocket and long-poll settings), systemd the units, the container
image copies only files that exist and installs the PostgreSQL and Redis drivers, the compose
file's PostgreSQL has room for every process, and the wheel carries the whole package."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from townhall.config import Settings

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed here")
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    tls = tmp_path / "tls"
    tls.mkdir()
    key, certificate = tls / "privkey.pem", tls / "fullchain.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=chat.example.org", "-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    site = (DEPLOY / "nginx.conf").read_text().replace("/etc/townhall/tls", str(tls))
    (tmp_path / "townhall.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/townhall.conf; }}\n"
    )
    checked = subprocess.run(
        ["nginx", "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not here")
@pytest.mark.parametrize("unit", ["townhall.service", "townhall-workers.service"])
def test_systemd_accepts_the_unit(unit: str) -> None:
    checked = subprocess.run(
        ["systemd-analyze", "verify", str(DEPLOY / unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    # The one complaint allowed: Townhall is not installed in /opt/townhall on this machine.
    complaints = [
        line
        for line in checked.stderr.splitlines()
        if line.strip() and "/opt/townhall/bin/townhall" not in line
    ]
    assert complaints == []


def test_the_compose_file_runs_several_processes_on_postgresql_and_redis_with_room() -> None:
    """Townhall's URLs name the compose file's own PostgreSQL 15 and Redis 7, it waits for
    them, and PostgreSQL takes every connection its processes may open."""
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    townhall, postgres = services["townhall"], services["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    environment = townhall["environment"]
    assert "@postgres:5432/" in environment["TOWNHALL_DATABASE_URL"]
    assert environment["TOWNHALL_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert environment["TOWNHALL_BUS_URL"].startswith("redis://redis:6379/")
    assert set(townhall["depends_on"]) == {"postgres", "redis"}

    command = townhall["command"]
    workers = int(command[command.index("--workers") + 1])
    fields = Settings.model_fields
    pool = fields["database_pool_size"].default + fields["database_pool_overflow"].default
    max_connections = int(postgres["command"][-1].removeprefix("max_connections="))
    assert workers >= 2
    assert max_connections >= workers * (pool + 2)


def test_the_image_installs_the_drivers_of_several_processes() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    [extras] = [line for line in dockerfile.splitlines() if line.startswith("ARG EXTRAS=")]
    assert set(extras.removeprefix("ARG EXTRAS=").strip('"').split(",")) >= {"postgresql", "redis"}


def test_the_image_copies_only_what_exists() -> None:
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY") and "--from" not in line:
            *sources, _destination = line.split()[1:]
            for source in sources:
                assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which is missing"


def test_the_wheel_holds_every_file_of_the_package(tmp_path: Path) -> None:
    """`pip install townhall-*.whl` gives a working server only if the wheel carries the
    migrations, the policy packs and the web page along with the code."""
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("townhall-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = set(archive.namelist())
    tracked = subprocess.run(
        ["git", "ls-files", "src/townhall"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    missing = [path for path in tracked if path.removeprefix("src/") not in packaged]
    assert missing == []
    assert any(name.endswith("entry_points.txt") for name in packaged)
