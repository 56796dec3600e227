"""SQLiteStore on real SQLite files: behaviour, faults, and many processes at once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from hammer_worker import key_of, make_value, value_ok

from prosa.cache.stores import EntryInfo, SQLiteStore, Store
from prosa.cache.stores.sqlite import SCHEMA_VERSION
from prosa.errors import CacheError

WORKER = Path(__file__).with_name("hammer_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def k(name: object) -> str:
    return key_of(str(name))


class FakeClock:
    """A unix clock that moves only when told to (or by ``step`` per call, for distinct times)."""

    def __init__(self, now: float = 1_000_000.0, step: float = 0.0) -> None:
        self.now, self.step = now, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def worker(*args: str, python: str = sys.executable, **kwargs: Any) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [python, str(WORKER), *args], env=env, stdout=subprocess.PIPE, text=True, **kwargs
    )


AS_NOBODY: dict[str, Any] = {"user": 65534, "group": 65534, "extra_groups": [], "cwd": "/"}


def python_for_nobody() -> str | None:
    """A Python that user nobody may run (a venv's can point into root's home) and import prosa with."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for python in dict.fromkeys([sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"]):
        try:
            probe = subprocess.run(
                [python, "-c", "import prosa.cache.stores"],
                env=env,
                capture_output=True,
                timeout=30,
                **AS_NOBODY,
            )
        except OSError:
            continue
        if probe.returncode == 0:
            return python
    return None


