"""The prompt template of a revision (`data.parameters.prompt`) and its validation on commit.

Template formats: `curly` ({{name}}), `fstring` ({name}), `jinja2` and `mustache`. The variables a template
uses must be exactly its `input_keys` (when omitted they are derived), so a caller learns about a typo in a
variable at commit time, not when a user's request renders an empty string.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lamina.errors import ValidationFailedError

TemplateFormat = Literal["curly", "fstring", "jinja2", "mustache"]
MessageRole = Literal["system", "developer", "user", "assistant", "tool", "function"]
MAX_MESSAGES = 500
MAX_TOOLS = 128
PROMPT_PATH = "data.parameters.prompt"
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: Literal["text", "image_url", "input_audio", "file"]
    text: str | None = None
    image_url: dict[str, Any] | str | None = None


class Message(_Strict):
    role: MessageRole
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class FunctionSpec(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Strict):
    type: Literal["function"] = "function"
    function: FunctionSpec


class JsonSchemaSpec(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    name: str
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(_Strict):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaSpec | None = None

    @model_validator(mode="after")
    def _json_schema_needs_a_schema(self) -> ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs a json_schema {name, schema}")
        return self


class ToolChoiceFunction(_Strict):
    type: Literal["function"] = "function"
    function: dict[str, str]


class LlmConfig(_Strict):
    model: Annotated[str, Field(min_length=1, max_length=200)]
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    max_tokens: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    response_format: ResponseFormat | None = None
    tools: Annotated[list[Tool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceFunction | None = None
    stream: bool | None = None
    stop: str | list[str] | None = None
    seed: int | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None


class PromptTemplate(_Strict):
    messages: Annotated[list[Message], Field(min_length=1, max_length=MAX_MESSAGES)]
    template_format: TemplateFormat = "curly"
    input_keys: list[str] | None = None
    llm_config: LlmConfig
    # Agenta keeps these on the prompt in some versions; accepted here and checked like llm_config's.
    system_prompt: str | None = None
    user_prompt: str | None = None


# ---------------------------------------------------------------- template variables


class TemplateSyntaxProblem(ValueError):
    pass


_CURLY = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def _root(name: str) -> str:
    """`user.name` and `items[0]` are inputs `user` and `items`."""
    return re.split(r"[.\[]", name, maxsplit=1)[0].strip()


def curly_variables(text: str) -> set[str]:
    names = set()
    for match in _CURLY.finditer(text):
        name = match.group(1)
        if not name:
            raise TemplateSyntaxProblem("empty {{ }} placeholder")
        names.add(_root(name))
    return names


def fstring_variables(text: str) -> set[str]:
    names = set()
    try:
        for _, field_name, _, _ in string.Formatter().parse(text):
            if field_name is None:
                continue
            if field_name == "" or field_name.isdigit():
                raise TemplateSyntaxProblem("positional {} placeholders are not allowed; name them: {name}")
            names.add(_root(field_name))
    except ValueError as error:
        raise TemplateSyntaxProblem(f"invalid f-string template: {error}") from error
    return names


def jinja2_variables(text: str) -> set[str]:
    from jinja2 import TemplateSyntaxError, meta
    from jinja2.sandbox import SandboxedEnvironment

    environment = SandboxedEnvironment()
    try:
        parsed = environment.parse(text)
    except TemplateSyntaxError as error:
        raise TemplateSyntaxProblem(
            f"invalid jinja2 template (line {error.lineno}): {error.message}"
        ) from error
    return set(meta.find_undeclared_variables(parsed))


_MUSTACHE_TAG = re.compile(r"\{\{(\{)?\s*([#^/!>&]?)\s*(.*?)\s*(\})?\}\}", re.DOTALL)


def mustache_variables(text: str) -> set[str]:
    """Top-level names and section names; names inside a section may be fields of its items."""
    names: set[str] = set()
    open_sections: list[str] = []
    for match in _MUSTACHE_TAG.finditer(text):
        triple_open, sigil, name, triple_close = match.groups()
        if bool(triple_open) != bool(triple_close):
            raise TemplateSyntaxProblem(f"unbalanced triple mustache near {match.group(0)!r}")
        if sigil in ("!", ">"):
            continue
        if not name:
            raise TemplateSyntaxProblem("empty mustache tag")
        if sigil in ("#", "^"):
            if not open_sections:
                names.add(_root(name))
            open_sections.append(name)
        elif sigil == "/":
            if not open_sections or open_sections[-1] != name:
                raise TemplateSyntaxProblem(f"closing tag {{{{/{name}}}}} does not match an open section")
            open_sections.pop()
        elif not open_sections and name != ".":
            names.add(_root(name))
    if open_sections:
        raise TemplateSyntaxProblem(f"section {{{{#{open_sections[-1]}}}}} is never closed")
    return names


VARIABLE_FINDERS = {
    "curly": curly_variables,
    "fstring": fstring_variables,
    "jinja2": jinja2_variables,
    "mustache": mustache_variables,
}


def _message_texts(message: Message) -> list[str]:
    if isinstance(message.content, str):
        return [message.content]
    if isinstance(message.content, list):
        texts = [part.text for part in message.content if part.text]
        texts += [part.image_url for part in message.content if isinstance(part.image_url, str)]
        texts += [
            str(part.image_url["url"])
            for part in message.content
            if isinstance(part.image_url, dict) and isinstance(part.image_url.get("url"), str)
        ]
        return texts
    return []


def template_variables(prompt: PromptTemplate) -> list[str]:
    """The input names the prompt's messages use, in first-use order."""
    finder = VARIABLE_FINDERS[prompt.template_format]
    ordered: dict[str, None] = {}
    for index, message in enumerate(prompt.messages):
        for text in _message_texts(message):
            try:
                found = finder(text)
            except TemplateSyntaxProblem as error:
                raise ValidationFailedError(f"{PROMPT_PATH}.messages.{index}.content: {error}") from error
            # Keep first-use order: sort this message's names by where they appear.
            for name in sorted(found, key=lambda candidate: (text.find(candidate), candidate)):
                ordered.setdefault(name, None)
    return list(ordered)


