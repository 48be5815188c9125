"""Throughput of 「B2出荷データ取込」 without Yamato: parse + validate + match a 10,000-row file.

Builds a B2 issued-data file the way B2クラウド writes it (CP932, CRLF, every field quoted,
97 columns, header row, realistic names and addresses, valid slip numbers, a few orders
with several slips), then times ``parse_issued`` + ``match`` against a dict lookup (the job
layer's one batched query stands behind such a dict). Peak memory is measured in a separate
run under tracemalloc, so tracing does not slow the timed runs. The goal is ≥ 20,000 rows/s.

    .venv/bin/python bench/b2_parse.py [--rows 10000] [--rounds 5]
"""
from __future__ import annotations

import argparse
import csv
import io
import logging
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_kuroneko.b2 import header_row, match, parse_issued  # noqa: E402
from flask_kuroneko.yamato.tracking import with_check_digit  # noqa: E402

GOAL_ROWS_PER_SECOND = 20_000


def build_file(rows: int) -> tuple[bytes, dict[str, str]]:
    """(the issued file, the lookup the job layer would build: 決済ID → payment id)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header_row())
    lookup: dict[str, str] = {}
    body = 45010203040
    order = 0
    written = 0
    while written < rows:
        order += 1
        key = f"{order:010d}"
        lookup[key] = f"payment-{order}"
        for _ in range(3 if order % 50 == 0 else 1):        # every 50th order: 3 parcels
            row = [""] * 97
            row[0], row[1], row[2] = key, "0", "0"
            row[3] = with_check_digit(f"{body:011d}")
            row[4], row[6] = "2026/07/01", "0812"
            row[8], row[10] = "090-1111-2222", "060-0001"
            row[11], row[12] = "北海道札幌市中央区北一条西2丁目1-1", "札幌テストマンション101号室"
            row[15], row[19], row[21] = "山田 花子", "03-1234-5678", "150-0001"
            row[22], row[24], row[27] = "東京都渋谷区神宮前1-2-3", "テスト雑貨店", "手ぬぐい（藍）"
            row[37], row[39], row[41], row[82] = "1", "0312345678", "01", "ユーザーID"
            writer.writerow(row)
            body += 1
            written += 1
            if written == rows:
                break
    return out.getvalue().encode("cp932"), lookup


def run(data: bytes, lookup: dict[str, str]) -> tuple[int, int]:
    issued = parse_issued(data)
    result = match(issued, lookup)
    return len(issued.rows), result.slip_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    data, lookup = build_file(args.rows)
    rows, slips = run(data, lookup)                           # warm-up, and a sanity check
    if rows != args.rows or slips != args.rows:
        raise SystemExit(f"expected {args.rows} OK rows, got {rows} rows / {slips} slips")
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        run(data, lookup)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    run(data, lookup)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best, median = min(times), statistics.median(times)
    print(f"file: {len(data) / 1024 / 1024:.1f} MB, {rows} rows, {len(lookup)} orders; "
          f"{args.rounds} rounds, median {median * 1000:.0f} ms, best {best * 1000:.0f} ms")
    rate = rows / median
    verdict = "meets" if rate >= GOAL_ROWS_PER_SECOND else "MISSES"
    print(f"{rate:,.0f} rows/s ({verdict} the {GOAL_ROWS_PER_SECOND:,} rows/s goal, "
          f"{rate / GOAL_ROWS_PER_SECOND:.1f}x); peak memory {peak / 1024 / 1024:.1f} MB "
          f"({peak / len(data):.1f}x the file)")


if __name__ == "__main__":
    main()
