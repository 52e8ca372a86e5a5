#!/usr/bin/env python3
"""Install and start the real components lakegate's tests and demo talk to, on this machine.

    python scripts/services.py up [postgres|mariadb|kafka|spark ...]   # idempotent; fast when up
    python scripts/services.py status [--format json]
    python scripts/services.py stop                                     # only what `up` started
    python scripts/services.py spark-cluster [up|stop]                  # standalone master + worker

What runs where (all on loopback, data and logs under build/services/):

- PostgreSQL on 127.0.0.1:5432, trust authentication, superusers ``postgres`` and ``root``: a
  cluster of the project's own (``initdb``), from Debian's ``postgresql`` package.
- MariaDB on 127.0.0.1:3306, user ``root`` without a password: a data directory of the
  project's own (``mariadb-install-db``), from Debian's ``mariadb-server`` package.
- Apache Kafka, one KRaft node (broker + controller) on 127.0.0.1:9092 / 9093, from the jars
  Maven resolves from jvm/kafka/pom.xml into build/jvm/kafka/.
- Spark: no daemon for ``local[*]``; `up` checks Java 17+ and that a ``local[2]`` session with
  the Delta jars (jvm/spark/pom.xml -> build/jvm/spark/) writes and reads a Delta table.
  ``spark-cluster`` starts a standalone master (127.0.0.1:7077) and one worker from pyspark's
  own classes, for the tests that need a cluster.

A service already answering on its port (started by the machine, or by hand) is used as it is
and never stopped. What `up` starts is recorded by pid file in build/services/; `stop` stops
exactly those processes. Missing Debian packages are installed with apt-get when running as
root; otherwise the error names the packages to install. Exit status: 0 when everything asked
for runs, 1 when something could not be started (the message says what and where its log is).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
STATE = BUILD / "services"
JARS = BUILD / "jvm"
HOST = "127.0.0.1"
PG_PORT = int(os.environ.get("PGPORT", "5432"))
MARIADB_PORT = 3306
KAFKA_PORT, KAFKA_CONTROLLER_PORT = 9092, 9093
SPARK_MASTER_PORT, SPARK_MASTER_UI, SPARK_WORKER_UI = 7077, 8180, 8181


class ServiceError(RuntimeError):
    """A service could not be installed or started; the message says why and where to look."""


@dataclass(frozen=True)
class Status:
    """What one service is doing: ``running`` (answers), by whom, where its files are."""

    name: str
    address: str
    running: bool
    started_here: bool
    pid: int | None
    detail: str


def log(message: str) -> None:
    print(f"services: {message}", flush=True)


# ------------------------------------------------------------------ small helpers


def port_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for(what: str, ready: Callable[[], bool], seconds: float, logfile: Path) -> None:
    """Poll ``ready`` every 0.5 s until it is true, or raise naming ``logfile``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    tail = ""
    if logfile.exists():
        tail = "\n".join(logfile.read_text(errors="replace").splitlines()[-15:])
    raise ServiceError(f"{what} did not become ready in {seconds:.0f} s; log: {logfile}\n{tail}")


def read_pid(pidfile: Path) -> int | None:
    """The pid recorded in ``pidfile`` when that process is alive (and not a zombie)."""
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state in ("Z", "X") else pid


