"""Postal-code existence (spec §6.4): a deny list, optionally a KEN_ALL-style file.

Japan Post's KEN_ALL.CSV carries the 7-digit code in its third column; the file is read
once per (path, modification time), as CP932 (Japan Post's encoding) or UTF-8.
"""
from __future__ import annotations

import csv
import functools
import io
import logging
import os
from typing import Callable

from .config import MerchantConfig

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> frozenset[str]:
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp932")
    codes = set()
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 3 and len(row[2].strip()) == 7 and row[2].strip().isdigit():
            codes.add(row[2].strip())
    logger.info("sandbox postcode file %s: %d codes", path, len(codes))
    return frozenset(codes)


def known_postcodes(path: str) -> frozenset[str]:
    return _load(path, os.path.getmtime(path))


def exists_predicate(m: MerchantConfig | None) -> Callable[[str], bool]:
    """Whether a 7-digit code "exists" for merchant ``m``'s settings."""
    if m is None:
        return lambda digits: True
    deny = frozenset(m.nonexistent_postcodes)
    if m.postcode_file:
        known = known_postcodes(m.postcode_file)
        return lambda digits: digits in known and digits not in deny
    return lambda digits: digits not in deny
