"""The monitoring parts a whole hub cannot show: a health answer when the database is gone,
GPU slots (no GPU here: the pool's inventory is named), and the JSON log format itself."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from prometheus_client import REGISTRY
from tornado import web
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from hub.service.classroom import Classroom
from hub.service.log_format import JsonLinesFormatter
from hub.service.monitoring_api import monitoring_routes
from hub.spawners.gpu import GpuPool

PREFIX = "/services/classroom/"


async def health_before_and_after(classroom: Classroom, database: Path) -> tuple[int, int]:
    app = web.Application(monitoring_routes(PREFIX, classroom), classroom=classroom)
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    client = AsyncHTTPClient()
    url = f"http://127.0.0.1:{port}{PREFIX}health"
    try:
        before = (await client.fetch(url, raise_error=False)).code
        classroom.database.engine.dispose()
        database.unlink()
        database.mkdir()  # SQLite cannot open a directory: the database is gone
        after = (await client.fetch(url, raise_error=False)).code
    finally:
        server.stop()
    return before, after


def test_health_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    """Does the service's health answer turn from 200 to 503 once its database cannot be
    opened, so that a probe restarts or reports it instead of trusting a running process?"""
    database = tmp_path / "aiclass.sqlite"
    classroom = Classroom(database_url=f"sqlite:///{database}", data_dir=str(tmp_path))
    try:
        assert asyncio.run(health_before_and_after(classroom, database)) == (200, 503)
    finally:
        classroom.executor.shutdown()
        classroom.database.engine.dispose()


def test_gpu_slots_in_use_follow_the_pool() -> None:
    """Do ``aiclass_gpu_slots_in_use`` per device follow assign and release, beside each
    device's slot count?"""
    pool = GpuPool(devices=["GPU-metrics-a", "GPU-metrics-b"], max_students_per_device=3)

    def in_use(device: str) -> float | None:
        return REGISTRY.get_sample_value("aiclass_gpu_slots_in_use", {"device": device})

    pool.assign("ana")
    pool.assign("bo")
    pool.assign("cy")
    assert (in_use("GPU-metrics-a"), in_use("GPU-metrics-b")) == (2, 1)
    assert REGISTRY.get_sample_value("aiclass_gpu_slots", {"device": "GPU-metrics-a"}) == 3
    pool.release("ana")
    pool.release("bo")
    assert in_use("GPU-metrics-a") + in_use("GPU-metrics-b") == 1


def test_json_lines_keep_one_record_a_line() -> None:
    """Is a record with Chinese text, a newline and a traceback one line of JSON with its
    fields, the Chinese readable?"""
    try:
        raise ValueError("坏的提交")
    except ValueError:
        record = logging.LogRecord("aiclass.classroom", logging.ERROR, __file__, 1,
                                   "评分失败 / grading failed:\n%s", ("第二行",), sys.exc_info())
    line = JsonLinesFormatter().format(record)
    assert "\n" not in line and "评分失败" in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "aiclass.classroom"
    assert entry["message"] == "评分失败 / grading failed:\n第二行"
    assert entry["time"].endswith("Z")
    assert "ValueError: 坏的提交" in entry["exception"]