def spawn(argv: list[str], pidfile: Path, logfile: Path, user: str | None = None) -> int:
    """Start ``argv`` detached from this process group, its pid in ``pidfile``."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with logfile.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=user,
            cwd=ROOT,
        )
    pidfile.write_text(f"{proc.pid}\n")
    return proc.pid


def stop_pid(name: str, pidfile: Path, grace: float = 30.0) -> None:
    """SIGTERM the process recorded in ``pidfile`` (SIGKILL after ``grace`` s); remove the file."""
    pid = read_pid(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return
    log(f"stopping {name} (pid {pid})")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and read_pid(pidfile) is not None:
        time.sleep(0.3)
    if read_pid(pidfile) is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def is_root() -> bool:
    return os.geteuid() == 0


def apt_install(packages: list[str], why: str) -> None:
    """Install Debian ``packages`` (root only), or raise naming them."""
    if not is_root() or not shutil.which("apt-get"):
        raise ServiceError(
            f"{why} needs the Debian packages {' '.join(packages)}: "
            f"run `sudo apt-get install -y {' '.join(packages)}`, then `make services` again"
        )
    log(f"installing {' '.join(packages)} (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Do not let the packages start their own system services: we start our own instances.
    policy = Path("/usr/sbin/policy-rc.d")
    made_policy = not policy.exists()
    if made_policy:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise ServiceError(f"apt-get install {' '.join(packages)} failed:\n{done.stderr}")
    finally:
        if made_policy:
            policy.unlink(missing_ok=True)


def run(argv: list[str], user: str | None = None, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, user=user, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def short_dir(kind: str) -> Path:
    """A short per-checkout folder under /tmp for Unix sockets (their paths are <= 107 bytes)."""
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
    path = Path("/tmp") / f"lakegate-{kind}-{digest}"
    path.mkdir(mode=0o755, exist_ok=True)
    return path


# ------------------------------------------------------------------ PostgreSQL


def pg_bin() -> Path:
    """The newest installed PostgreSQL server's bin folder (installing the package if missing)."""

    def installed() -> list[Path]:
        found = Path("/usr/lib/postgresql").glob("*/bin/postgres")
        return sorted(
            (p for p in found if p.parent.parent.name.isdigit()),
            key=lambda p: int(p.parent.parent.name),
        )

    if not installed():
        apt_install(["postgresql"], "PostgreSQL")
    found = installed()
    if not found:
        raise ServiceError("no PostgreSQL server under /usr/lib/postgresql after installing it")
    return found[-1].parent


def pg_answers(user: str = "postgres") -> bool:
    """True when the server on PG_PORT accepts ``user`` without a password."""
    if not port_open(PG_PORT):
        return False
    psql = shutil.which("psql") or str(pg_bin() / "psql")
    done = run(
        [psql, "-h", HOST, "-p", str(PG_PORT), "-U", user, "-d", "postgres", "-Atqc", "SELECT 1"],
        env={**os.environ, "PGCONNECT_TIMEOUT": "3", "PGPASSWORD": ""},
    )
    return done.returncode == 0 and done.stdout.strip() == "1"


def pg_paths() -> tuple[Path, Path]:
    """The cluster's data folder and log; as root the ``postgres`` user must reach them."""
    base = STATE / "postgres"
    if is_root() and not _reachable_by("postgres", ROOT):
        # A checkout under a folder the postgres user cannot enter (e.g. /root): keep the
        # cluster in a per-checkout folder it can reach.
        digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]
        base = Path("/var/tmp") / f"lakegate-postgres-{digest}"
        STATE.mkdir(parents=True, exist_ok=True)
        (STATE / "postgres.location").write_text(f"{base}\n")
    return base / "data", base / "postgres.log"


def _reachable_by(user: str, path: Path) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return run(["test", "-x", str(path)], user=user).returncode == 0


def postgres_up() -> None:
    if pg_answers("postgres") or pg_answers("root"):
        log(f"PostgreSQL answers on {HOST}:{PG_PORT}")
        _pg_roles()
        return
    if port_open(PG_PORT):
        raise ServiceError(
            f"something listens on {HOST}:{PG_PORT} but does not let user postgres or root in "
            "without a password; stop it or give it trust authentication for 127.0.0.1"
        )
    bindir = pg_bin()
    data, logfile = pg_paths()
    user = "postgres" if is_root() else None
    if not (data / "PG_VERSION").exists():
        log(f"initialising a PostgreSQL cluster in {data}")
        data.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(data.parent, user)
            shutil.chown(data, user)
        done = run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale",
                "C.UTF-8",
            ],
            user=user,
        )
        if done.returncode != 0:
            raise ServiceError(f"initdb failed:\n{done.stdout}{done.stderr}")
    sockets = short_dir("pg")
    if user:
        shutil.chown(sockets, user)
    log(f"starting PostgreSQL on {HOST}:{PG_PORT} (data {data})")
    options = (
        f"-c listen_addresses={HOST} -p {PG_PORT} -k {sockets} -c fsync=off -c max_connections=200"
    )
    done = run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(logfile),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        user=user,
    )
    if done.returncode != 0:
        raise ServiceError(f"PostgreSQL did not start: {done.stdout}{done.stderr}; log: {logfile}")
    _pg_roles()


