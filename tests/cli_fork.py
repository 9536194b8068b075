"""`townhall ARGS` for the tests, forked from a process that has imported Townhall once.

A `townhall` command spends two to three seconds of CPU importing Townhall and its libraries
before it does anything, and the tests run hundreds of them (every staff member is made with
`townhall admin create-staff`). Here one process per test worker imports them and then forks
for each command: the child takes the command's environment, working directory, standard
streams and arguments, and runs the `townhall` entry point (`townhall.cli:run`) as the
console script would. Test servers (`townhall serve`) are forked the same way and run on
(conftest.py: `ServerPool.start`); tests/test_startup.py runs the console script itself.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import json
import os
import pkgutil
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

# What a server imports only once it needs it (a production server pays for it once; each test
# server would again): MinHash sketches (and SciPy), the provider's HTTP client and its transport.
SERVERS_IMPORT_LATER = ("datasketch", "httpcore", "anyio._backends._asyncio")
# What every command imports: in the forking process, so that no child pays for it. The
# packages' modules are all imported (`townhall serve` imports the routes' when it builds the app).
PRELOADED = ("townhall.cli.main", "townhall.app", "townhall.domain.lexicon", *SERVERS_IMPORT_LATER)
PRELOADED_PACKAGES = ("townhall.api", "townhall.web")


class Forks:
    """The forking process of this test process, started on first use."""

    def __init__(self, townhall: Path) -> None:
        self._townhall = townhall
        self._folder = Path(tempfile.mkdtemp(prefix="townhall-cli-"))
        self._address = str(self._folder / "socket")
        self._process: subprocess.Popen[bytes] | None = None

    def run(
        self, args: list[str], *, env: dict[str, str], stdin: str | None = None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        """Like subprocess.run(capture_output=True, text=True, check=False) of the console
        script; raises subprocess.TimeoutExpired after killing a command that ran too long."""
        streams = {name: self._new_file() for name in ("in", "out", "err")}
        streams["in"].write_text(stdin or "", encoding="utf-8")
        try:
            command = self.start(args, env=env, streams=streams)
            try:
                status = command.wait(timeout)
            except subprocess.TimeoutExpired:
                command.kill()
                raise
            return subprocess.CompletedProcess(
                command.args,
                status,
                streams["out"].read_text(encoding="utf-8", errors="replace"),
                streams["err"].read_text(encoding="utf-8", errors="replace"),
            )
        finally:
            for path in streams.values():
                path.unlink(missing_ok=True)

    def start(
        self, args: list[str], *, env: dict[str, str], streams: dict[str, Path]
    ) -> ForkedCommand:
        """Like subprocess.Popen of the console script, its standard streams ("in", "out",
        "err") the files named (written at their end): a command that runs on, such as
        `townhall serve`, starts without importing anything."""
        argv = [str(self._townhall), *args]
        request = {
            "argv": argv,
            "env": env,
            "cwd": str(Path.cwd()),
            "streams": {name: str(path) for name, path in streams.items()},
        }
        connection = socket.socket(socket.AF_UNIX)
        try:
            connection.connect(self._started())
            connection.sendall(json.dumps(request).encode() + b"\n")
            return ForkedCommand(argv, connection)
        except BaseException:
            connection.close()
            raise

    def _new_file(self) -> Path:
        handle, name = tempfile.mkstemp(dir=self._folder)
        os.close(handle)
        return Path(name)

    def _started(self) -> str:
        if self._process is None or self._process.poll() is not None:
            Path(self._address).unlink(missing_ok=True)  # a dead one's
            env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
            self._process = subprocess.Popen([sys.executable, __file__, self._address], env=env)
            atexit.register(self.stop)
        while not Path(self._address).exists():
            if self._process.poll() is not None:
                raise RuntimeError("the forking process for townhall commands did not start")
            time.sleep(0.01)
        return self._address

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(10)
        shutil.rmtree(self._folder, ignore_errors=True)


class ForkedCommand:
    """A command forked for the test process: what the tests use of a subprocess.Popen. Its
    supervisor (the command's parent) answers on `connection` its pid, then its exit status."""

    def __init__(self, args: list[str], connection: socket.socket) -> None:
        self.args = args
        self.returncode: int | None = None
        self._connection = connection
        self._received = b""
        self.pid = self._answer(timeout=60)

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(BlockingIOError):
                self._exited(self._answer(timeout=0))
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self._exited(self._answer(timeout))
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, number)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _answer(self, timeout: float | None) -> int:
        """The next line the supervisor answers (timeout 0: only one already there)."""
        self._connection.settimeout(timeout)
        while b"\n" not in self._received:
            chunk = self._connection.recv(64)
            if not chunk:
                raise RuntimeError(f"the supervisor of {self.args} ended without an answer")
            self._received += chunk
        line, self._received = self._received.split(b"\n", 1)
        return int(line)

    def _exited(self, status: int) -> None:
        self.returncode = status
        self._connection.close()


