"""Render the configuration reference (docs/configuration.md) from the settings model.

    python -m config.reference > docs/configuration.md

Generated, not written by hand, so the documentation cannot drift from what is validated; the
test suite fails when the committed file is out of date.
"""

from __future__ import annotations

import json
import sys
import typing
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic_core import PydanticUndefined

from config.settings import ConsumerTuning, Settings


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " \\| ".join(_type_name(a) for a in args) + " (optional)"
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is SecretStr:
        return "secret"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()
    if isinstance(value, BaseModel):
        return "(section)"
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def _section_model(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def render() -> str:
    out = [
        "# Configuration reference",
        "",
        "Generated from the settings model by `python -m config.reference`; do not edit.",
        "",
        "Every setting can come from a TOML file (`--config FILE` or `WALMART_SYNC_CONFIG`), an",
        "environment variable, or a `--set section.key=value` flag; flags beat the environment,",
        "which beats the file. Secrets are never printed: `walmart-sync config check` masks them.",
        "",
    ]

    def section(path: list[str], model: type[BaseModel]) -> None:
        rows, nested = [], []
        for name, field in model.model_fields.items():
            sub = _section_model(field.annotation)
            if sub is not None and sub is not ConsumerTuning:
                nested.append((name, sub))
                continue
            env = "WALMART_SYNC_" + "__".join(p.upper() for p in [*path, name])
            description = (field.description or "").replace("|", "\\|")
            rows.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | "
                        f"`{env}` | {description} |")
        if rows:
            out.extend([f"## [{'.'.join(path)}]", ""])
            if model.__doc__:
                out.extend([" ".join(model.__doc__.split()), ""])
            out.extend(["| key | type | default | environment | notes |",
                        "| --- | --- | --- | --- | --- |", *rows, ""])
        for name, sub in nested:
            section([*path, name], sub)

    for name, field in Settings.model_fields.items():
        model = _section_model(field.annotation)
        if model is not None:
            section([name], model)
    out.extend([
        "## Consumer tuning keys",
        "",
        "`[kafka.consumer_defaults]` and each `[kafka.consumer_groups.<worker>]` take these",
        "kafka-python consumer settings; a group names only what it changes.",
        "",
        "| key | type |",
        "| --- | --- |",
        *(f"| `{n}` | {_type_name(f.annotation)} |" for n, f in ConsumerTuning.model_fields.items()),
        "",
    ])
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(render())
