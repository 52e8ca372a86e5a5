"""The real components `make services` starts answer as the tests and the demo expect."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import pymysql
import pytest

from lakegate.engines.spark_jars import artifact_name, pyspark_jars_dir, session_jars

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "scripts" / "services.py"


@pytest.mark.parametrize("user", ["postgres", "root"])
def test_postgresql_lets_both_superusers_in_on_loopback(user: str) -> None:
    with psycopg.connect(host="127.0.0.1", port=5432, user=user, dbname="postgres") as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (user, True)


def test_mariadb_lets_root_in_without_a_password() -> None:
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3)
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        (version,) = cur.fetchone()
    conn.close()
    assert "MariaDB" in version


def test_kafka_broker_round_trips_messages_with_their_offsets() -> None:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"lakegate.services.{secrets.token_hex(4)}"
    admin = AdminClient({"bootstrap.servers": "127.0.0.1:9092"})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": "127.0.0.1:9092", "enable.idempotence": True})
    for i in range(100):
        producer.produce(topic, key=str(i % 2), value=json.dumps({"n": i}), partition=i % 2)
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": "127.0.0.1:9092",
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen: dict[int, list[int]] = {0: [], 1: []}
    values = set()
    try:
        for _ in range(300):
            message = consumer.poll(1.0)
            if message is None or message.error():
                if sum(map(len, seen.values())) == 100:
                    break
                continue
            seen[message.partition()].append(message.offset())
            values.add(json.loads(message.value())["n"])
    finally:
        consumer.close()
        admin.delete_topics([topic])
    assert values == set(range(100))
    assert seen == {0: list(range(50)), 1: list(range(50))}


def test_spark_jars_leave_out_what_pyspark_ships() -> None:
    jars = session_jars()
    names = {artifact_name(j.name) for j in jars}
    assert {
        "delta-spark_4.1_2.13",
        "delta-storage",
        "spark-sql-kafka-0-10_2.13",
        "postgresql",
    } <= names
    shipped = {artifact_name(p.name) for p in pyspark_jars_dir().glob("*.jar")}  # type: ignore[union-attr]
    assert not names & shipped
    assert artifact_name("jackson-core-2.13.5.jar") == "jackson-core"
    assert artifact_name("delta-spark_4.1_2.13-4.4.0.jar") == "delta-spark_4.1_2.13"


def test_status_reports_what_runs_where_as_json() -> None:
    done = subprocess.run(
        [sys.executable, str(SERVICES), "status", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    by_name = {s["name"]: s for s in json.loads(done.stdout)}
    for name, address in [
        ("postgresql", "127.0.0.1:5432"),
        ("mariadb", "127.0.0.1:3306"),
        ("kafka", "127.0.0.1:9092"),
    ]:
        assert by_name[name]["running"], by_name[name]
        assert by_name[name]["address"] == address


def test_stop_leaves_alone_what_it_did_not_start(tmp_path: Path) -> None:
    # A process recorded nowhere under build/services/ survives `stop_pid` of another file.
    sys.path.insert(0, str(SERVICES.parent))
    try:
        import services  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pidfile = tmp_path / "ours.pid"
        pidfile.write_text(f"{ours.pid}\n")
        services.stop_pid("test", pidfile, grace=10)
        assert ours.wait(10) is not None
        assert other.poll() is None
        assert not pidfile.exists()
        # A pid file naming a dead process is cleared without signalling anyone.
        pidfile.write_text("999999999\n")
        services.stop_pid("test", pidfile)
        assert not pidfile.exists()
    finally:
        other.kill()
        ours.kill()
        other.wait()
