"""Cache scopes and per-request controls through Client/AsyncClient: namespace, max_age, ttl, only_if_cached."""

from __future__ import annotations

import asyncio

import pytest

from prosa import AsyncClient, Client
from prosa.cache import MemoryStore, SQLiteStore
from prosa.cache.entry import read_entry
from prosa.errors import InvalidRequest, NotCached


def scripted(upstream, cache, **kw):
    return Client(base_url=upstream.base_url, api_key="sk-k", max_retries=0, cache=cache, **kw)


def backdate(store, key: str, seconds: float) -> None:
    """Make the entry under ``key`` look ``seconds`` older than it is (as if stored earlier)."""
    entry = read_entry(store.get(key))
    entry.created -= seconds
    store.put(key, entry.encode())


def test_a_namespace_never_reads_another_namespaces_answers(scripted_upstream, tmp_path):
    store = SQLiteStore(tmp_path / "c.db")
    team_a, team_b = (
        scripted(scripted_upstream, store, namespace="team-a"),
        scripted(scripted_upstream, store),
    )
    before = scripted_upstream.count()
    first = team_a.chat("Name a planet", model="ok")
    assert team_b.chat("Name a planet", model="ok").cached is False  # unscoped: a miss
    assert team_b.chat("Name a planet", model="ok", namespace="team-b").cached is False
    assert team_a.chat("Name a planet", model="ok").cached is True
    assert team_b.chat("Name a planet", model="ok", namespace="team-a").cached is True  # named on purpose
    assert scripted_upstream.count() - before == 3
    keys = {first.key, team_b.chat("Name a planet", model="ok").key}
    assert len(keys) == 2
    scopes = {read_entry(store.get(i.key)).scope for i in store.scan()}
    assert scopes == {"team-a", "team-b", ""}
    assert team_a.cache.scope_counters("team-a")["hits"] == 2
    b_counts = team_a.cache.scope_counters("team-b")
    assert (b_counts["hits"], b_counts["misses"]) == (0, 1)


def test_max_age_serves_only_fresh_answers_and_overwrites_stale_ones(scripted_upstream):
    store = MemoryStore()
    client = scripted(scripted_upstream, store)
    first = client.chat("Name a river", model="ok")
    backdate(store, first.key, 600)
    before = scripted_upstream.count()
    assert client.chat("Name a river", model="ok", max_age=3600).cached is True
    stale = client.chat("Name a river", model="ok", max_age=60)  # 600 s old: asked again
    assert stale.cached is False and scripted_upstream.count() - before == 1
    assert client.chat("Name a river", model="ok", max_age=60).cached is True  # overwritten: fresh now


def test_ttl_sets_the_entrys_lifetime(scripted_upstream):
    store = MemoryStore(ttl=86400)
    client = scripted(scripted_upstream, store)
    client.chat("Name a lake", model="ok", ttl=90)
    client.chat("Name a sea", model="ok")
    lifetimes = sorted(round(i.expires - i.created) for i in store.scan())
    assert lifetimes == [90, 86400]


def test_only_if_cached_never_calls_the_model(scripted_upstream):
    client = scripted(scripted_upstream, MemoryStore())
    before = scripted_upstream.count()
    with pytest.raises(NotCached) as caught:
        client.chat("Name a mountain", model="ok", only_if_cached=True)
    assert "only-if-cached" in str(caught.value) and "\n" not in str(caught.value)
    assert scripted_upstream.count() == before
    client.chat("Name a mountain", model="ok")
    assert client.chat("Name a mountain", model="ok", only_if_cached=True).cached is True
    with pytest.raises(NotCached):
        client.chat("Name a mountain", model="ok", namespace="elsewhere", only_if_cached=True)


def test_async_client_has_the_same_controls(scripted_upstream):
    async def main() -> list:
        client = AsyncClient(base_url=scripted_upstream.base_url, api_key="sk-k", cache=MemoryStore(),
                             namespace="eval-1")  # fmt: skip
        first = await client.chat("Name a city", model="ok", ttl=30)
        again = await client.chat("Name a city", model="ok")
        other = await client.chat("Name a city", model="ok", namespace="eval-2", only_if_cached=False)
        try:
            await client.chat("Name a town", model="ok", only_if_cached=True)
        except NotCached:
            missed = True
        return [first.cached, again.cached, other.cached, missed]

    assert asyncio.run(main()) == [False, True, False, True]


@pytest.mark.parametrize(
    ("kw", "param"),
    [({"namespace": "a/b"}, "namespace"), ({"namespace": ""}, "namespace"), ({"max_age": -1}, "max_age"),
     ({"ttl": 0}, "ttl"), ({"max_age": "soon"}, "max_age")],
)  # fmt: skip
def test_invalid_controls_are_one_line_errors(kw, param):
    client = Client("local", cache=MemoryStore())
    with pytest.raises(InvalidRequest) as caught:
        client.chat("hi", **kw)
    assert caught.value.param == param and "\n" not in str(caught.value)
    with pytest.raises(InvalidRequest):
        Client("local", cache=MemoryStore(), namespace="has space")
