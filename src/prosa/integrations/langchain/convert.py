"""LangChain messages to prosa's requests, and prosa's replies and chunks back to LangChain's.

Outgoing, every message LangChain has becomes the Chat Completions message it stands for, through
langchain-core's own ``convert_to_openai_messages``: an AIMessage's ``tool_calls`` (and
``invalid_tool_calls``, sent back as the model wrote them), a ToolMessage's ``tool_call_id``, content
blocks (text, ``image_url``, LangChain's standard image/audio/file blocks) as content parts.
Incoming, a reply's tool calls are parsed with ``parse_tool_call`` (``invalid_tool_calls`` when the
arguments are not JSON), a streamed delta's with ``tool_call_chunk`` (index, id, name and argument
fragments), as langchain-openai does.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ToolMessage,
    convert_to_openai_messages,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import invalid_tool_call, tool_call_chunk
from langchain_core.output_parsers.openai_tools import make_invalid_tool_call, parse_tool_call
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ...errors import InvalidRequest
from ...reply import Reply, Usage

__all__ = ["to_prosa", "result", "chunk", "last_chunk"]

# langchain-core >= 1 marks a stream's last chunk; older versions have no such field.
_HAS_POSITION = "chunk_position" in AIMessageChunk.model_fields
# Fields of an assistant message or delta kept in ``additional_kwargs``, as langchain-openai keeps
# them (``reasoning_content`` as the DeepSeek and vLLM integrations do).
_EXTRA = ("refusal", "function_call", "audio", "reasoning_content")
# Blocks of an assistant's content that record its output but are never sent back as content.
_OUTPUT_ONLY = frozenset(
    {
        "reasoning",
        "thinking",
        "reasoning_content",
        "tool_use",
        "tool_call",
        "function_call",
        "code_interpreter_call",
    }
)


def to_prosa(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """The Chat Completions messages for LangChain ``messages``; InvalidRequest for what has none."""
    out = []
    for i, message in enumerate(messages):
        # A string stays a string; a list of blocks stays a list of parts (text blocks are not joined).
        text_format = "string" if isinstance(message.content, str) else "block"
        try:
            converted = convert_to_openai_messages(message, text_format=text_format)
        except (ValueError, TypeError) as e:
            raise InvalidRequest(
                f"messages[{i}]: {str(e).splitlines()[0]} ({type(message).__name__})", f"messages[{i}]"
            ) from None
        if isinstance(message, AIMessage):
            _assistant(message, converted)
        elif isinstance(message, ToolMessage):
            # As langchain-openai sends a tool result: the name and other fields are LangChain's own.
            converted = {k: v for k, v in converted.items() if k in ("role", "content", "tool_call_id")}
        out.append(converted)
    return out


def _assistant(message: AIMessage, converted: dict[str, Any]) -> None:
    """What convert_to_openai_messages leaves out of an assistant turn, added as langchain-openai sends it."""
    content = converted.get("content")
    if isinstance(content, list):
        # The model's own reasoning and call blocks (another provider's output, or LangChain's v1
        # blocks) are not content the Chat Completions API takes back: dropped, as langchain-openai does.
        converted["content"] = [p for p in content if p.get("type") not in _OUTPUT_ONLY] or None
    calls = converted.get("tool_calls") or []
    for invalid in message.invalid_tool_calls:  # sent back as the model wrote them
        calls.append(
            {"type": "function", "id": invalid["id"],
             "function": {"name": invalid["name"], "arguments": invalid["args"] or ""}}
        )  # fmt: skip
    if calls:
        converted["tool_calls"] = calls
    elif message.additional_kwargs.get("function_call"):
        converted["function_call"] = message.additional_kwargs["function_call"]
    audio = message.additional_kwargs.get("audio")
    if isinstance(audio, dict) and audio.get("id"):
        converted["audio"] = {"id": audio["id"]}  # OpenAI takes an earlier answer's audio back by id
    if (calls or "function_call" in converted or "audio" in converted) and not converted.get("content"):
        converted["content"] = None  # a turn that only calls tools has no content, as OpenAI writes it


def _ai_message(data: dict[str, Any]) -> AIMessage:
    """An assistant message of a chat.completion as an AIMessage (tool calls parsed, as langchain-openai does)."""
    tool_calls, invalid = [], []
    for raw in data.get("tool_calls") or ():
        if raw.get("type", "function") != "function":  # a custom tool's call: free text, not JSON arguments
            body = raw.get(raw.get("type")) or {}
            error = f"a {raw.get('type')} tool call, whose input is not JSON arguments"
            invalid.append(
                invalid_tool_call(
                    name=body.get("name"), args=body.get("input"), id=raw.get("id"), error=error
                )
            )
            continue
        try:
            tool_calls.append(parse_tool_call(raw, return_id=True))
        except Exception as e:  # noqa: BLE001 - OutputParserException, KeyError: whatever the model wrote
            invalid.append(make_invalid_tool_call(raw, str(e)))
    extra = _extra(data)
    return AIMessage(
        content=data.get("content") or "",
        additional_kwargs=extra,
        tool_calls=[c for c in tool_calls if c is not None],
        invalid_tool_calls=invalid,
    )


def _extra(data: dict[str, Any]) -> dict[str, Any]:
    """The extra fields of a message or delta, copied: a cached reply's data is shared with the cache's
    decoded entry, and what a caller does to its message must stay its own."""
    return {name: deepcopy(data[name]) for name in _EXTRA if data.get(name)}


def usage(value: Usage) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=value.prompt_tokens,
        output_tokens=value.completion_tokens,
        total_tokens=value.total_tokens,
    )


def metadata(reply: Reply) -> dict[str, Any]:
    out: dict[str, Any] = {
        "finish_reason": reply.finish_reason,
        "model_name": reply.model,
        "provider": reply.provider,
        "cached": reply.cached,
    }
    if reply.system_fingerprint:
        out["system_fingerprint"] = reply.system_fingerprint
    return out


def result(reply: Reply) -> ChatResult:
    """A whole reply as LangChain's result: one generation per choice (several when ``n`` > 1)."""
    choices = (reply.completion or {}).get("choices") or [
        {"index": 0, "message": {"role": "assistant", "content": reply.text},
         "finish_reason": reply.finish_reason}
    ]  # fmt: skip
    generations = []
    for choice in choices:
        message = _ai_message(choice["message"])
        message.response_metadata = {**metadata(reply), "finish_reason": choice.get("finish_reason")}
        message.usage_metadata = usage(reply.usage)
        info: dict[str, Any] = {"finish_reason": choice.get("finish_reason")}
        if choice.get("logprobs"):
            info["logprobs"] = deepcopy(choice["logprobs"])
        generations.append(ChatGeneration(message=message, generation_info=info))
    return ChatResult(generations=generations)


