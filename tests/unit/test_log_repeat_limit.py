"""The Kafka client's flood of identical errors during a broker outage is cut to one line per
kind and interval, and the next line says how many were suppressed."""

import json
import logging

from services.runtime.logging import RepeatLimit, configure_logging


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _record(name, msg, *args, level=logging.ERROR):
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_repeats_of_a_kind_pass_once_per_interval_and_report_the_suppressed_count():
    clock = _Clock()
    limit = RepeatLimit(("aiokafka", "kafka"), interval_s=30, clock=clock)
    unable = "Unable connect to node with id %s: %s"
    first = _record("aiokafka.client", unable, 1, "refused")
    assert limit.filter(first)
    assert first.getMessage() == "Unable connect to node with id 1: refused"  # untouched
    passed = [limit.filter(_record("aiokafka.client", unable, n, "refused")) for n in range(79)]
    assert not any(passed)
    # Another kind (template, logger or level) has its own budget; other loggers are left alone.
    assert limit.filter(_record("aiokafka.client", "Unable to update metadata from %s", 1))
    assert limit.filter(_record("aiokafka.consumer.fetcher", unable, 1, "refused"))
    assert limit.filter(_record("aiokafka.client", unable, 1, "refused", level=logging.WARNING))
    assert all(limit.filter(_record("services.runtime.kafka", "outage")) for _ in range(5))
    assert all(limit.filter(_record("aiokafkax", unable, 1, "x")) for _ in range(3))
    clock.now += 29
    assert not limit.filter(_record("aiokafka.client", unable, 2, "refused"))
    clock.now += 1
    after = _record("aiokafka.client", unable, 3, "refused")
    assert limit.filter(after)
    assert after.getMessage() == (
        "Unable connect to node with id 3: refused (80 more like this suppressed in the last 30s)"
    )
    clock.now += 30  # nothing suppressed since: the line is as logged
    again = _record("aiokafka.client", unable, 4, "refused")
    assert limit.filter(again)
    assert again.getMessage() == "Unable connect to node with id 4: refused"


def test_the_service_log_handler_limits_the_kafka_client(capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging(service="test")
        for n in range(200):
            logging.getLogger("aiokafka.client").error("Unable connect to node %s", n)
        logging.getLogger("other").error("kept %s", 1)
        logging.getLogger("other").error("kept %s", 2)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == [
        "Unable connect to node 0",
        "kept 1",
        "kept 2",
    ]
