"""A private MariaDB server with a ROW binlog, for tests, the demo and benchmarks.

It never touches the machine's system server: its own datadir, port and socket, ``--no-defaults``
so no /etc/mysql option file leaks in. The binlog settings are the ones a real deployment must
have (ROW, FULL row image, FULL row metadata), so what the listener sees here is what it sees
in production.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from devstack.processes import ManagedProcess, wait_until

INSTALL_HINT = (
    "MariaDB server binaries not found; install them with `apt-get install -y mariadb-server` "
    "(the README's set-up does this when run as root)"
)


# its own generator: a harness that seeds the global one (chaos rounds) neither shifts its sequence
# nor has every process it starts pick the same ports
_PORT_CHOICE = random.SystemRandom()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A loopback port free now, for a server started next, taken below the kernel's ephemeral
    range. A port the kernel picked (bind to 0) lies in that range, where any client's outgoing
    connection may take it before the server binds it: in CI a worker replica once failed with
    "Address already in use" on its ops port, seconds after the port was chosen."""
    low = _ephemeral_range()[0]
    if low > 12000:
        for _ in range(50):
            port = _PORT_CHOICE.randint(10000, low - 1)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_binary(name: str, *extra_dirs: str) -> str:
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in extra_dirs if (Path(d) / name).is_file()), None
    )
    if not found:
        raise FileNotFoundError(f"{name}: {INSTALL_HINT}")
    return found


@dataclass(frozen=True)
class MySqlEndpoint:
    """Where a MySQL-protocol server answers, and as whom to administer it."""

    host: str
    port: int
    user: str = "root"
    password: str = field(default="", repr=False)

    def connect(self, database: str | None = None, **kwargs: object) -> pymysql.Connection:
        options: dict[str, object] = {"charset": "utf8mb4", "autocommit": True, "connect_timeout": 5}
        options.update(kwargs)
        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, password=self.password,
            database=database, **options,
        )


class MariaDBServer:
    """``mariadb-install-db`` + ``mariadbd`` in a directory of its own on a free port."""

    def __init__(self, base_dir: Path, port: int | None = None, server_id: int = 1,
                 extra_args: tuple[str, ...] = ()):
        """``extra_args`` are more mariadbd options (e.g. ``--ssl-ca``/``--ssl-cert``/``--ssl-key``
        for a TLS server: tests/integration/test_mysql_tls.py)."""
        self.base_dir = base_dir
        self.extra_args = extra_args
        self.port = port or free_port()
        self.server_id = server_id
        self.datadir = base_dir / "data"
        self.socket_path = base_dir / "mysqld.sock"
        # its own temporary-file directory: servers bootstrapping side by side (two test workers)
        # must not share /tmp's #sql-temptable-* files
        self.tmpdir = base_dir / "tmp"
        self.error_log = base_dir / "error.log"
        self._process: ManagedProcess | None = None

    @property
    def endpoint(self) -> MySqlEndpoint:
        return MySqlEndpoint("127.0.0.1", self.port)

    @property
    def process(self) -> ManagedProcess | None:
        return self._process

    def _user_args(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def initialize(self) -> None:
        install_db = find_binary("mariadb-install-db", "/usr/bin", "/usr/local/bin")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.tmpdir.mkdir(exist_ok=True)
        result = subprocess.run(
            [
                install_db,
                "--no-defaults",
                *self._user_args(),
                f"--datadir={self.datadir}",
                f"--tmpdir={self.tmpdir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"mariadb-install-db failed ({result.returncode}): {result.stderr[-2000:]}"
            )

    def start(self, timeout: float = 60.0) -> None:
        mariadbd = find_binary("mariadbd", "/usr/sbin", "/usr/local/sbin")
        if not (self.datadir / "mysql").is_dir():
            self.initialize()
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self._process = ManagedProcess(
            "mariadbd",
            [
                mariadbd,
                "--no-defaults",
                *self._user_args(),
                f"--datadir={self.datadir}",
                f"--tmpdir={self.tmpdir}",
                "--bind-address=127.0.0.1",
                f"--port={self.port}",
                f"--socket={self.socket_path}",
                f"--pid-file={self.base_dir / 'mysqld.pid'}",
                f"--log-error={self.error_log}",
                f"--log-bin={self.datadir / 'binlog'}",
                "--binlog-format=ROW",
                "--binlog-row-image=FULL",
                "--binlog-row-metadata=FULL",
                f"--server-id={self.server_id}",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                "--skip-name-resolve",
                # A dev/test server: the binlog is durable enough for a crash of the *sidecar*.
                "--innodb-flush-log-at-trx-commit=2",
                "--sync-binlog=0",
                "--max-connections=500",
                *self.extra_args,
            ],
            log_path=self.base_dir / "mariadbd.out",
        )
        self._process.start()

        def answers() -> bool:
            if not self._process or not self._process.is_running():
                raise RuntimeError(f"mariadbd exited: {self.error_log_tail()}")
            self.endpoint.connect().close()
            return True

        wait_until(answers, timeout, what=f"mariadbd on port {self.port} answering")

    def stop(self, timeout: float = 20.0) -> None:
        if self._process is not None:
            self._process.stop(timeout)

    def error_log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
