"""structlog set-up shared by every process, with secret redaction as the last step before output.

Redaction works two ways, because either alone leaks: keys that name a secret (``password``,
``authorization``...) are masked whatever their value, and the literal values of every secret in
the loaded settings are replaced wherever they appear, including inside exception tracebacks and
third-party (stdlib) log lines from kafka-python, PyMySQL and requests.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any, Literal

import structlog

MASK = "***"
SECRET_KEY = re.compile(
    r"(pass(word|wd)?|secret|token|authorization|api[_-]?key|dsn|credential|sasl_plain)", re.I
)
# Credentials embedded in URLs (mysql://user:pw@host) and Basic/Bearer headers in free text.
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]+):[^@/\s]+@", re.I)
AUTH_HEADER = re.compile(r"\b(?P<kind>Basic|Bearer)\s+[A-Za-z0-9._~+/=-]{8,}", re.I)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secrets(values: Iterable[str]) -> None:
    """Make every later log line and ``redact()`` call mask these literal values."""
    with _secrets_lock:
        _secrets.update(v for v in values if v and len(v) >= 3)


def redact(text: str) -> str:
    """Mask registered secrets, URL credentials and auth headers in free text."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    text = URL_CREDENTIALS.sub(rf"\g<scheme>\g<user>:{MASK}@", text)
    return AUTH_HEADER.sub(rf"\g<kind> {MASK}", text)


def _redact_value(key: str, value: Any) -> Any:
    if SECRET_KEY.search(key) and value not in (None, "", False):
        return MASK
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redact_value(key, v) for v in value]
    if isinstance(value, BaseException):
        return redact(repr(value))
    return value


def redact_event(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the last one before rendering."""
    for key in list(event):
        if key.startswith("_"):
            continue
        event[key] = _redact_value(key, event[key])
    return event


LogFormat = Literal["auto", "json", "console"]

# Libraries whose own loggers report errors they recover from (kafka-python reconnects after a
# socket it was reading is closed under it) with a full traceback at ERROR.
LIBRARY_LOGGERS = ("kafka", "urllib3", "pymysqlreplication")


class OneLineLibraryErrors(logging.Filter):
    """Fold a library's traceback into its message: ``... (AttributeError: ...)``.

    The library already retries, so the traceback says nothing an operator can act on and buries
    the sidecar's own lines; the exception's type and text stay, and ``--log-level debug`` keeps
    the whole traceback for a bug report.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.split(".")[0] in LIBRARY_LOGGERS:
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True



def configure_logging(level: str = "info", fmt: LogFormat = "auto", stream: Any = None) -> None:
    """Route structlog and stdlib logging through one redacting renderer on stderr."""
    stream = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "console" if getattr(stream, "isatty", lambda: False)() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    if level != "debug":
        handler.addFilter(OneLineLibraryErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Chatty third-party loggers stay at WARNING (or the level asked, if higher) unless we debug.
    for noisy in LIBRARY_LOGGERS:
        logging.getLogger(noisy).setLevel("DEBUG" if level == "debug" else max(logging.WARNING, root.level))


def get_logger(component: str, **ids: Any) -> structlog.stdlib.BoundLogger:
    """A logger bound to a component name and any ids (sku, order, po) known at the call site."""
    return structlog.stdlib.get_logger(component).bind(component=component, **ids)
