"""A gateway shared by several teams (issue 13): a keys file, each key a tenant with its own cache,
per-request cache controls as headers, per-tenant numbers. Through the real openai SDK."""

from __future__ import annotations

import json
import uuid

import httpx
import openai
import pytest

from prosa.cache import SQLiteStore
from prosa.cache.entry import read_entry
from tests.servers.gateway_proc import Gateway, start_gateway
from tests.support import run_prosa

KEYS = {  # name -> gateway-key create options
    "team-a": [],
    "team-b": ["--model", "ok", "--model", "echo*"],
    "lab-1": ["--namespace", "lab"],
    "lab-2": ["--namespace", "lab"],
    "tight": ["--rpm", "2"],
    "ops": ["--admin"],
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("keys") / "keys.toml"
    out = {"path": path}
    for name, options in KEYS.items():
        made = run_prosa("gateway-key", "create", name, "--keys", str(path), *options)
        assert made.returncode == 0, made.stderr
        out[name] = made.stdout.strip()
        assert out[name].startswith("prosa-") and len(made.stdout.splitlines()) == 1  # shown once, alone
    return out


@pytest.fixture(scope="module")
def gw(keys, scripted_upstream, tmp_path_factory) -> Gateway:
    home = tmp_path_factory.mktemp("gw-tenants")
    gateway = start_gateway(
        home, "--upstream", scripted_upstream.base_url, "--keys", str(keys["path"]),
        "--cache", str(home / "answers.db"), env={"OPENAI_API_KEY": "sk-gateway-upstream"},
    )  # fmt: skip
    yield gateway
    gateway.stop()


def sdk(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key=key, max_retries=0)


def ask(client: openai.OpenAI, question: str, model: str = "ok", **headers: str):
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": question}], extra_headers=headers or None
    )


def q() -> str:
    return f"Name a colour ({uuid.uuid4().hex[:8]})"


def test_the_keys_file_holds_digests_never_keys(keys):
    text = keys["path"].read_text()
    for name in KEYS:
        assert keys[name] not in text and f'name = "{name}"' in text
    assert text.count("sha256 = ") == len(KEYS)
    listed = run_prosa("gateway-key", "list", "--keys", str(keys["path"]))
    assert listed.returncode == 0 and "team-b\tnamespace=team-b\tmodels=ok,echo*" in listed.stdout
    again = run_prosa("gateway-key", "create", "team-a", "--keys", str(keys["path"]))
    assert again.returncode == 2 and "already has a key named 'team-a'" in again.stderr


def test_a_tenant_never_reads_another_tenants_answers(gw, keys, scripted_upstream):
    question = q()
    before = scripted_upstream.count()
    a, b = sdk(gw, keys["team-a"]), sdk(gw, keys["team-b"])
    assert ask(a, question).headers["x-prosa-cache"] == "miss"
    hit = ask(a, question)
    assert hit.headers["x-prosa-cache"] == "hit" and int(hit.headers["age"]) >= 0
    assert ask(b, question).headers["x-prosa-cache"] == "miss"  # the same question under another key
    assert ask(b, question).headers["x-prosa-cache"] == "hit"
    streamed = b.chat.completions.with_raw_response.create(
        model="ok", messages=[{"role": "user", "content": question}], stream=True
    )
    assert streamed.headers["x-prosa-cache"] == "hit" and "age" in streamed.headers
    assert scripted_upstream.count() - before == 2


def test_keys_sharing_a_namespace_share_answers(gw, keys):
    question = q()
    assert ask(sdk(gw, keys["lab-1"]), question).headers["x-prosa-cache"] == "miss"
    assert ask(sdk(gw, keys["lab-2"]), question).headers["x-prosa-cache"] == "hit"
    assert ask(sdk(gw, keys["team-a"]), question).headers["x-prosa-cache"] == "miss"


def test_a_namespace_header_is_a_cache_inside_the_tenant(gw, keys):
    question, a = q(), sdk(gw, keys["team-a"])
    assert ask(a, question, **{"x-prosa-namespace": "eval-1"}).headers["x-prosa-cache"] == "miss"
    assert ask(a, question, **{"x-prosa-namespace": "eval-1"}).headers["x-prosa-cache"] == "hit"
    assert ask(a, question).headers["x-prosa-cache"] == "miss"
    # Another tenant naming the same namespace is still in its own cache.
    assert (
        ask(sdk(gw, keys["team-b"]), question, **{"x-prosa-namespace": "eval-1"}).headers["x-prosa-cache"]
        == "miss"
    )


