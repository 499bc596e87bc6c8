"""The one error of export, erasure and retention: a request that cannot be carried out."""

from __future__ import annotations


class PrivacyRefused(Exception):
    """A privacy request refused before anything changed, said in Chinese and in English.

    The message names people by username only (pseudonymous), never by real name: it is
    printed to a console and shown on a page, and may end up in a log.
    """


class ErasureIncomplete(Exception):
    """An erasure stopped after its database part: running it again finishes the rest
    (each later step finds what is left of the person and removes it)."""
