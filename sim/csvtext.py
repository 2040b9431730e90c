"""Rows of a dataclass as CSV text: the one writer behind every table the commands save as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any


def rows_csv(rows: Sequence[Any], kind: type) -> str:
    """The rows (instances of the dataclass ``kind``) as CSV, one line each, its fields as columns."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[f.name for f in fields(kind)], lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(asdict(r))
    return buf.getvalue()
