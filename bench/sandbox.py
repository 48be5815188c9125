"""Cost of one sandbox call with 100 vs 100,000 stored transactions (issue 8).

For each store (MemoryStore, SqliteStore in a temporary file) two simulators are built: one
holding ``--small`` and one holding ``--large`` transactions. They are bulk-seeded by cloning
a handful of transactions made through the API (approved, shipped, 審査中 with the decision
due in 30 days, SMS pending for 30 days, cancelled, paid, declined), so the stores hold every
kind of state, their indexes and a long due-time queue, and the SMS outbox is as long as the
number of SMS orders. Then the same calls run against both sizes, interleaved round by round
so machine noise hits both alike, through ``Simulator.exchange`` (the core both transports
use: fault check, validation, state, XML). Each call's figure is the median of ``--rounds``.

The last line is the ratio large/small of the summed medians, for the worse of the two
stores (goal: <= 1.2, i.e. a call costs the same whatever the store holds). Peak temporary
memory (tracemalloc) of one call is printed too. Ratios, not absolute timings, are the claim.

    .venv/bin/python bench/sandbox.py [--small 100] [--large 100000] [--rounds 30]
"""
from __future__ import annotations

import argparse
import copy
import logging
import statistics
import sys
import tempfile
import time
import tracemalloc
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_kuroneko.sandbox import MemoryStore, MerchantConfig, Simulator, SqliteStore  # noqa: E402
from flask_kuroneko.sandbox.context import OUTBOX_LOG  # noqa: E402
from flask_kuroneko.sandbox.store import Session  # noqa: E402

MERCHANT = "12345678901"
NOW = datetime(2024, 1, 1, 12, 0, 0)
MONTH = 30 * 86400
CONFIG = dict(review_delay_seconds=MONTH, sms={"ttl_seconds": MONTH},
              contracts={"bundle": True})


def slip_no(n: int) -> str:
    head = f"{4000_0000_000 + n:011d}"
    return head + str(int(head) % 7)


def form(order_no: str, **extra: str) -> dict[str, str]:
    return {"ycfStrCode": MERCHANT, "orderNo": order_no, "requestDate": "20240101120000",
            "password": "testpass", **extra}


def kaara(order_no: str, tel: str, **extra: str) -> dict[str, str]:
    fields = form(order_no, orderYmd="20240101", shipYmd="20240105", name="山田　太郎",
                  postCode="1000001", address1="東京都千代田区千代田１丁目１番", telNum=tel,
                  totalAmount="1100", sendDiv="0", itemName1="テスト商品", subTotal1="1100")
    fields.update(extra)
    return fields


def call(sim: Simulator, code: str, fields: dict[str, str]) -> bytes:
    ex = sim.exchange(code, urllib.parse.urlencode(fields).encode())
    if b"<returnCode>0</returnCode>" not in ex.body:
        raise SystemExit(f"{code} {fields.get('orderNo')} failed: {ex.body.decode()}")
    return ex.body


def templates() -> list[dict]:
    """One transaction of each kind, made through the API on a scratch simulator."""
    sim = Simulator(merchants={MERCHANT: MerchantConfig(**CONFIG)})
    sim.set_now(NOW)
    call(sim, "KAARA0010", kaara("A", "0311110001"))
    call(sim, "KAARA0010", kaara("S", "0311110002"))
    call(sim, "KAASL0010", form("S", processDiv="0", paymentNo=slip_no(0)))
    call(sim, "KAARA0010", kaara("R", "0311119993"))
    call(sim, "KAARA0010", kaara("M", "09011110004", sendDiv="3"))
    call(sim, "KAARA0010", kaara("C", "0311110005"))
    call(sim, "KAACL0010", form("C"))
    call(sim, "KAARA0010", kaara("P", "0311110006"))
    call(sim, "KAASL0010", form("P", processDiv="0", paymentNo=slip_no(1)))
    for step in (sim.deliver, sim.invoice, sim.pay):
        step(MERCHANT, "P")
    call(sim, "KAARA0010", kaara("N", "0311119991"))
    return sim.transactions()


def seed(sim: Simulator, size: int, kinds: list[dict]) -> None:
    """``size`` clones of ``kinds`` written in one store session (bulk seeding)."""
    sim.set_now(NOW)
    sim.store.begin()
    try:
        session = Session(sim.store)
        for i in range(size):
            tx = copy.deepcopy(kinds[i % len(kinds)])
            tel = f"09{i // 2:09d}" if tx["sms"] else f"03{i // 2:08d}"
            tx.update(orderNo=f"B{i:07d}", seq=i + 1, buyer=tel)
            tx["billing"]["telNum"] = tel
            for n, entry in enumerate(tx["slips"]):
                entry["paymentNo"] = slip_no(10 * i + n + 10)
            session.put_tx(tx)
            if tx["sms"]:
                session.append_log(OUTBOX_LOG, {
                    "merchant": MERCHANT, "orderNo": tx["orderNo"], "telNum": tel,
                    "code": tx["sms"]["code"], "sent_at": tx["sms"]["sent_at"]},
                    (MERCHANT, tx["orderNo"]))
        session.put_meta("seq", {"tx": size})
        session.commit()
    finally:
        sim.store.end()


