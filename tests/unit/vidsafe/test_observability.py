"""The log lines of every service (vidsafe/observability.py): one JSON object a line, with the job id."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from contextvars import copy_context

import pytest

from vidsafe.observability import job_context, setup_logging
from vidsafe.settings import Settings


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """setup_logging into a buffer for one test; the root logger is put back afterwards (pytest's own
    capture handlers excepted: pytest adds and removes those around each phase itself)."""
    root = logging.getLogger()
    handlers, level, factory = list(root.handlers), root.level, logging.getLogRecordFactory()
    stream = io.StringIO()
    setup_logging(Settings(log_format="json"), "test", stream=stream)
    yield stream
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers and not type(handler).__module__.startswith("_pytest"):
            root.addHandler(handler)
    root.setLevel(level)
    logging.setLogRecordFactory(factory)


def test_a_record_is_one_line_whatever_its_text_holds(captured_logs: io.StringIO) -> None:
    name = "clip\u2028name\u2029with\x85breaks\nand a newline.mp4"
    logging.getLogger("vidsafe.test").info("received %s", name)
    (line,) = captured_logs.getvalue().splitlines()
    assert json.loads(line)["message"] == f"received {name}"


def test_job_context_reaches_threads_that_copy_it(captured_logs: io.StringIO) -> None:
    logger = logging.getLogger("vidsafe.test")
    logger.info("before")
    with job_context("0f0e0d0c-0000-4000-8000-000000000001"):
        logger.info("inside", extra={"frames": 3})
        thread = threading.Thread(target=copy_context().run, args=(logger.info, "in a thread"))
        thread.start()
        thread.join()
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("after")
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["before", "inside", "in a thread", "after"]
    assert [line.get("job_id") for line in lines] == [None, "0f0e0d0c-0000-4000-8000-000000000001",
                                                      "0f0e0d0c-0000-4000-8000-000000000001", None]
    assert lines[1]["frames"] == 3 and lines[1]["service"] == "test" and lines[1]["level"] == "INFO"
    assert "ValueError: boom" in lines[3]["exc_info"]


def test_text_format(captured_logs: io.StringIO) -> None:
    stream = io.StringIO()
    setup_logging(Settings(log_format="text"), "test", stream=stream)
    with job_context("job-1"):
        logging.getLogger("vidsafe.test").warning("plain")
    assert stream.getvalue().rstrip().endswith("WARNING vidsafe.test [job job-1]: plain")