def _pg_roles() -> None:
    """Superusers ``postgres`` and ``root`` (the tests connect as either)."""
    for admin in ("postgres", "root"):
        if pg_answers(admin):
            break
    statement = (
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'root') THEN CREATE ROLE root SUPERUSER LOGIN; END IF; "
        "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'postgres') THEN CREATE ROLE postgres SUPERUSER LOGIN; END IF; "
        "END $$;"
    )
    psql = shutil.which("psql") or str(pg_bin() / "psql")
    done = run(
        [psql, "-h", HOST, "-p", str(PG_PORT), "-U", admin, "-d", "postgres", "-qc", statement]
    )
    if done.returncode != 0:
        raise ServiceError(f"could not create the PostgreSQL roles: {done.stderr}")


def postgres_status() -> Status:
    data, _ = pg_paths()
    pid = read_pid(data / "postmaster.pid")
    return Status(
        "postgresql",
        f"{HOST}:{PG_PORT}",
        pg_answers("postgres") or pg_answers("root"),
        pid is not None,
        pid,
        str(data),
    )


def postgres_stop() -> None:
    data, _ = pg_paths()
    pid = read_pid(data / "postmaster.pid")
    if pid is None:
        return
    log(f"stopping PostgreSQL (pid {pid})")
    done = run(
        [str(pg_bin() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
        user="postgres" if is_root() else None,
    )
    if done.returncode != 0:
        raise ServiceError(f"pg_ctl stop failed: {done.stderr}")


# ------------------------------------------------------------------ MariaDB


def mariadb_answers() -> bool:
    if not port_open(MARIADB_PORT):
        return False
    admin = shutil.which("mariadb-admin") or shutil.which("mysqladmin")
    if admin is None:
        return False
    done = run(
        [admin, "-h", HOST, "-P", str(MARIADB_PORT), "-u", "root", "--connect-timeout=3", "ping"]
    )
    return done.returncode == 0


def mariadb_up() -> None:
    if mariadb_answers():
        log(f"MariaDB answers on {HOST}:{MARIADB_PORT}")
        return
    if port_open(MARIADB_PORT):
        raise ServiceError(
            f"something listens on {HOST}:{MARIADB_PORT} but root cannot log in without a password"
        )
    if not Path("/usr/sbin/mariadbd").exists() or not shutil.which("mariadb-install-db"):
        apt_install(["mariadb-server", "mariadb-client"], "MariaDB")
    base = STATE / "mariadb"
    data, logfile, pidfile = base / "data", base / "mariadb.log", base / "mariadb.pid"
    user = "root" if is_root() else pwd.getpwuid(os.geteuid()).pw_name
    if not (data / "mysql").exists():
        log(f"initialising a MariaDB data directory in {data}")
        data.mkdir(parents=True, exist_ok=True)
        done = run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={data}",
                f"--user={user}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ]
        )
        if done.returncode != 0:
            raise ServiceError(f"mariadb-install-db failed:\n{done.stdout}{done.stderr}")
    socket_path = short_dir("mariadb") / "mariadb.sock"
    log(f"starting MariaDB on {HOST}:{MARIADB_PORT} (data {data})")
    spawn(
        [
            "/usr/sbin/mariadbd",
            "--no-defaults",
            f"--datadir={data}",
            f"--port={MARIADB_PORT}",
            f"--bind-address={HOST}",
            f"--socket={socket_path}",
            f"--pid-file={base / 'mariadbd.pid'}",
            f"--log-error={logfile}",
            f"--user={user}",
            "--character-set-server=utf8mb4",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=300",
        ],
        pidfile,
        base / "stdout.log",
    )
    wait_for("MariaDB", mariadb_answers, 60, logfile)


def mariadb_status() -> Status:
    base = STATE / "mariadb"
    pid = read_pid(base / "mariadb.pid")
    return Status(
        "mariadb",
        f"{HOST}:{MARIADB_PORT}",
        mariadb_answers(),
        pid is not None,
        pid,
        str(base / "data"),
    )


def mariadb_stop() -> None:
    stop_pid("MariaDB", STATE / "mariadb" / "mariadb.pid")


# ------------------------------------------------------------------ JVM artifacts


def mvn_resolve(name: str) -> Path:
    """Copy the artifacts of jvm/NAME/pom.xml into build/jvm/NAME/ (once per pom change)."""
    pom = ROOT / "jvm" / name / "pom.xml"
    out = JARS / name
    stamp = JARS / f".{name}.resolved"
    if stamp.exists() and stamp.stat().st_mtime >= pom.stat().st_mtime and any(out.glob("*.jar")):
        return out
    if not shutil.which("mvn"):
        raise ServiceError("Maven (`mvn`) is not installed: apt-get install -y maven")
    log(f"resolving the {name} jars with Maven ({pom.relative_to(ROOT)})")
    shutil.rmtree(out, ignore_errors=True)
    done = run(["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies"])
    if done.returncode != 0:
        raise ServiceError(
            f"mvn dependency:copy-dependencies failed for {pom}:\n{done.stdout[-4000:]}"
        )
    stamp.touch()
    return out


def java_major() -> int:
    done = run(["java", "-version"])
    text = done.stderr or done.stdout
    try:
        version = text.split('"')[1]
    except IndexError as exc:
        raise ServiceError(f"`java -version` printed nothing usable: {text!r}") from exc
    major = version.split(".")[0]
    return int(version.split(".")[1]) if major == "1" else int(major)


def require_java() -> None:
    if not shutil.which("java"):
        raise ServiceError(
            "Java 17+ is needed for Kafka and Spark: apt-get install -y openjdk-17-jre-headless"
        )
    major = java_major()
    if major < 17:
        raise ServiceError(f"Java {major} found; Kafka 4 and Spark 4 need Java 17 or newer")


# ------------------------------------------------------------------ Kafka


def kafka_answers() -> bool:
    """True when the broker answers a metadata request with at least one broker."""
    if not port_open(KAFKA_PORT):
        return False
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:  # before the virtualenv exists: the port is the best we can do
        return True
    client = AdminClient({"bootstrap.servers": f"{HOST}:{KAFKA_PORT}", "log_level": 0})
    try:
        return len(client.list_topics(timeout=3).brokers) >= 1
    except Exception:
        return False


def kafka_up() -> None:
    if kafka_answers():
        log(f"Kafka answers on {HOST}:{KAFKA_PORT}")
        return
    if port_open(KAFKA_PORT) or port_open(KAFKA_CONTROLLER_PORT):
        raise ServiceError(
            f"something listens on {HOST}:{KAFKA_PORT}/{KAFKA_CONTROLLER_PORT} and is not a Kafka broker"
        )
    require_java()
    jars = mvn_resolve("kafka")
    base = STATE / "kafka"
    data, logs = base / "data", base / "logs"
    properties = base / "server.properties"
    logs.mkdir(parents=True, exist_ok=True)
    properties.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.bootstrap.servers={HOST}:{KAFKA_CONTROLLER_PORT}",
                f"listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}",
                f"advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={data}",
                "num.partitions=1",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "auto.create.topics.enable=true",
                "log.retention.hours=24",
                "",
            ]
        )
    )
    classpath = f"{jars}/*"
    java = [
        "java",
        "-Xms256m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={ROOT / 'jvm' / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={logs}",
        "-cp",
        classpath,
    ]
    if not (data / "meta.properties").exists():
        cluster_id_file = base / "cluster.id"
        if not cluster_id_file.exists():
            done = run([*java, "kafka.tools.StorageTool", "random-uuid"])
            if done.returncode != 0:
                raise ServiceError(f"kafka StorageTool random-uuid failed: {done.stderr[-2000:]}")
            cluster_id_file.write_text(done.stdout.strip().splitlines()[-1] + "\n")
        cluster_id = cluster_id_file.read_text().strip()
        log(f"formatting Kafka storage in {data} (cluster {cluster_id})")
        done = run(
            [
                *java,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(properties),
                "--ignore-formatted",
            ]
        )
        if done.returncode != 0:
            raise ServiceError(
                f"kafka StorageTool format failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
    log(f"starting Kafka on {HOST}:{KAFKA_PORT} (KRaft, data {data})")
    spawn([*java, "kafka.Kafka", str(properties)], base / "kafka.pid", logs / "stdout.log")
    wait_for("Kafka", kafka_answers, 90, logs / "server.log")


def kafka_status() -> Status:
    base = STATE / "kafka"
    pid = read_pid(base / "kafka.pid")
    return Status("kafka", f"{HOST}:{KAFKA_PORT}", kafka_answers(), pid is not None, pid, str(base))


def kafka_stop() -> None:
    stop_pid("Kafka", STATE / "kafka" / "kafka.pid", grace=45)


# ------------------------------------------------------------------ Spark


def spark_up() -> None:
    """Java 17+, the Delta/Kafka/JDBC jars, and one local[2] session that writes Delta."""
    require_java()
    jars = mvn_resolve("spark")
    stamp = STATE / "spark-check.ok"
    inputs = [
        ROOT / "jvm" / "spark" / "pom.xml",
        ROOT / "requirements" / "dev.txt",
        JARS / ".spark.resolved",
    ]
    if stamp.exists() and all(
        stamp.stat().st_mtime >= p.stat().st_mtime for p in inputs if p.exists()
    ):
        log("Spark: local session with Delta checked before (build/services/spark-check.ok)")
        return
    log("Spark: starting a local[2] session with the Delta jars (about 15 s)")
    done = run([sys.executable, str(ROOT / "scripts" / "spark_check.py"), str(jars)], timeout=300)
    if done.returncode != 0:
        raise ServiceError(
            f"the local Spark session with Delta failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    log(f"Spark: {done.stdout.strip().splitlines()[-1]}")
    STATE.mkdir(parents=True, exist_ok=True)
    stamp.touch()


def spark_home() -> Path:
    done = run(
        [sys.executable, "-c", "import pyspark, os; print(os.path.dirname(pyspark.__file__))"]
    )
    if done.returncode != 0:
        raise ServiceError(
            "pyspark is not installed in this Python: run `make services` (it installs .[spark])"
        )
    return Path(done.stdout.strip())


def spark_cluster_up() -> None:
    require_java()
    pyspark = spark_home()
    base = STATE / "spark-cluster"
    # The worker launches executors from $SPARK_HOME/jars only when $SPARK_HOME/RELEASE
    # exists (a distribution); pyspark's folder has none, so give the daemons a home of
    # their own that links pyspark's jars.
    home = base / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "RELEASE").write_text(f"Spark from pyspark at {pyspark} (lakegate services)\n")
    jars = home / "jars"
    if jars.is_symlink() and jars.resolve() != (pyspark / "jars").resolve():
        jars.unlink()
    if not jars.exists():
        jars.symlink_to(pyspark / "jars")
    java = ["java", "-Xmx512m", "-cp", f"{jars}/*"]
    os.environ["SPARK_HOME"] = str(home)
    os.environ["SPARK_SCALA_VERSION"] = "2.13"  # else the launcher looks for a source build
    if not port_open(SPARK_MASTER_PORT):
        log(f"starting a Spark master on spark://{HOST}:{SPARK_MASTER_PORT}")
        spawn(
            [
                *java,
                "org.apache.spark.deploy.master.Master",
                "--host",
                HOST,
                "--port",
                str(SPARK_MASTER_PORT),
                "--webui-port",
                str(SPARK_MASTER_UI),
            ],
            base / "master.pid",
            base / "master.log",
        )
        wait_for("Spark master", lambda: port_open(SPARK_MASTER_PORT), 60, base / "master.log")
    if read_pid(base / "worker.pid") is None:
        log("starting a Spark worker (2 cores, 2 GiB)")
        spawn(
            [
                *java,
                "org.apache.spark.deploy.worker.Worker",
                "--host",
                HOST,
                "--cores",
                "2",
                "--memory",
                "2g",
                "--webui-port",
                str(SPARK_WORKER_UI),
                "--work-dir",
                str(base / "work"),
                f"spark://{HOST}:{SPARK_MASTER_PORT}",
            ],
            base / "worker.pid",
            base / "worker.log",
        )
        wait_for(
            "Spark worker",
            lambda: "Successfully registered with master" in _text(base / "worker.log"),
            60,
            base / "worker.log",
        )


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def spark_cluster_stop() -> None:
    base = STATE / "spark-cluster"
    stop_pid("Spark worker", base / "worker.pid")
    stop_pid("Spark master", base / "master.pid")


def spark_status() -> list[Status]:
    base = STATE / "spark-cluster"
    stamp = STATE / "spark-check.ok"
    local = Status(
        "spark-local",
        "local[*]",
        stamp.exists(),
        False,
        None,
        f"jars {JARS / 'spark'}" + ("" if stamp.exists() else " (not checked: make services)"),
    )
    master = read_pid(base / "master.pid")
    worker = read_pid(base / "worker.pid")
    cluster = Status(
        "spark-cluster",
        f"spark://{HOST}:{SPARK_MASTER_PORT}",
        port_open(SPARK_MASTER_PORT),
        master is not None,
        master,
        f"worker pid {worker}" if worker else "no worker (make spark-cluster)",
    )
    return [local, cluster]


# ------------------------------------------------------------------ tools


# Command -> Debian package, for the tests that run them: promtool checks metrics and alert
# rules; headless Chromium renders the HTML report and the dashboard.
TOOLS = {"promtool": "prometheus", "chromium": "chromium"}


def tools_up() -> None:
    missing = [package for command, package in TOOLS.items() if not shutil.which(command)]
    if missing:
        apt_install(missing, "the tests' tools (" + ", ".join(TOOLS) + ")")
    log("tools: " + ", ".join(f"{c} {shutil.which(c)}" for c in TOOLS))


# ------------------------------------------------------------------ commands

UP: dict[str, Callable[[], None]] = {
    "tools": tools_up,
    "postgres": postgres_up,
    "mariadb": mariadb_up,
    "kafka": kafka_up,
    "spark": spark_up,
}


@contextlib.contextmanager
def timed(name: str) -> Iterator[None]:
    start = time.monotonic()
    yield
    log(f"{name} ready in {time.monotonic() - start:.1f} s")


def cmd_up(names: list[str]) -> int:
    failures = []
    for name in names or list(UP):
        try:
            with timed(name):
                UP[name]()
        except ServiceError as exc:
            failures.append(name)
            print(f"services: {name} FAILED: {exc}", file=sys.stderr, flush=True)
    return 1 if failures else 0


def all_status() -> list[Status]:
    return [postgres_status(), mariadb_status(), kafka_status(), *spark_status()]


def cmd_status(fmt: str) -> int:
    statuses = all_status()
    if fmt == "json":
        print(json.dumps([asdict(s) for s in statuses], indent=2))
        return 0
    print(f"{'service':<14} {'address':<24} {'state':<9} {'started by':<16} detail")
    for s in statuses:
        state = "running" if s.running else "down"
        if s.name == "spark-local":
            by = "no daemon"
        elif s.started_here:
            by = f"make (pid {s.pid})"
        else:
            by = "someone else" if s.running else "-"
        print(f"{s.name:<14} {s.address:<24} {state:<9} {by:<16} {s.detail}")
    return 0


def cmd_stop() -> int:
    spark_cluster_stop()
    kafka_stop()
    mariadb_stop()
    postgres_stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="install and start services (all when none is named)")
    up.add_argument("names", nargs="*", metavar="SERVICE", help=f"any of: {', '.join(UP)}")
    status = sub.add_parser("status", help="what runs where")
    status.add_argument("--format", choices=["table", "json"], default="table")
    sub.add_parser("stop", help="stop what `up` started (by pid file)")
    cluster = sub.add_parser("spark-cluster", help="a standalone Spark master and worker")
    cluster.add_argument("action", nargs="?", choices=["up", "stop"], default="up")
    args = parser.parse_args(argv)
    for name in getattr(args, "names", []) or []:
        if name not in UP:
            parser.error(f"unknown service {name!r}; choose from {', '.join(UP)}")
    try:
        if args.command == "up":
            return cmd_up(args.names)
        if args.command == "status":
            return cmd_status(args.format)
        if args.command == "stop":
            return cmd_stop()
        if args.action == "stop":
            spark_cluster_stop()
            return 0
        spark_cluster_up()
        return 0
    except ServiceError as exc:
        print(f"services: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