def test_max_age_ttl_and_only_if_cached(gw, keys, scripted_upstream):
    question, a = q(), sdk(gw, keys["team-a"])
    before = scripted_upstream.count()
    with pytest.raises(openai.APIStatusError) as caught:
        ask(a, question, **{"cache-control": "only-if-cached"})
    assert caught.value.status_code == 504 and caught.value.body["code"] == "not_cached"
    assert scripted_upstream.count() == before  # never upstream
    first = ask(a, question, **{"x-prosa-ttl": "120"})
    assert first.headers["x-prosa-cache"] == "miss"
    key = _key_of(gw, question)
    store = SQLiteStore(gw.home / "answers.db")
    info = next(i for i in store.scan() if i.key == key)
    assert round(info.expires - info.created) == 120
    assert ask(a, question, **{"cache-control": "only-if-cached"}).headers["x-prosa-cache"] == "hit"
    entry = read_entry(store.get(key))
    entry.created -= 600  # as if stored ten minutes ago
    store.put(key, entry.encode())
    old = ask(a, question, **{"cache-control": "max-age=3600"})
    assert old.headers["x-prosa-cache"] == "hit" and int(old.headers["age"]) >= 600
    assert ask(a, question, **{"cache-control": "max-age=60"}).headers["x-prosa-cache"] == "miss"
    fresh = ask(a, question, **{"cache-control": "max-age=60"})  # the stale answer was overwritten
    assert fresh.headers["x-prosa-cache"] == "hit" and int(fresh.headers["age"]) < 600
    assert scripted_upstream.count() - before == 2
    store.close()


def _key_of(gw: Gateway, question: str) -> str:
    """The key of the newest entry whose question is ``question`` (read through the CLI, as an operator)."""
    out = run_prosa("cache", "--cache", str(gw.home / "answers.db"), "list", "--json", "--limit", "100")
    return next(
        json.loads(line)["key"]
        for line in out.stdout.splitlines()
        if json.loads(line)["question"] == question
    )


@pytest.mark.parametrize(
    ("headers", "param"),
    [({"cache-control": "max-age=soon"}, "cache-control"), ({"x-prosa-ttl": "-5"}, "x-prosa-ttl"),
     ({"x-prosa-ttl": "0"}, "x-prosa-ttl"), ({"x-prosa-namespace": "../other"}, "x-prosa-namespace")],
)  # fmt: skip
def test_invalid_control_headers_are_400s_naming_the_header(gw, keys, headers, param):
    with pytest.raises(openai.BadRequestError) as caught:
        ask(sdk(gw, keys["team-a"]), q(), **headers)
    error = caught.value.body
    assert error["param"] == param and param.lower() in error["message"].lower()


def test_models_and_rate_limits_per_key(gw, keys, scripted_upstream):
    b = sdk(gw, keys["team-b"])
    with pytest.raises(openai.PermissionDeniedError) as caught:
        ask(b, q(), model="drip")
    assert caught.value.body["code"] == "model_not_allowed" and caught.value.body["param"] == "model"
    assert ask(b, q(), model="echo").headers["x-prosa-cache"] == "miss"  # "echo*" allows it
    assert [m.id for m in b.models.list()] == ["ok"]  # "local" and the rest are not this key's
    tight = sdk(gw, keys["tight"])
    ask(tight, q())
    ask(tight, q())
    with pytest.raises(openai.RateLimitError) as limited:
        ask(tight, q())
    assert int(limited.value.response.headers["retry-after"]) >= 1
    assert "'tight'" in limited.value.body["message"] and "per minute" in limited.value.body["message"]