class Calls:
    """The timed calls of one simulator; ``prepare`` makes what round ``r`` needs."""

    def __init__(self, sim: Simulator, size: int, tag: str):
        self.sim, self.size, self.tag = sim, size, tag

    def seeded(self, r: int) -> str:
        """A seeded transaction spread over the store, never a cancelled one (KAARS)."""
        i = (r * 7919) % self.size
        if self.sim.transaction(MERCHANT, f"B{i:07d}")["status"] == 2:
            i = (i + 1) % self.size
        return f"B{i:07d}"

    def prepare(self, r: int) -> None:
        for i, name in enumerate(("SL", "KK", "CL")):           # 10-digit landlines
            call(self.sim, "KAARA0010", kaara(f"{name}{self.tag}{r}", f"04{r:04d}{i}000"))
        call(self.sim, "KAARA0010", kaara(f"SA{self.tag}{r}", f"080{r:04d}0001", sendDiv="3"))

    def table(self, r: int) -> dict[str, Callable[[], object]]:
        sim, t = self.sim, self.tag
        return {
            "KAARA0010 new buyer": lambda: call(sim, "KAARA0010",
                                                kaara(f"NA{t}{r}", f"0422{r:06d}")),
            "KAARA0010 known buyer": lambda: call(sim, "KAARA0010",
                                                  kaara(f"KA{t}{r}", f"03{r * 3:08d}")),
            "KAAST0010": lambda: call(sim, "KAAST0010", form(self.seeded(r))),
            "KAARS0010": lambda: call(sim, "KAARS0010", form(self.seeded(r + 1))),
            "KAASL0010": lambda: call(sim, "KAASL0010", form(
                f"SL{t}{r}", processDiv="0", paymentNo=slip_no(9_000_000 + r))),
            "KAAKK0010": lambda: call(sim, "KAAKK0010", form(
                f"KK{t}{r}", postCode="1000001", address1="東京都千代田区千代田１丁目１番",
                itemName1="テスト商品", subTotal1="1000", totalAmount="1000")),
            "KAACL0010": lambda: call(sim, "KAACL0010", form(f"CL{t}{r}")),
            "KAASA0020": lambda: call(sim, "KAASA0020", form(f"SA{t}{r}", ninCode="1234")),
            "tick": sim.tick,
        }


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def peak_kib(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def measure(kind: str, make_store: Callable[[str], object], sizes: tuple[int, int],
            rounds: int, kinds: list[dict]) -> float:
    sims = {}
    for size in sizes:
        start = time.perf_counter()
        sim = Simulator(merchants={MERCHANT: MerchantConfig(**CONFIG)},
                        store=make_store(f"{size}"))
        seed(sim, size, kinds)
        sims[size] = Calls(sim, size, f"x{size}")
        print(f"  {kind}: seeded {size:>7,} transactions in {time.perf_counter() - start:5.1f} s",
              flush=True)
    samples: dict[int, dict[str, list[float]]] = {size: {} for size in sizes}
    for r in range(-2, rounds):                       # two warm-up rounds
        for size in sizes:
            calls = sims[size]
            calls.prepare(r + 2)
            for name, fn in calls.table(r + 2).items():
                elapsed = timed(fn)
                if r >= 0:
                    samples[size].setdefault(name, []).append(elapsed)
    small, large = sizes
    print(f"  {'call':<24}{small:>10,} tx{large:>12,} tx   ratio")
    totals = {size: 0.0 for size in sizes}
    for name in samples[small]:
        med = {size: statistics.median(samples[size][name]) for size in sizes}
        for size in sizes:
            totals[size] += med[size]
        print(f"  {name:<24}{med[small] * 1000:>9.3f} ms{med[large] * 1000:>12.3f} ms"
              f"{med[large] / med[small]:>8.2f}")
    ratio = totals[large] / totals[small]
    print(f"  {'all calls (sum)':<24}{totals[small] * 1000:>9.3f} ms"
          f"{totals[large] * 1000:>12.3f} ms{ratio:>8.2f}")
    peaks = {size: peak_kib(lambda s=size: call(sims[s].sim, "KAAST0010",
                                                  form(sims[s].seeded(rounds + 7))))
             for size in sizes}
    print(f"  peak temporary memory of one KAAST0010: {peaks[small]:,.0f} KiB vs "
          f"{peaks[large]:,.0f} KiB (ratio {peaks[large] / peaks[small]:.2f})")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30, help="samples per call and size")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    kinds = templates()
    sizes = (args.small, args.large)
    ratios = {}
    with tempfile.TemporaryDirectory() as tmp:
        print("MemoryStore")
        ratios["memory"] = measure("memory", lambda name: MemoryStore(), sizes, args.rounds,
                                   kinds)
        print("SqliteStore")
        ratios["sqlite"] = measure("sqlite", lambda name: SqliteStore(f"{tmp}/{name}.sqlite"),
                                   sizes, args.rounds, kinds)
    worst = max(ratios, key=ratios.get)
    print(f"ratio large/small ({args.large:,} vs {args.small:,} transactions, worse store: "
          f"{worst}): {ratios[worst]:.2f} (goal <= 1.2)")


if __name__ == "__main__":
    main()
