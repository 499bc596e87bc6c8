"""Zip bombs, unpacked by the exchange's own ``unpack``: refused before they inflate.

A real bomb is built here: hundreds of megabytes of zeros that deflate to a few
hundred kilobytes, alone, spread over many files, and with its sizes lied about in
the archive's directory. Each is refused with ``zip_bomb`` (or a damaged archive),
and the memory ``unpack`` allocates stays far below what the bomb would inflate to.
"""

from __future__ import annotations

import io
import json
import random
import tracemalloc
import zipfile

import pytest

from grading.exchange.archive import MIB, ArchiveLimits, unpack
from grading.exchange.errors import ExchangeRefused

LIMITS = ArchiveLimits(max_total_bytes=1024 * MIB, max_file_bytes=1024 * MIB, max_files=200,
                       max_ratio=100)
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                       "nbformat_minor": 5}).encode()


def bomb(inflated_mib: int, files: int = 1) -> bytes:
    """``files`` entries of zeros, ``inflated_mib`` MiB in all, beside a real notebook."""
    buffer = io.BytesIO()
    zeros = bytes(inflated_mib * MIB // files)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("answer.ipynb", NOTEBOOK)
        for index in range(files):
            archive.writestr(f"data/{index}.npy", zeros)
    return buffer.getvalue()


def lie_about_sizes(data: bytes, declared: int) -> bytes:
    """The same archive with every entry's declared size in the central directory replaced."""
    out = bytearray(data)
    central = data.index(b"PK\x01\x02")
    while central != -1:
        name_length = int.from_bytes(data[central + 28:central + 30], "little")
        name = data[central + 46:central + 46 + name_length]
        if name.endswith(b".npy"):
            out[central + 24:central + 28] = declared.to_bytes(4, "little")
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(out)


def refused_with_little_memory(data: bytes, most: int = 2 * MIB) -> ExchangeRefused:
    tracemalloc.start()
    try:
        with pytest.raises(ExchangeRefused) as refusal:
            unpack(data, LIMITS)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < most, f"unpack allocated {peak / MIB:.0f} MiB before refusing"
    return refusal.value


def test_a_zip_bomb_is_refused_before_inflating() -> None:
    """Is 400 MiB of zeros in a ~400 KB upload refused as a zip bomb, inflating nothing?"""
    data = bomb(400)
    assert len(data) < MIB
    refusal = refused_with_little_memory(data)
    assert refusal.code == "zip_bomb"
    assert "压缩炸弹" in refusal.zh and "zip bomb" in refusal.en


def test_a_bomb_spread_over_many_small_files_is_refused() -> None:
    """Does spreading the expansion over 150 files, each harmless, still count in total?"""
    refusal = refused_with_little_memory(bomb(300, files=150))
    assert refusal.code == "zip_bomb"


def test_a_bomb_that_lies_about_its_sizes_is_stopped_while_inflating() -> None:
    """With its directory claiming 1 KB, is it refused having inflated a few MiB at most?"""
    data = lie_about_sizes(bomb(400), 1024)
    refusal = refused_with_little_memory(data, most=16 * MIB)
    assert refusal.code in ("zip_bomb", "bad_archive")


def test_an_honest_notebook_upload_with_compressible_data_still_unpacks() -> None:
    """Does a real assignment with a 3 MiB data set (deflating about 2.5×) still pass?"""
    numbers = random.Random(15)
    rows = "".join(f"{numbers.gauss(0, 1):.4f},{numbers.gauss(5, 2):.4f},{numbers.randrange(3)}\n"
                   for _ in range(150_000))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("answer.ipynb", NOTEBOOK)
        archive.writestr("data/iris-like.csv", rows.encode())
    files = unpack(buffer.getvalue(), LIMITS)
    assert sorted(files) == ["answer.ipynb", "data/iris-like.csv"]
    assert len(files["data/iris-like.csv"]) > 2 * MIB
