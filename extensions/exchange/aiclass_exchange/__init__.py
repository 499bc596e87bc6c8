"""nbgrader's exchange over HTTP: the aiclass classroom service instead of a shared folder.

Set these classes in ``ExchangeFactory`` (the hub writes that configuration into each
server's ``nbgrader_config.json``); nbgrader's own Assignments panel and its command
line then fetch, submit and fetch feedback through the service, authenticated with
the server's ``$JUPYTERHUB_API_TOKEN``.
"""

from aiclass_exchange.client import ServiceClient
from aiclass_exchange.exchange import Exchange
from aiclass_exchange.student import (
    ExchangeFetchAssignment,
    ExchangeFetchFeedback,
    ExchangeList,
    ExchangeSubmit,
)
from aiclass_exchange.teacher import (
    ExchangeCollect,
    ExchangeReleaseAssignment,
    ExchangeReleaseFeedback,
)

__all__ = [
    "Exchange",
    "ExchangeCollect",
    "ExchangeFetchAssignment",
    "ExchangeFetchFeedback",
    "ExchangeList",
    "ExchangeReleaseAssignment",
    "ExchangeReleaseFeedback",
    "ExchangeSubmit",
    "ServiceClient",
]