def test_numbers_by_tenant_and_no_key_in_them(gw, keys):
    a, b = sdk(gw, keys["team-a"]), sdk(gw, keys["team-b"])
    question = q()
    ask(a, question)
    ask(a, question)
    auth_a = {"Authorization": f"Bearer {keys['team-a']}"}
    own = httpx.get(f"{gw.url}/prosa/stats", headers=auth_a).json()
    assert own["tenant"] == "team-a" and own["tenants"] == ["team-a"]
    assert own["cache"]["hits"] >= 1 and own["gateway"]["hits"] >= 1
    assert httpx.get(f"{gw.url}/prosa/stats?tenant=team-b", headers=auth_a).status_code == 403
    assert httpx.get(f"{gw.url}/metrics", headers=auth_a).status_code == 403
    ops = {"Authorization": f"Bearer {keys['ops']}"}
    other = httpx.get(f"{gw.url}/prosa/stats?tenant=team-b", headers=ops).json()
    assert other["tenant"] == "team-b" and other["cache"]["hits"] < own["cache"]["hits"] + 100
    assert sorted(httpx.get(f"{gw.url}/prosa/stats", headers=ops).json()["tenants"]) == sorted(KEYS)
    ask(b, q())
    hits_a = gw.metric('prosa_gateway_tenant_cache_total{tenant="team-a",result="hit"}', ops)
    assert hits_a >= 1
    assert gw.metric('prosa_gateway_tenant_requests_total{tenant="team-b"}', ops) >= 1
    metrics = httpx.get(f"{gw.url}/metrics", headers=ops).text
    stats = httpx.get(f"{gw.url}/prosa/stats", headers=ops).text
    for name in KEYS:
        assert keys[name] not in metrics + stats + gw.log()
    for path in gw.home.glob("answers.db*"):
        data = path.read_bytes()
        assert not any(keys[name].encode() in data for name in KEYS)


def test_the_cli_sees_one_tenant_at_a_time(gw, keys):
    db = str(gw.home / "answers.db")
    a_question, b_question = q(), q()
    ask(sdk(gw, keys["team-a"]), a_question)
    ask(sdk(gw, keys["team-b"]), b_question)
    listed_b = run_prosa("cache", "--cache", db, "list", "--namespace", "team-b", "--json", "--limit", "1000")
    questions_b = [json.loads(line)["question"] for line in listed_b.stdout.splitlines()]
    assert b_question in questions_b and a_question not in questions_b
    stats_b = json.loads(run_prosa("cache", "--cache", db, "stats", "--namespace", "team-b", "--json").stdout)
    assert stats_b["namespace"] == "team-b" and stats_b["entries"] == len(questions_b)
    cleared = run_prosa("cache", "--cache", db, "clear", "--namespace", "team-b")
    assert cleared.returncode == 0 and f"deleted {len(questions_b)} entr" in cleared.stderr
    assert ask(sdk(gw, keys["team-b"]), b_question).headers["x-prosa-cache"] == "miss"
    assert ask(sdk(gw, keys["team-a"]), a_question).headers["x-prosa-cache"] == "hit"
    bad = run_prosa("cache", "--cache", db, "list", "--namespace", "no such")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--namespace" in bad.stderr


def test_plain_api_keys_are_anonymous_tenants_and_shared_cache_shares(scripted_upstream, tmp_path):
    for shared, expected in ((False, "miss"), (True, "hit")):
        gw = start_gateway(
            tmp_path / f"gw-{shared}", "--upstream", scripted_upstream.base_url, "--api-key", "key-one",
            "--cache", "memory", *(["--shared-cache"] if shared else []),
            env={"PROSA_GATEWAY_KEYS": "key-two", "OPENAI_API_KEY": "sk-up"},
        )  # fmt: skip
        try:
            question = q()
            assert ask(sdk(gw, "key-one"), question).headers["x-prosa-cache"] == "miss"
            assert ask(sdk(gw, "key-two"), question).headers["x-prosa-cache"] == expected
            metrics = httpx.get(f"{gw.url}/metrics", headers={"Authorization": "Bearer key-one"}).text
            names = {
                line.split('"')[1]
                for line in metrics.splitlines()
                if line.startswith("prosa_gateway_tenant_requests")
            }
            assert len(names) == 2 and all(n.startswith("key-") and len(n) == 12 for n in names)
            assert "key-one" not in metrics and "key-two" not in metrics + gw.log()
        finally:
            gw.stop()