def run_worker(*args: str, timeout: float = 60, **kwargs: Any) -> str:
    proc = worker(*args, **kwargs)
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def check_file(path: Path) -> int:
    """Assert the file is sound, every value whole and the running totals right; return the entry count."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute("SELECT key, value, size FROM entries").fetchall()
        for key, value, size in rows:
            assert value_ok(key, value), f"torn or misplaced value under {key}"
            assert size == len(value)
        totals = conn.execute("SELECT entries, bytes FROM totals").fetchone()
        assert totals == (len(rows), sum(size for _, _, size in rows))
        return len(rows)
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "cache.db"


def test_basic_operations(db: Path) -> None:
    with SQLiteStore(db) as store:
        assert isinstance(store, Store)
        assert store.url == f"sqlite://{db}" and store.url.startswith("sqlite:///")
        assert store.get(k(1)) is None
        store.put(k(1), b"one")
        store.put(k(2), memoryview(b"two"))
        store.put(k(1), b"uno")  # replaced, not duplicated
        assert store.get(k(1)) == b"uno" and store.get(k(2)) == b"two"
        assert store.delete(k(2)) is True and store.delete(k(2)) is False
        assert store.get(k(2)) is None
        info = store.info()
        assert info["url"] == store.url and info["path"] == str(db)
        assert (info["entries"], info["bytes"]) == (1, 3)
        assert info["file_bytes"] > 0
        with pytest.raises(ValueError):
            store.put("not-a-key", b"x")
    with pytest.raises(CacheError, match="closed"):
        store.get(k(1))
    with SQLiteStore(db) as again:
        assert again.get(k(1)) == b"uno"


def test_ttl_expiry_with_a_fake_clock(db: Path) -> None:
    clock = FakeClock()
    with SQLiteStore(db, ttl=10, clock=clock) as store:
        store.put(k("default"), b"d")
        store.put(k("long"), b"l", ttl=100)
        clock.advance(9.5)
        assert store.get(k("default")) == b"d"
        clock.advance(0.5)
        assert store.get(k("default")) is None
        assert store.get(k("long")) == b"l"
        assert [e.key for e in store.scan()] == [k("long")]
        assert store.info()["entries"] == 2  # the expired entry is still on disk until pruned
        assert store.prune(older_than=0) == 1
        assert store.info()["entries"] == 1
        with pytest.raises(ValueError):
            store.put(k("x"), b"x", ttl=-1)


def test_scan_prune_clear(db: Path) -> None:
    clock = FakeClock()
    t0 = clock.now
    with SQLiteStore(db, clock=clock) as store:
        for i in range(5):  # entry i is created at t0 + 10 * i
            store.put(k(i), b"x" * (i + 1))
            clock.advance(10)
        assert [e.key for e in store.scan()] == [k(i) for i in (4, 3, 2, 1, 0)]
        assert [e.key for e in store.scan(limit=2)] == [k(4), k(3)]
        clock.advance(5)
        store.get(k(0))  # read but not yet written: scan still shows the read
        assert store.scan()[-1] == EntryInfo(k(0), 1, t0, t0 + 55, None)
        assert store.prune(older_than=t0 + 15) == 2
        assert sorted(e.key for e in store.scan()) == sorted(k(i) for i in (2, 3, 4))
        assert store.clear() == 3
        assert store.scan() == [] and (store.info()["entries"], store.info()["bytes"]) == (0, 0)


def test_counters_are_batched_and_persist(db: Path) -> None:
    with SQLiteStore(db) as one, SQLiteStore(db) as two:
        one.incr({"hits": 1, "tokens_saved": 100})
        two.incr({"hits": 2})
        assert one.counters() == {"hits": 1, "tokens_saved": 100}  # its own pending deltas
        one.flush()
        two.flush()
        assert one.counters() == {"hits": 3, "tokens_saved": 100}
        one.clear()
        assert two.counters()["hits"] == 3  # clear removes entries, not statistics
    with SQLiteStore(db) as again:
        assert again.counters() == {"hits": 3, "tokens_saved": 100}


def test_lru_eviction_past_max_size(db: Path) -> None:
    clock = FakeClock(step=0.001)  # every call a distinct time, so the LRU order is exact
    value = b"v" * 4096
    with SQLiteStore(db, max_size_mb=0.05, clock=clock) as store:  # 52428 bytes: 12 values fit
        for i in range(10):
            store.put(k(i), value)
        assert store.get(k(0)) == value and store.get(k(1)) == value  # read: now most recent
        store.flush()  # write the reads, as another process would see them
        for i in range(10, 18):
            store.put(k(i), value)
        info = store.info()
        assert info["bytes"] <= store.max_bytes == 52428 and info["entries"] == 12
        present = {i for i in range(18) if store.get(k(i)) is not None}
        assert present == {0, 1, *range(8, 18)}  # 2..7 were least recently used
    assert sqlite3.connect(db).execute("SELECT sum(size), count(*) FROM entries").fetchone() == (
        12 * 4096,
        12,
    )


def test_eviction_sees_reads_not_yet_flushed(db: Path) -> None:
    clock = FakeClock(step=0.001)
    with SQLiteStore(db, max_size_mb=0.05, clock=clock) as store:
        for i in range(12):
            store.put(k(i), b"v" * 4096)
        store.get(k(0))  # batched in memory; the next put writes it before evicting
        store.put(k(12), b"v" * 4096)
        assert store.get(k(0)) is not None and store.get(k(1)) is None


def test_value_larger_than_the_cap_is_kept_alone(db: Path) -> None:
    with SQLiteStore(db, max_size_mb=0.01) as store:
        store.put(k(1), b"a" * 1000)
        store.put(k(2), b"b" * 20_000)
        assert store.get(k(1)) is None and store.get(k(2)) == b"b" * 20_000


def test_files_are_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "cache.db"
    old = os.umask(0)  # even with a permissive umask
    try:
        store = SQLiteStore(db)
        store.put(k(1), b"secret answer")
        for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
            assert stat.S_IMODE((db.parent / name).stat().st_mode) == 0o600, name
        assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
        store.close()
    finally:
        os.umask(old)


def test_persists_across_processes(db: Path) -> None:
    run_worker("put", str(db), k("answer"), b"forty-two".hex())  # exits without close()
    result = json.loads(run_worker("get", str(db), k("answer")))
    assert bytes.fromhex(result["value"]) == b"forty-two"
    assert result["counters"] == {"hits": 2, "tokens_saved": 40}  # written by the atexit flush


def test_newer_schema_is_refused(db: Path) -> None:
    SQLiteStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CacheError, match="upgrade prosa") as caught:
        SQLiteStore(db)
    assert str(db) in str(caught.value) and "\n" not in str(caught.value)


def test_other_sqlite_database_is_refused(db: Path) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE mine (x)")
    conn.commit()
    conn.close()
    with pytest.raises(CacheError, match="not a prosa cache"):
        SQLiteStore(db)
    assert sqlite3.connect(db).execute("SELECT name FROM sqlite_master").fetchall() == [("mine",)]


def test_corrupt_file(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is no database, just some junk\n" * 200)
    with pytest.raises(CacheError) as caught:
        SQLiteStore(db)
    message = str(caught.value)
    assert message.startswith(f"cache file {db} is not a valid SQLite database (file is not a database);")
    assert "delete it or move it away" in message and "--cache" in message and "\n" not in message


def test_locked_past_busy_timeout(db: Path) -> None:
    store = SQLiteStore(db, busy_timeout=0.2)
    store.put(k(1), b"kept")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CacheError, match="is locked") as caught:
            store.put(k(1), b"new")
        assert str(db) in str(caught.value)
        assert store.get(k(1)) == b"kept"  # WAL: reading goes on while another process writes
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.put(k(2), b"after")
    assert store.get(k(1)) == b"kept" and store.get(k(2)) == b"after"
    store.close()


def test_reads_go_on_while_batched_writes_wait(db: Path) -> None:
    clock = FakeClock()
    store = SQLiteStore(db, clock=clock)
    store.put(k(1), b"kept")
    store.incr({"hits": 1})
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        clock.advance(5)  # batched writes are due: the next read tries them, without waiting
        assert store.get(k(1)) == b"kept"
        store.incr({"hits": 1})
        assert store.counters() == {"hits": 2}
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.flush()
    store.close()
    assert sqlite3.connect(db).execute("SELECT value FROM counters").fetchall() == [(2.0,)]


def test_file_recreated_under_a_running_store(db: Path) -> None:
    store = SQLiteStore(db)
    store.put(k(1), b"old")
    for name in ("cache.db", "cache.db-wal", "cache.db-shm"):
        (db.parent / name).unlink(missing_ok=True)
    result: list[bytes | None] = []

    def fresh_thread() -> None:  # a new connection finds an empty file and sets it up again
        store.put(k(2), b"new")
        result.append(store.get(k(2)))

    thread = threading.Thread(target=fresh_thread)
    thread.start()
    thread.join()
    assert result == [b"new"]
    store.close()


def test_disk_full_loses_nothing(db: Path) -> None:
    store = SQLiteStore(db)
    for i in range(5):
        store.put(k(i), bytes([i]) * 2000)
    store.incr({"hits": 1})
    # SQLite reports SQLITE_FULL when a file reaches max_page_count: the same error as a full
    # disk, on this store's own connection, without filling a real disk.
    pages = store._conn().execute("PRAGMA page_count").fetchone()[0]
    store._conn().execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(CacheError, match="disk is full") as caught:
        store.put(k(0), b"z" * 200_000)
    assert str(db) in str(caught.value)
    assert [store.get(k(i)) for i in range(5)] == [bytes([i]) * 2000 for i in range(5)]
    assert store.counters() == {"hits": 1}  # the batched delta is kept for the next write
    store.close()
    with SQLiteStore(db) as again:
        assert again.get(k(0)) == bytes([0]) * 2000
        assert again.counters() == {"hits": 1}


def test_read_only_flag(db: Path) -> None:
    with SQLiteStore(db) as store:
        store.put(k(1), b"kept")
    with SQLiteStore(db, read_only=True) as ro:
        assert ro.get(k(1)) == b"kept"
        assert ro.info()["entries"] == 1
        for write in (lambda: ro.put(k(1), b"new"), lambda: ro.delete(k(1)), ro.clear):
            with pytest.raises(CacheError, match="read-only"):
                write()
        ro.incr({"hits": 1})
        ro.flush()  # nothing it can write; must not raise
    with SQLiteStore(db) as store:
        assert store.get(k(1)) == b"kept"


def test_read_only_missing_file(db: Path) -> None:
    with pytest.raises(CacheError, match="cannot be opened"):
        SQLiteStore(db, read_only=True)
    assert not db.exists()


def test_read_only_file_and_directory() -> None:
    """Real permissions: 0444 file in a 0555 directory. Root ignores permissions, so as root the
    reader runs in a subprocess as user nobody; otherwise it runs here."""
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="prosa-ro-"))  # not under tmp_path, which nobody cannot enter
    try:
        base.chmod(0o755)
        directory = base / "ro"
        db = directory / "cache.db"
        with SQLiteStore(db) as store:
            store.put(k(1), make_value(k(1), b"kept"))
        assert not Path(f"{db}-wal").exists()  # the last close removes the WAL files
        db.chmod(0o444)
        directory.chmod(0o555)
        if as_root:
            python = python_for_nobody()
            if python is None:
                pytest.skip("no Python that user nobody can run with prosa importable")
            out = run_worker("read_only", str(db), k(1), python=python, **AS_NOBODY)
            result = json.loads(out)
        else:
            result = {}
            store = SQLiteStore(db)
            value = store.get(k(1))
            result["value"] = None if value is None else value.hex()
            with pytest.raises(CacheError) as caught:
                store.put(k(1), b"overwritten")
            result["put_error"] = str(caught.value)
            store.close()
        assert "error" not in result, result
        assert bytes.fromhex(result["value"]) == make_value(k(1), b"kept")
        assert result["put_error"].startswith(f"cache file {db} is read-only")
        directory.chmod(0o755)
        assert check_file(db) == 1
    finally:
        for path in (base / "ro", base / "ro" / "cache.db"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_threads_do_not_leak_connections(db: Path) -> None:
    store = SQLiteStore(db)
    store.put(k(1), b"x")
    fds_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    for _ in range(30):
        thread = threading.Thread(target=store.get, args=(k(1),))
        thread.start()
        thread.join()
    assert len(store._conns) <= 2  # a finished thread's connection closes with its thread-local
    if fds_before is not None:
        assert len(os.listdir("/proc/self/fd")) <= fds_before + 6
    store.close()


def test_fork_gives_the_child_its_own_connection(db: Path) -> None:
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    result = json.loads(run_worker("fork", str(db)))
    assert result == {
        "child_status": 0,
        "child_value_ok": True,
        "parent_value_ok": True,
        "counters": {"child": 1},
    }
    assert check_file(db) == 2


def test_hammer_many_processes_and_threads(db: Path) -> None:
    """8 processes x 4 threads of mixed gets/puts/deletes/counters over 300 shared keys, with eviction."""
    procs = [worker("hammer", str(db), "2.5", "4", str(seed), "0.5") for seed in range(8)]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        results.append(json.loads(out))
    for result in results:
        assert result["error_count"] == 0, result["errors"]
        assert result["bad"] == 0
    assert sum(r["puts"] for r in results) > 100 and sum(r["hits"] for r in results) > 100
    check_file(db)
    with SQLiteStore(db) as store:
        assert store.counters() == {"ops": sum(r["incr"] for r in results)}  # not one delta lost
        assert store.info()["bytes"] <= 512 * 1024 + 16_096  # the cap, plus at most the newest value


def test_kill_during_writes_leaves_a_sound_file(db: Path) -> None:
    """SIGKILL a process in the middle of large puts, three times: every reported put survives whole."""
    done: list[str] = []
    for round_ in range(3):
        proc = worker("writer", str(db), f"round{round_}")
        assert proc.stdout is not None
        for _ in range(4 + 3 * round_):
            line = proc.stdout.readline().strip()
            assert line, "the writer stopped before reporting progress"
            done.append(line)
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
        done.extend(rest.split())  # puts that finished between the last read and the kill
        assert proc.returncode == -signal.SIGKILL
        count = check_file(db)
        assert count >= len(done)
        with SQLiteStore(db) as store:
            for key in done:
                value = store.get(key)
                assert value is not None and value_ok(key, value)
            # Each put also writes the counter delta batched before it, so at most the last is lost.
            assert count - (round_ + 1) <= store.counters()["writes"] <= count