def _serve(address: str) -> None:
    """Import Townhall, then fork a child for each command asked for on the socket."""
    for module in PRELOADED:
        importlib.import_module(module)
    for package in PRELOADED_PACKAGES:
        path = importlib.import_module(package).__path__
        for found in pkgutil.walk_packages(path, f"{package}."):
            importlib.import_module(found.name)
    from townhall.domain.identity import phone_e164
    from townhall.domain.normalize import syllable_sounds
    from townhall.services.verifier import certificate_authorities
    from townhall.store.migrate import migration_scripts

    syllable_sounds()  # the table each command's lexicon is built with: 0.1 s each, else
    migration_scripts()  # read by each server at start (0.1 s), and by each migrating command
    certificate_authorities()  # loaded by each server's identity-provider client (30 ms)
    phone_e164("13800138000", "CN")  # phonenumbers reads a region's metadata on first use
    # Out of the collector's sight before forking: a child's collections (a server's first,
    # app.settle_heap) would otherwise walk every preloaded object and so copy every page of
    # them, the gc.freeze() use Python's documentation gives.
    gc.collect()
    gc.freeze()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(f"{address}.new")
        listener.listen(64)
        Path(f"{address}.new").rename(address)  # bound and listening before anyone connects
        try:
            while True:
                connection, _ = listener.accept()
                if os.fork() == 0:
                    listener.close()
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    _supervise(connection)
                connection.close()
                _reap(os.WNOHANG)
        finally:
            _reap(0)


def _reap(options: int) -> None:
    """Wait for the supervisors that are done (all with `options` 0), so that their CPU time
    counts in this process's children's, as a command's would in the test process's."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, options)[0]:
            pass


def _supervise(connection: socket.socket) -> None:
    """Run one command in a child of its own, and answer its pid and then its exit status."""
    try:
        request = json.loads(connection.makefile("r").readline())
        child = os.fork()
        if child == 0:
            connection.close()
            _command(request)
        connection.sendall(f"{child}\n".encode())
        _, status = os.waitpid(child, 0)
        connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    finally:  # whatever happened (the test gave up waiting): never back into the accept loop
        os._exit(0)


def _command(request: dict[str, Any]) -> None:
    """The console script's life: its environment, streams and arguments, `run()`, exit."""
    code = 1
    try:
        os.environ.clear()
        os.environ.update(request["env"])
        # What the interpreter would have made of the command's PYTHONPATH at its start (a test
        # installs a plugin package that way).
        added = request["env"].get("PYTHONPATH", "").split(os.pathsep)
        sys.path[1:1] = [path for path in added if path and path not in sys.path]
        os.chdir(request["cwd"])
        for fd, name in enumerate(("in", "out", "err")):
            stream = os.open(request["streams"][name], os.O_RDWR | os.O_APPEND)
            os.dup2(stream, fd)
            os.close(stream)
        sys.argv = request["argv"]
        from townhall.cli import run

        try:
            run()
            code = 0
        except SystemExit as exit_:  # what the interpreter makes of it at exit
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    _serve(sys.argv[1])