# ---------------------------------------------------------------- validation on commit


def _validation_message(error: ValidationError, base: str) -> tuple[str, list[dict[str, Any]]]:
    details = [
        {"loc": [base, *[str(part) for part in item["loc"]]], "msg": item["msg"], "type": item["type"]}
        for item in error.errors()
    ]
    first = details[0]
    return f"{'.'.join(first['loc'])}: {first['msg']}", details


def validate_prompt(raw: Any, *, path: str = PROMPT_PATH) -> dict[str, Any]:
    """Validate one prompt template; return it normalised (input_keys filled in when omitted)."""
    if not isinstance(raw, dict):
        raise ValidationFailedError(f"{path}: must be an object")
    try:
        prompt = PromptTemplate.model_validate(raw)
    except ValidationError as error:
        message, details = _validation_message(error, path)
        raise ValidationFailedError(message, details=details) from error
    used = template_variables(prompt)
    if prompt.input_keys is None:
        prompt.input_keys = used
    else:
        bad = [key for key in prompt.input_keys if not IDENTIFIER.match(key)]
        if bad:
            raise ValidationFailedError(f"{path}.input_keys: {bad[0]!r} is not a valid input name")
        missing = [name for name in used if name not in prompt.input_keys]
        if missing:
            raise ValidationFailedError(
                f"{path}: the messages use {{{missing[0]}}} ({prompt.template_format}) but input_keys "
                f"{prompt.input_keys} does not list it"
            )
        unused = [key for key in prompt.input_keys if key not in used]
        if unused:
            raise ValidationFailedError(
                f"{path}.input_keys: {unused[0]!r} is not used by any message "
                f"(template_format {prompt.template_format!r} uses {used})"
            )
    return prompt.model_dump(mode="json", exclude_none=True, by_alias=True)


def validate_revision_data(data: dict[str, Any]) -> dict[str, Any]:
    """Validate every prompt in a revision's `parameters`; other data (urls, custom parameters) passes as is."""
    parameters = data.get("parameters")
    if parameters is None:
        return data
    if not isinstance(parameters, dict):
        raise ValidationFailedError("data.parameters: must be an object")
    normalised = dict(parameters)
    for name, value in parameters.items():
        if name == "prompt" or (isinstance(value, dict) and "messages" in value and "llm_config" in value):
            normalised[name] = validate_prompt(value, path=f"data.parameters.{name}")
    return {**data, "parameters": normalised}
