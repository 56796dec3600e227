"""`prosa ask` and `prosa chat`: translate flags into a Client call and render the answer."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import InvalidRequest

CHAT_HELP = "/exit or Ctrl-D to leave, /reset to start over, /system TEXT to set the system prompt, /help"


def make_client(args: argparse.Namespace) -> Any:
    """A Client for the CLI: the SQLite cache in the user cache dir unless --cache/--no-cache say otherwise."""
    from ..client import Client
    from ..config import load_settings

    settings = load_settings(
        openai_base_url=getattr(args, "base_url", None), timeout=getattr(args, "timeout", None)
    )
    cache = settings.cli_cache(getattr(args, "cache", None))
    if getattr(args, "no_cache", False):
        cache = None
    # --semantic turns semantic hits on; without it, [cache] semantic in the config file decides.
    semantic: Any = {"semantic": True} if getattr(args, "semantic", False) else {}
    return Client(model=getattr(args, "model", None), cache=cache, settings=settings, **semantic)


def params(args: argparse.Namespace) -> dict[str, Any]:
    return {
        **options(getattr(args, "option", None), getattr(args, "tools", None)),
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "top_p": args.top_p,
        "seed": args.seed,
        "stop": args.stop,
        "presence_penalty": args.presence_penalty,
        "frequency_penalty": args.frequency_penalty,
        "refresh": args.refresh,
        **cache_controls(args),
    }


def cache_controls(args: argparse.Namespace) -> dict[str, Any]:
    """--namespace, --max-age and --ttl, as Client.chat's keywords (only those given)."""
    given = {"namespace": args.namespace, "max_age": args.max_age, "ttl": args.ttl}
    return {k: v for k, v in given.items() if v is not None}


def options(pairs: list[str] | None, tools: str | None) -> dict[str, Any]:
    """``-o NAME=VALUE`` fields (VALUE as JSON when it parses, else as text) and ``--tools FILE``."""
    out: dict[str, Any] = {}
    for pair in pairs or ():
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidRequest(f"-o takes NAME=VALUE (got {pair!r}), e.g. -o tool_choice=required")
        try:
            out[name.strip()] = json.loads(text)
        except ValueError:
            out[name.strip()] = text
    if tools is not None:
        from pathlib import Path

        try:
            out["tools"] = json.loads(Path(tools).expanduser().read_text(encoding="utf-8"))
        except OSError as e:
            raise InvalidRequest(f"cannot read --tools {tools}: {e.strerror or e}", "tools") from None
        except ValueError as e:
            raise InvalidRequest(f"--tools {tools} is not JSON: {e}", "tools") from None
    return out


def render_extras(reply: Any) -> None:
    """What an answer holds besides its text, one line each: tool calls, a refusal, more choices."""
    for call in reply.tool_calls:
        _write(f"[tool call {call.id}] {call.name}({call.arguments})\n")
    if reply.refusal:
        _write(f"[refusal] {reply.refusal}\n")
    for choice in reply.choices[1:]:
        _write(f"[choice {choice.index}] {choice.text}\n")


def grounding(args: argparse.Namespace) -> dict[str, Any]:
    """The persona and data flags as Client.chat arguments (grounding is imported only when used).

    The model goes per call, so that -m overrides a persona's model.
    """
    out: dict[str, Any] = {"model": getattr(args, "model", None)}
    persona = getattr(args, "persona", None)
    paths, kbs = getattr(args, "data", None) or [], getattr(args, "kb", None) or []
    tables, sql = getattr(args, "table", None) or [], getattr(args, "sql", None) or []
    if persona is not None:
        out["persona"] = persona
    if (tables or sql) and not paths:
        raise InvalidRequest("--table and --sql need a SQLite file given with --data")
    if paths or kbs:
        from ..grounding.kb import KnowledgeBase
        from ..grounding.sources import as_sources

        out["data"] = (as_sources(paths, tables, sql) if paths else []) + [KnowledgeBase(n) for n in kbs]
    return out


def dry_run(client: Any, prompt: Any, kw: dict[str, Any], system: str | None) -> None:
    """Print the exact request that would be sent (model, messages, parameters) as JSON; call no model."""
    from ..grounding.context import ground

    call_params = {k: v for k, v in kw.items()
                   if k not in ("refresh", "model", "persona", "data", "namespace", "max_age", "ttl")}  # fmt: skip
    request, report = ground(
        client, prompt, kw.get("model"), {**call_params, "system": system}, kw.get("persona"), kw.get("data")
    )
    body = request.body()
    print(json.dumps(body, ensure_ascii=False, indent=2))
    print(f"(dry run: {report.summary()}; no model was called)", file=sys.stderr)


def read_prompt(words: list[str]) -> str:
    """The prompt from arguments, else stdin; '-' means stdin; with both, stdin is appended."""
    explicit = "-" in words
    words = [w for w in words if w != "-"]
    text = " ".join(words)
    if explicit or not words or not sys.stdin.isatty():
        if sys.stdin.isatty():
            print("(reading the question from stdin; end with Ctrl-D)", file=sys.stderr)
        piped = sys.stdin.read()
        if piped.strip():
            text = f"{text}\n\n{piped.strip()}" if text else piped.strip()
    if not text.strip():
        raise InvalidRequest("no question given: pass it as arguments or on stdin (prosa ask --help)")
    return text


