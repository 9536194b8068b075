"""`townhall serve --workers N`: N server processes on one port, for a machine with N cores.

Each worker is a `townhall serve` of its own with the same settings, listening with
SO_REUSEPORT, so the kernel spreads new connections over them; they share the PostgreSQL
database and the Redis bus as servers on different machines would. This process only
supervises: it starts the workers, starts again one that dies (a second later), and on SIGTERM
or Ctrl-C stops them all and waits for them.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger(__name__)

RESTART_PAUSE_SECONDS = 1.0
STOP_WAIT_SECONDS = 15.0
WORKER_FLAG = "--reuse-port"


def worker_command(argv: Sequence[str]) -> list[str]:
    """The command line of one worker: this `serve` without --workers, listening with
    SO_REUSEPORT beside the others."""
    command: list[str] = []
    skip_value = False
    for argument in argv:
        if skip_value:
            skip_value = False
        elif argument == "--workers":
            skip_value = True
        elif not argument.startswith("--workers="):
            command.append(argument)
    return [sys.executable, *command, WORKER_FLAG]


class Supervisor:
    def __init__(self, command: list[str], workers: int) -> None:
        self._command = command
        self._workers: list[subprocess.Popen[bytes] | None] = [None] * workers
        self._stopping = False

    def run(self) -> int:
        for sent in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sent, self._stop)
        for number in range(len(self._workers)):
            self._start(number)
        while not self._stopping:
            for number, worker in enumerate(self._workers):
                if worker is not None and worker.poll() is not None and not self._stopping:
                    log.error(
                        "worker %d (pid %d) ended with %s; starting it again",
                        number,
                        worker.pid,
                        worker.returncode,
                    )
                    time.sleep(RESTART_PAUSE_SECONDS)
                    self._start(number)
            time.sleep(0.2)
        return self._stop_all()

    def _start(self, number: int) -> None:
        worker = subprocess.Popen(self._command)
        self._workers[number] = worker
        log.info("worker %d started (pid %d)", number, worker.pid)

    def _stop(self, _signal: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _stop_all(self) -> int:
        running = [worker for worker in self._workers if worker is not None]
        for worker in running:
            if worker.poll() is None:
                worker.terminate()
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for worker in running:
            try:
                worker.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        log.info("all %d workers stopped", len(running))
        return 0


def supervise(workers: int) -> int:
    return Supervisor(worker_command(sys.argv), workers).run()
