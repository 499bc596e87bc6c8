"""The classroom service's log lines: readable text, or one JSON object a line.

A center that ships its logs to a collector (Loki, Elasticsearch, a cloud log service)
wants fields it does not have to guess with a regular expression: ``[service]
log_format = "json"`` writes each record as one JSON object on one line, with its time
(UTC, ISO 8601), level, logger and message, and the traceback when there is one. Chinese
text stays readable (``ensure_ascii=False``); a message containing a newline stays on
one line, escaped, so one line is always one record.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

TEXT_FORMAT = "[classroom %(levelname)s] %(message)s"


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a record: ``time``, ``level``, ``logger``, ``message``, ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_service_logging(log_format: str) -> None:
    """Send the process's log to stderr, as text or as JSON lines (``[service] log_format``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLinesFormatter() if log_format == "json"
                         else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