def ask(args: argparse.Namespace) -> int:
    prompt = read_prompt(args.prompt)
    client = make_client(args)
    kw = {**params(args), **grounding(args)}
    try:
        if args.dry_run:
            dry_run(client, prompt, kw, args.system)
            return 0
        if args.json:
            reply = client.chat(prompt, system=args.system, **kw)
            _write(json.dumps(reply.to_dict(), ensure_ascii=False) + "\n")
            return 0
        if not args.stream:
            reply = client.chat(prompt, system=args.system, **kw)
            if reply.text or not (reply.tool_calls or reply.refusal):
                _write(reply.text + "\n")
            render_extras(reply)
            _say_if_cut(reply)
            return 0
        stream = client.chat(prompt, system=args.system, stream=True, pace=args.pace, **kw)
        with stream:
            for chunk in stream:
                _write(chunk.text)
        reply = stream.reply
        if reply.text or not (reply.tool_calls or reply.refusal):
            _write("\n")
        render_extras(reply)
        _say_if_cut(reply)
        return 0
    finally:
        client.close()


def _say_if_cut(reply: Any) -> None:
    """A cut answer looks complete on a terminal; say so (--json carries it as finish_reason)."""
    if reply.finish_reason == "length":
        print(
            f"prosa: the answer was cut at {reply.usage.completion_tokens} tokens (max_tokens, or the local "
            "model repeating itself); --max-tokens N allows a longer one",
            file=sys.stderr,
        )


def _write(text: str) -> None:
    if not text.isascii():  # lone surrogates from the upstream cannot be printed: U+FFFD
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")  # pairs rejoin
    sys.stdout.write(text)
    sys.stdout.flush()


def chat(args: argparse.Namespace) -> int:
    """A conversation: one turn per input line; the history goes with every question."""
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            import readline  # noqa: F401 - line editing and history for input()
        except ImportError:  # pragma: no cover
            pass
        print(f"prosa chat: {CHAT_HELP}")
    client = make_client(args)
    system = args.system
    history: list[dict[str, str]] = []
    kw = {**params(args), **grounding(args)}
    failed = 0
    try:
        while True:
            try:
                line = input("> ") if interactive else sys.stdin.readline()
            except KeyboardInterrupt:
                print()
                continue
            except EOFError:
                print()  # Ctrl-D leaves the cursor after the prompt; the shell's prompt goes on a new line
                break
            if not interactive and line == "":
                break
            line = line.strip()
            if not line:
                continue
            if line in ("/exit", "/quit"):
                break
            if line in ("/help", "/?"):
                _note(CHAT_HELP, interactive)
                continue
            if line == "/reset":
                history.clear()
                _note("conversation reset", interactive)
                continue
            if line.startswith("/system"):
                system = line[len("/system") :].strip() or None
                _note(f"system prompt {'set' if system else 'cleared'}", interactive)
                continue
            if line.startswith("/"):
                _note(f"unknown command {line.split()[0]}; {CHAT_HELP}", interactive)
                continue
            messages = ([{"role": "system", "content": system}] if system else []) + history
            messages.append({"role": "user", "content": line})
            answer = _turn(client, messages, args, kw)
            if answer is _FAILED:
                failed += 1
            elif answer is not None:
                history += [{"role": "user", "content": line}, {"role": "assistant", "content": answer}]
    finally:
        client.close()
    # Piped, a script reads the exit code: a turn that failed is a failure, even if later ones worked.
    return 1 if failed and not interactive else 0


_FAILED: Any = object()  # what _turn returns when the model failed (None: stopped, or a dry run)


def _turn(client: Any, messages: list[dict[str, str]], args: argparse.Namespace, kw: dict[str, Any]) -> Any:
    """One answer, streamed; Ctrl-C stops it and keeps the session (the cut answer is not kept)."""
    from ..errors import ProsaError

    try:
        if getattr(args, "dry_run", False):
            dry_run(client, messages, kw, None)
            return None
        if not args.stream:
            reply = client.chat(messages, **kw)
            _write(reply.text + "\n")
            _say_if_cut(reply)
            return reply.text  # type: ignore[no-any-return]
        stream = client.chat(messages, stream=True, **kw)
        with stream:
            for chunk in stream:
                _write(chunk.text)
        _write("\n")
        _say_if_cut(stream.reply)
        return stream.reply.text  # type: ignore[no-any-return]
    except KeyboardInterrupt:
        _write("\n")
        print("(stopped)", file=sys.stderr)
        return None
    except InvalidRequest:
        raise
    except ProsaError as e:
        # A failed turn does not end the conversation.
        print(f"prosa: {e}", file=sys.stderr)
        return _FAILED


def _note(text: str, interactive: bool) -> None:
    print(f"({text})", file=sys.stderr if not interactive else sys.stdout)