def chunk(data: dict[str, Any]) -> ChatGenerationChunk | None:
    """The first choice's delta of a streamed chunk as LangChain's chunk; None when it has no such choice."""
    choice = next((c for c in data.get("choices") or () if c.get("index", 0) == 0), None)
    if choice is None:
        return None
    delta = choice.get("delta") or {}
    calls = [
        tool_call_chunk(
            name=(raw.get("function") or {}).get("name"),
            args=(raw.get("function") or {}).get("arguments"),
            id=raw.get("id"),
            index=raw.get("index"),
        )
        for raw in delta.get("tool_calls") or ()
    ]
    extra = _extra(delta)
    message = AIMessageChunk(
        content=delta.get("content") or "", additional_kwargs=extra, tool_call_chunks=calls
    )
    info = {"logprobs": deepcopy(choice["logprobs"])} if choice.get("logprobs") else None
    return ChatGenerationChunk(message=message, generation_info=info)


def last_chunk(data: dict[str, Any] | None, reply: Reply) -> ChatGenerationChunk:
    """The stream's last chunk (``data``: the one that finished it, held back): it also carries the
    usage and the metadata of the whole reply."""
    out = chunk(data) if data is not None else None
    if out is None:
        out = ChatGenerationChunk(message=AIMessageChunk(content=""))
    message = out.message
    assert isinstance(message, AIMessageChunk)
    message.response_metadata = metadata(reply)
    message.usage_metadata = usage(reply.usage)
    if _HAS_POSITION:
        message.chunk_position = "last"
    out.generation_info = {**(out.generation_info or {}), "finish_reason": reply.finish_reason}
    return out
