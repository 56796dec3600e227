"""Subprocess side of the SQLiteStore tests: run as ``python hammer_worker.py MODE DB ARGS...``.

Values are self-checking: 64 bytes of key, then sha256(key + payload), then the payload, so a
reader can tell a whole, right value from a torn or misplaced one without knowing what was written.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import threading
import time

from prosa.cache.stores import SQLiteStore
from prosa.errors import CacheError


def key_of(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def make_value(key: str, payload: bytes) -> bytes:
    return key.encode() + hashlib.sha256(key.encode() + payload).digest() + payload


def value_ok(key: str, value: bytes) -> bool:
    head, digest, payload = value[:64], value[64:96], value[96:]
    return head == key.encode() and hashlib.sha256(head + payload).digest() == digest


def hammer(db: str, seconds: float, threads: int, seed: int, max_size_mb: float) -> int:
    """Mixed reads and writes from several threads over a small, shared key space."""
    store = SQLiteStore(db, max_size_mb=max_size_mb or None)
    keys = [key_of(f"hammer-{i}") for i in range(300)]
    stats = {"ops": 0, "gets": 0, "hits": 0, "puts": 0, "incr": 0, "bad": 0}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        mine = dict.fromkeys(stats, 0)
        while time.monotonic() < deadline:
            key = rng.choice(keys)
            roll = rng.random()
            try:
                if roll < 0.5:
                    value = store.get(key)
                    mine["gets"] += 1
                    if value is not None:
                        mine["hits"] += 1
                        mine["bad"] += not value_ok(key, value)
                elif roll < 0.85:
                    size = rng.choice((50, 900, 4000, 16000))
                    store.put(key, make_value(key, rng.randbytes(rng.randint(1, size))))
                    mine["puts"] += 1
                elif roll < 0.9:
                    store.delete(key)
                elif roll < 0.97:
                    store.incr({"ops": 1})
                    mine["incr"] += 1
                else:
                    store.scan(limit=5)
                    store.info()
                mine["ops"] += 1
            except Exception as exc:  # every failure is reported, none is expected
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
        with lock:
            for name, count in mine.items():
                stats[name] += count

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    try:
        store.close()
    except Exception as exc:
        errors.append(f"close: {type(exc).__name__}: {exc}")
    print(json.dumps({**stats, "errors": errors[:5], "error_count": len(errors)}))
    return 0


def writer(db: str, prefix: str) -> int:
    """Large puts forever, one line per finished put: the test kills this process with SIGKILL."""
    store = SQLiteStore(db)
    rng = random.Random(prefix)
    for i in range(1_000_000):
        key = key_of(f"{prefix}-{i}")
        store.put(key, make_value(key, rng.randbytes(rng.randint(100_000, 1_000_000))))
        store.incr({"writes": 1})
        print(key, flush=True)
    return 0


def put(db: str, key: str, hex_value: str) -> int:
    """Put, read it back and count, then exit without close(): the atexit flush must save the counts."""
    store = SQLiteStore(db)
    store.put(key, bytes.fromhex(hex_value))
    assert store.get(key) == bytes.fromhex(hex_value)
    store.incr({"hits": 2, "tokens_saved": 40})
    return 0


def get(db: str, key: str) -> int:
    store = SQLiteStore(db)
    value = store.get(key)
    print(json.dumps({"value": None if value is None else value.hex(), "counters": store.counters()}))
    store.close()
    return 0


def read_only(db: str, key: str) -> int:
    """From a user who cannot write the file or its directory: reads work, writes fail cleanly."""
    result: dict[str, object] = {}
    try:
        store = SQLiteStore(db)
        value = store.get(key)
        result["value"] = None if value is None else value.hex()
        try:
            store.put(key, b"overwritten")
        except CacheError as exc:
            result["put_error"] = str(exc)
        store.close()
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(result))
    return 0


def fork(db: str) -> int:
    """A store used before and after os.fork(), in the parent and the child, with a busy second thread."""
    store = SQLiteStore(db)
    parent_key, child_key = key_of("parent"), key_of("child")
    store.put(parent_key, make_value(parent_key, b"from the parent"))
    ready, release = threading.Event(), threading.Event()
    busy = threading.Thread(target=lambda: (store.get(parent_key), ready.set(), release.wait()))
    busy.start()  # a second thread holding its own connection across the fork...
    # ...but idle at the fork: a thread inside a SQLite call then may hold SQLite's own mutexes,
    # which would stay locked in the child (true of any SQLite user; see the sqlite store's docs).
    ready.wait()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ok = value_ok(parent_key, store.get(parent_key) or b"")
            store.put(child_key, make_value(child_key, b"from the child"))
            store.incr({"child": 1})
            store.close()
            code = 0 if ok else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    release.set()
    busy.join()
    child_value = store.get(child_key)
    store.put(parent_key, make_value(parent_key, b"after the fork"))
    result = {
        "child_status": os.waitstatus_to_exitcode(status),
        "child_value_ok": child_value is not None and value_ok(child_key, child_value),
        "parent_value_ok": value_ok(parent_key, store.get(parent_key) or b""),
        "counters": store.counters(),
    }
    store.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "hammer":
        sys.exit(hammer(args[0], float(args[1]), int(args[2]), int(args[3]), float(args[4])))
    sys.exit({"writer": writer, "put": put, "get": get, "read_only": read_only, "fork": fork}[mode](*args))
