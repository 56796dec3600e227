"""Tool calling and structured output for ChatProsa, as langchain-openai's ChatOpenAI does them.

Tools are turned into OpenAI's format by langchain-core's ``convert_to_openai_tool``; structured
output is a bound model piped into langchain-core's own parsers (``PydanticToolsParser``,
``JsonOutputKeyToolsParser``, ``JsonOutputParser``, ``PydanticOutputParser``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from operator import itemgetter
from typing import Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser, PydanticToolsParser
from langchain_core.runnables import Runnable, RunnableGenerator, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_openai_function, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from ...errors import InvalidRequest

__all__ = ["tool_choice", "response_format", "structured_output"]

Method = Literal["function_calling", "json_mode", "json_schema"]


def tool_choice(choice: Any, names: Sequence[str]) -> str | dict[str, Any] | None:
    """LangChain's ``tool_choice`` in OpenAI's form: a tool's name, ``"any"``/True (some tool),
    ``"auto"``, ``"none"``, ``"required"`` or OpenAI's object; None/False leave the upstream's default."""
    if choice is None or choice is False:
        return None
    if choice is True or choice == "any":
        return "required"
    if isinstance(choice, dict):
        return choice
    if isinstance(choice, str):
        if choice in names:
            return {"type": "function", "function": {"name": choice}}
        if choice in ("auto", "none", "required"):
            return choice
    bound = ", ".join(names) or "none"
    raise InvalidRequest(
        f"tool_choice must be auto, none, required, any, True or a bound tool's name (tools: {bound}); "
        f"got {choice!r}",
        "tool_choice",
    )


def response_format(schema: Any, strict: bool | None = None) -> dict[str, Any]:
    """OpenAI's ``response_format`` for a schema: a Pydantic class, a TypedDict, a JSON schema, an
    OpenAI ``json_schema`` object (``{"name", "schema"}``) or a whole ``response_format``."""
    if isinstance(schema, dict) and isinstance(schema.get("type"), str) and schema["type"] != "object":
        return schema  # already a response_format: {"type": "json_object"} or {"type": "json_schema", ...}
    if isinstance(schema, dict) and "name" in schema and "schema" in schema:
        return {"type": "json_schema", "json_schema": schema}
    if strict is None:
        strict = schema.get("strict") is True if isinstance(schema, dict) else False
    function = convert_to_openai_function(schema, strict=strict)
    function["schema"] = function.pop("parameters")
    return {"type": "json_schema", "json_schema": function}


def _refusal(message: BaseMessage) -> None:
    refusal = message.additional_kwargs.get("refusal")
    if refusal:
        raise OutputParserException(f"the model refused to answer: {refusal}")


def _check_refusal(messages: Iterator[BaseMessage]) -> Iterator[BaseMessage]:
    for message in messages:
        _refusal(message)
        yield message


async def _acheck_refusal(messages: AsyncIterator[BaseMessage]) -> AsyncIterator[BaseMessage]:
    async for message in messages:
        _refusal(message)
        yield message


def structured_output(
    model: BaseChatModel,
    schema: Any,
    method: Method,
    include_raw: bool,
    strict: bool | None,
    tools: list[Any] | None,
    kwargs: dict[str, Any],
) -> Runnable[Any, Any]:
    """``with_structured_output``: the bound model piped into the parser for ``method``."""
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    if schema is None and method != "json_mode":
        raise InvalidRequest(f"with_structured_output needs a schema for method={method!r}", "schema")
    if method != "json_schema" and tools:
        raise InvalidRequest("tools= goes with method='json_schema' only", "tools")
    trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    parser: Runnable[Any, Any]
    if method == "function_calling":
        name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools(  # type: ignore[call-arg]
            [schema], tool_choice=name, parallel_tool_calls=False, strict=strict,
            ls_structured_output_format=trace, **kwargs,
        )  # fmt: skip
        if is_pydantic:
            parser = PydanticToolsParser(tools=[schema], first_tool_only=True)
        else:
            parser = JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    elif method == "json_mode":
        if strict is not None:
            raise InvalidRequest("strict has no meaning with method='json_mode'", "strict")
        llm = model.bind(response_format={"type": "json_object"}, ls_structured_output_format=trace, **kwargs)
        parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
    elif method == "json_schema":
        bound: dict[str, Any] = {"response_format": response_format(schema, strict), **kwargs}
        if tools:
            bound["tools"] = [convert_to_openai_tool(t, strict=strict) for t in tools]
        llm = model.bind(ls_structured_output_format=trace, **bound)
        parser = PydanticOutputParser(pydantic_object=schema) if is_pydantic else JsonOutputParser()
    else:
        raise InvalidRequest(
            f"method must be function_calling, json_schema or json_mode (got {method!r})", "method"
        )
    # Checked chunk by chunk, so a structured answer still streams.
    checked = RunnableGenerator(_check_refusal, _acheck_refusal) | parser
    if not include_raw:
        return llm | checked
    parse = RunnablePassthrough.assign(parsed=itemgetter("raw") | checked, parsing_error=lambda _: None)
    fallback = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=llm) | parse.with_fallbacks([fallback], exception_key="parsing_error")
