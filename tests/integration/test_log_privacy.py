"""asyncpg refuses a query argument it cannot encode with a message that quotes the value
("invalid input for query argument $1: '张三…' (…)"), which hide_parameters does not touch: the
log line of such an error, structlog's or the standard library's (uvicorn's 500), keeps the
error's type and drops the value. The errors come from the real database driver."""

import json
import logging

import pytest
import structlog
from sqlalchemy import BigInteger, bindparam, text
from sqlalchemy.exc import DBAPIError

from services.runtime.logging import SHARED_PROCESSORS

NAME = "张三住在月河街道南街十二号"
CASES = [
    pytest.param(text("select cast(:x as bigint)"), NAME, NAME, id="text-for-an-integer"),
    pytest.param(text("select cast(:x as uuid)"), f"{NAME}的编号", NAME, id="codec-quotes-it"),
    pytest.param(
        text("select :x").bindparams(bindparam("x", type_=BigInteger)),
        123456789012345678901234,
        "123456789012345678901234",
        id="past-int64",
    ),
]


async def _refusal(engine, statement, value):
    with pytest.raises(DBAPIError) as caught:
        async with engine.connect() as connection:
            await connection.execute(statement, {"x": value})
    assert "invalid input for query argument $1" in str(caught.value)
    return caught.value


def _structlog_line(event):
    logger = logging.getLogger("tests.log_privacy")
    for processor in SHARED_PROCESSORS:
        event = processor(logger, "error", event)
    return json.dumps(event, ensure_ascii=False, default=str)


def _stdlib_line(error):
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED_PROCESSORS,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    record = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", (),
        (type(error), error, error.__traceback__),
    )  # fmt: skip
    return formatter.format(record)


@pytest.mark.parametrize(("statement", "value", "secret"), CASES)
async def test_a_refused_query_argument_is_logged_without_its_value(
    engine, statement, value, secret
):
    error = await _refusal(engine, statement, value)
    tracebacks = [
        _structlog_line({"event": "handler failed, dead-lettering", "exc_info": error}),
        _stdlib_line(error),
    ]
    message = _structlog_line({"event": "handler failed, retrying", "error": str(error)})
    for line in [*tracebacks, message]:
        assert secret not in line
        assert secret[:6] not in line
        assert "invalid input for query argument $1: [value hidden]" in line
    for line in tracebacks:
        assert "asyncpg.exceptions.DataError" in line  # what went wrong is still told
        assert "[SQL: select" in line


def test_other_errors_keep_their_traceback():
    try:
        raise ValueError("ordinary failure 42")
    except ValueError as error:
        line = _structlog_line({"event": "x", "exc_info": error})
    assert "ordinary failure 42" in line
    assert "Traceback" in line
