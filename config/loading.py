"""Build ``Settings`` from CLI flags, the environment and a TOML file, with errors people can act on.

Precedence (highest first): ``--set section.key=value`` flags, ``WALMART_SYNC_SECTION__KEY``
environment variables, the TOML file (``--config`` or ``WALMART_SYNC_CONFIG``), defaults.
A validation error names the field, says what is wrong and shows the three ways to set it; it
never echoes the value of a secret field.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

from config.settings import Settings

SectionT = TypeVar("SectionT", bound=BaseModel)

CONFIG_FILE_ENV = "WALMART_SYNC_CONFIG"
SECRET_FIELD_MARKERS = ("password", "secret", "token", "dsn", "key")


class ConfigError(Exception):
    """Settings could not be built; ``problems`` holds one human line per broken field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def parse_overrides(pairs: Sequence[str]) -> dict[str, Any]:
    """Turn ``["kafka.partitions=3", "mapping.carrier_map.ups=UPS"]`` into a nested dict."""
    nested: dict[str, Any] = {}
    problems: list[str] = []
    for pair in pairs:
        path, sep, value = pair.partition("=")
        keys = [k.strip() for k in path.split(".")]
        if not sep or not all(keys):
            problems.append(
                f"--set {pair.split('=')[0]!r}: expected section.key=value "
                "(e.g. --set kafka.partitions=6)"
            )
            continue
        node = nested
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                problems.append(f"--set {path}: {key} is set to a value and a section at once")
                break
            node = child
        else:
            node[keys[-1]] = value
    if problems:
        raise ConfigError(problems)
    return nested


def _is_secret(loc: Sequence[str | int]) -> bool:
    return any(marker in str(part).lower() for part in loc for marker in SECRET_FIELD_MARKERS)


def _how_to_set(loc: Sequence[str | int]) -> str:
    names = [str(p) for p in loc]
    env = "WALMART_SYNC_" + "__".join(n.upper() for n in names)
    if len(names) == 1:
        toml = f"[{names[0]}] section"
    else:
        toml = f"[{'.'.join(names[:-1])}] {names[-1]} = ..."
    return f"set {env}, or {toml} in the TOML file, or --set {'.'.join(names)}=..."


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Settings
    for part in loc:
        field = model.model_fields.get(str(part)) if model else None
        annotation = field.annotation if field else None
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model


def _required_fields(loc: Sequence[str | int]) -> list[list[str | int]]:
    """A missing section is reported as its required fields, which is what the user must set."""
    section = _model_at(loc)
    if section is None:
        return [list(loc)]
    return [[*loc, name] for name, field in section.model_fields.items() if field.is_required()]


def _suggestion(loc: Sequence[str | int]) -> str:
    """For an unknown key, the closest real field name."""
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f" (did you mean {'.'.join(map(str, [*loc[:-1], close[0]]))}?)" if close else ""


def _secret_values(value: Any, secret: bool = False) -> set[str]:
    """Every value under a secret-named key, however deep: a whole section fails validation with the
    section's input (passwords included) as what it "got"."""
    if isinstance(value, Mapping):
        found: set[str] = set()
        for key, inner in value.items():
            found |= _secret_values(inner, secret or _is_secret([key]))
        return found
    if isinstance(value, (list, tuple)):
        return {s for inner in value for s in _secret_values(inner, secret)}
    if secret and value is not None and str(value):
        return {str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)}
    return set()


def _mask(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _section_hint(loc: Sequence[str | int], message: str) -> str:
    """A check across a section's fields names them in its message: say how to set those."""
    section = _model_at(loc)
    named = [name for name in section.model_fields if name in message] if section else []
    if not named:
        return _how_to_set(loc)
    return "; ".join(_how_to_set([*loc, name]) for name in named)


def describe_validation_error(error: ValidationError) -> list[str]:
    problems: list[str] = []
    items = error.errors(include_input=True, include_url=False)
    secrets = {s for item in items for s in _secret_values(item.get("input"), _is_secret(item["loc"]))}
    for item in items:
        loc = [p for p in item["loc"] if not isinstance(p, int) or p >= 0]
        name = ".".join(map(str, loc)) or "settings"
        kind = item["type"]
        message = item["msg"].removeprefix("Value error, ")
        if kind == "missing":
            problems.extend(
                f"{'.'.join(map(str, field_loc))}: required and not set; {_how_to_set(field_loc)}"
                for field_loc in _required_fields(loc)
            )
        elif kind == "extra_forbidden":
            problems.append(f"{name}: unknown setting{_suggestion(loc)}; remove it or fix its name")
        else:
            # a rule across sections (loc empty) gets the whole configuration as its input: not echoed
            shown = "" if _is_secret(loc) or not loc else f" (got {_mask(str(item.get('input')), secrets)[:80]!r})"
            problems.append(_mask(f"{name}: {message}{shown}; {_section_hint(loc, message)}", secrets))
    return problems


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Load and validate; raise ``ConfigError`` with every problem at once, never a traceback."""
    env = os.environ if environ is None else environ
    cli = dict(overrides) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    path = config_file or env.get(CONFIG_FILE_ENV)
    toml_path: Path | None = None
    if path:
        toml_path = Path(path)
        if not toml_path.is_file():
            raise ConfigError([f"config file {toml_path} does not exist or is not a file"])
        try:
            tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"config file {toml_path} is not valid TOML: {exc}"]) from None

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [InitSettingsSource(settings_cls, cli)]
            sources.append(_MappingEnvSource(settings_cls, env))
            if toml_path is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
            return tuple(sources)

    try:
        return _Loaded()
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


class _MappingEnvSource(PydanticBaseSettingsSource):
    """The environment source, reading from an explicit mapping so tests need not touch os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        super().__init__(settings_cls)
        from pydantic_settings import EnvSettingsSource

        self._inner = EnvSettingsSource(settings_cls)
        self._inner.env_vars = {k.lower(): v for k, v in environ.items()}

    def get_field_value(self, field: Any, field_name: str) -> Any:  # pragma: no cover - unused
        return self._inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return self._inner()


def load_section(name: str, model: type[SectionT], config_file: str | os.PathLike[str] | None = None,
                 overrides: Sequence[str] = (), environ: Mapping[str, str] | None = None) -> SectionT:
    """One section from the same sources and precedence as ``load_settings``, ignoring the others.

    The container's HEALTHCHECK needs the ops port wherever the deployment set it (``--set``, the
    environment, the TOML file) and must not fail on a problem in an unrelated section.
    """
    env = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    path = config_file or env.get(CONFIG_FILE_ENV)
    if path and Path(path).is_file():
        try:
            table = tomllib.loads(Path(path).read_text(encoding="utf-8")).get(name, {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            table = {}
        merged.update(table if isinstance(table, dict) else {})
    prefix = f"WALMART_SYNC_{name.upper()}__"
    merged.update({key[len(prefix):].lower(): value for key, value in env.items() if key.upper().startswith(prefix)})
    merged.update(parse_overrides([o for o in overrides if o.startswith(f"{name}.")]).get(name, {}))
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError([f"{name}.{problem}" for problem in describe_validation_error(exc)]) from None