def test_forwarded_keys_are_tenants(scripted_upstream, tmp_path):
    """--forward-key: each caller's upstream key is its tenant (named by a digest in /metrics)."""
    gw = start_gateway(tmp_path / "gw-fwd", "--forward-key", "--upstream", scripted_upstream.base_url)
    caller_a, caller_b = "sk-caller-a-31f2aa90", "sk-caller-b-77c1de02"
    try:
        a, b = sdk(gw, caller_a), sdk(gw, caller_b)
        ask(a, q())  # each key's first call goes upstream (which accepts it): then it may read its cache
        ask(b, q())
        question = q()
        assert ask(a, question).headers["x-prosa-cache"] == "miss"
        assert ask(a, question).headers["x-prosa-cache"] == "hit"
        assert ask(b, question).headers["x-prosa-cache"] == "miss"  # another caller's key: another cache
        metrics = httpx.get(f"{gw.url}/metrics").text
        assert metrics.count('prosa_gateway_tenant_requests_total{tenant="caller-') == 2
        for secret in (caller_a, caller_b):
            assert secret not in metrics + gw.log()
    finally:
        gw.stop()


def test_bad_keys_files_and_origins_are_one_line_errors(tmp_path):
    from tests.support import free_port

    bad = tmp_path / "bad.toml"
    bad.write_text('[[keys]]\nname = "x y"\nsha256 = "abc"\n')
    for args, message in ((["--keys", str(tmp_path / "none.toml")], "not found; create one with `prosa gateway-key"),
                          (["--keys", str(bad)], "key 1: name must be"),
                          (["--cors-origin", "*"], "--cors-origin takes an origin")):  # fmt: skip
        out = run_prosa("serve", "--port", str(free_port()), *args, timeout=60)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1 and message in lines[0], out.stderr


def test_semantic_hits_never_cross_tenants(keys, scripted_upstream, tmp_path):
    gw = start_gateway(
        tmp_path / "gw-sem", "--upstream", scripted_upstream.base_url, "--keys", str(keys["path"]),
        "--cache", "memory", env={"OPENAI_API_KEY": "sk-up"}, config="[cache]\nsemantic = true\n",
    )  # fmt: skip
    try:
        a, b = sdk(gw, keys["team-a"]), sdk(gw, keys["team-b"])
        assert ask(a, "What is the capital of France?").headers["x-prosa-cache"] == "miss"
        para = ask(a, "Which city is the capital of France?")
        assert para.headers["x-prosa-cache"] == "semantic-hit" and "age" in para.headers
        assert ask(b, "Which city is the capital of France?").headers["x-prosa-cache"] == "miss"
        assert (
            ask(a, "Which city is the capital of France?", **{"x-prosa-namespace": "other"}).headers[
                "x-prosa-cache"
            ]
            == "miss"
        )
    finally:
        gw.stop()


def test_embeddings_and_stored_responses_stay_with_their_tenant(gw, keys, scripted_upstream):
    a, c, lab1, lab2 = (sdk(gw, keys[n]) for n in ("team-a", "ops", "lab-1", "lab-2"))
    text = f"shared text {uuid.uuid4().hex[:8]}"
    first = a.embeddings.with_raw_response.create(model="emb", input=[text])
    assert first.headers["x-prosa-cache"] == "miss"
    assert a.embeddings.with_raw_response.create(model="emb", input=[text]).headers["x-prosa-cache"] == "hit"
    assert c.embeddings.with_raw_response.create(model="emb", input=[text]).headers["x-prosa-cache"] == "miss"
    assert (
        lab1.embeddings.with_raw_response.create(model="emb", input=[text]).headers["x-prosa-cache"] == "miss"
    )
    assert (
        lab2.embeddings.with_raw_response.create(model="emb", input=[text]).headers["x-prosa-cache"] == "hit"
    )
    own = a.embeddings.with_raw_response.create(
        model="emb", input=[text], extra_headers={"x-prosa-namespace": "exp"}
    )
    assert own.headers["x-prosa-cache"] == "miss"  # a namespace inside the tenant is its own cache too
    stored = a.responses.create(model="ok", input=text)
    assert a.responses.retrieve(stored.id).id == stored.id
    with pytest.raises(openai.NotFoundError):  # the same id under another tenant finds nothing
        c.responses.retrieve(stored.id)
    with pytest.raises(openai.NotFoundError):
        c.responses.create(model="ok", input="go on", previous_response_id=stored.id)
    answered = a.responses.with_raw_response.create(model="ok", input=text)
    assert answered.headers["x-prosa-cache"] == "hit"
    assert c.responses.with_raw_response.create(model="ok", input=text).headers["x-prosa-cache"] == "miss"
    with pytest.raises(openai.PermissionDeniedError):  # team-b's models are ok and echo*
        sdk(gw, keys["team-b"]).embeddings.create(model="emb", input=["x"])
