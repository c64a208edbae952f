"""structlog JSON logs for every process, with personal data masked before it is written."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

import structlog

from services.runtime.masking import mask_for_log
from services.runtime.masking import mask_text as mask_text  # its users import it from here

# Keys whose values are personal data under the data list; never written in clear.
PII_KEYS = frozenset(
    {"citizen", "citizen_name", "citizen_phone", "name", "phone", "id_number", "token", "address"}
)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_for_log(value)
    if isinstance(value, dict):
        return {k: ("[redacted]" if k in PII_KEYS else _mask(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in PII_KEYS:
            event_dict[key] = "[redacted]"
        else:
            event_dict[key] = _mask(event_dict[key])
    return event_dict


# asyncpg refuses a query argument it cannot encode with a message that quotes the value
# ("invalid input for query argument $2: '张三…' (…)"), whatever hide_parameters says, and
# SQLAlchemy repeats that message in its own.
_ARGUMENT_REFUSED = "invalid input for query argument $"
_ARGUMENT_LINE = re.compile(r"(invalid input for query argument \$[0-9]+: )[^\n]*")
HIDDEN_VALUE = "[value hidden]"


def hide_query_arguments(text: str, also: Iterable[str] = ()) -> str:
    """The text with everything after "query argument $n: " on such a line dropped, and every
    text of `also` (the messages of the codec errors behind the refusal) hidden."""
    for secret in also:
        if secret:
            text = text.replace(secret, HIDDEN_VALUE)
    if _ARGUMENT_REFUSED not in text:
        return text
    return _ARGUMENT_LINE.sub(rf"\g<1>{HIDDEN_VALUE}", text)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException | None] = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [current.__cause__, current.__context__]


def _logged_exception(exc_info: Any) -> BaseException | None:
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        found = exc_info[1]
        return found if isinstance(found, BaseException) else None
    return sys.exc_info()[1] if exc_info else None


def hide_query_argument_values(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Before the traceback is formatted: an exception whose chain holds asyncpg's refusal of a
    query argument is written without the value (and without the message of the codec error
    behind it, which quotes the value too); so are `error=str(exc)` fields."""
    error = _logged_exception(event_dict.get("exc_info"))
    if error is not None:
        chain = list(_chain(error))
        if any(str(e).startswith(_ARGUMENT_REFUSED) for e in chain):
            causes = [
                str(e.__cause__)
                for e in chain
                if str(e).startswith(_ARGUMENT_REFUSED)
                and e.__cause__ is not None
                and not str(e.__cause__).startswith(_ARGUMENT_REFUSED)
            ]
            text = "".join(traceback.format_exception(error)).rstrip("\n")
            event_dict.pop("exc_info")
            event_dict["exception"] = hide_query_arguments(text, causes)
    for key, value in event_dict.items():
        if isinstance(value, str) and _ARGUMENT_REFUSED in value:
            event_dict[key] = hide_query_arguments(value)
    return event_dict


class RepeatLimit(logging.Filter):
    """At most one line per `interval_s` for each kind of record (logger, level and message
    template, so "Unable connect to node with id %s: %s" is one kind whatever the node) of
    the standard-library loggers under `prefixes`. The first of a kind always passes; the
    next one after the interval says how many were suppressed in between. A client library
    retrying a dead broker logs dozens of such lines a second."""

    MAX_KINDS = 1000  # message templates are the library's, but keep the table bounded

    def __init__(
        self,
        prefixes: tuple[str, ...],
        *,
        interval_s: float = 30.0,
        clock: Any = time.monotonic,
    ) -> None:
        super().__init__()
        self.prefixes = prefixes
        self.interval_s = interval_s
        self.clock = clock
        self._kinds: dict[tuple[str, int, str], tuple[float, int]] = {}  # -> (last shown, hidden)
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if not any(name == p or name.startswith(p + ".") for p in self.prefixes):
            return True
        key = (name, record.levelno, str(record.msg))
        now = self.clock()
        with self._lock:
            shown = self._kinds.get(key)
            if shown is not None and now - shown[0] < self.interval_s:
                self._kinds[key] = (shown[0], shown[1] + 1)
                return False
            suppressed = shown[1] if shown is not None else 0
            if shown is None and len(self._kinds) >= self.MAX_KINDS:
                self._kinds.clear()
            self._kinds[key] = (now, 0)
        if suppressed:
            record.msg = (
                f"{record.getMessage()} ({suppressed} more like this suppressed "
                f"in the last {self.interval_s:g}s)"
            )
            record.args = None
        return True


# The Kafka client logs every failed connection, metadata update and heartbeat at ERROR while
# the broker is down (about 80 lines a second per service).
REPEAT_LIMITED_LOGGERS = ("aiokafka", "kafka")
REPEAT_INTERVAL_S = 30.0


SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    hide_query_argument_values,
    structlog.processors.format_exc_info,
    redact_personal_data,
]
"""Every log line, structlog's and the standard library's, goes through these in order."""


def configure_logging(*, service: str, level: str = "INFO") -> None:
    """JSON lines on stderr for structlog and for the standard library (uvicorn, aiokafka)."""
    shared = SHARED_PROCESSORS
    structlog.configure(
        processors=[
            # Below the level, stop before any processing (masking, timestamps) is paid for.
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(RepeatLimit(REPEAT_LIMITED_LOGGERS, interval_s=REPEAT_INTERVAL_S))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "sqlalchemy.engine", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
