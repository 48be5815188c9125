"""Checkout cost of クロネコ代金後払い (払込票タイプ) vs 銀行振込 in the example shop.

Both run the same customer flow through the Flask test client in the same process
(catalogue → cart → お客様情報 → お支払方法 → 確認 → 「上記内容で注文する」 → 完了), on SQLite,
against the in-process sandbox with zero latency. The ratio is the extension's own overhead
(availability and dry-run checks, the payment row, journal and pre-payment log, the client,
plus the simulator's processing); it is a ratio, not an absolute timing claim.

Fair by construction: the two methods alternate which goes first in each round (neither
always runs on a warmer cache), and the sandbox is reset between rounds so its growing store
does not tax the later 後払い checkouts.

    .venv/bin/python bench/checkout.py [--rounds 40]
"""
from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from example_shop import create_app  # noqa: E402
from example_shop.testing import ShopDriver  # noqa: E402


_buyers = itertools.count(1)


def one_checkout(app, method: str) -> float:
    driver = ShopDriver(app.test_client())
    # A new buyer (phone) each time: the sandbox applies Yamato's per-buyer credit limit, and
    # the last four digits stay clear of the sandbox's scenario triggers (99xx).
    phone = f"03{next(_buyers):08d}"
    start = time.perf_counter()
    response = driver.buy(method, phone=phone)
    final = driver.get(response.location)
    elapsed = time.perf_counter() - start
    if "ご注文ありがとうございました" not in final.get_data(as_text=True):
        raise SystemExit(f"{method} checkout did not complete: {response.location}")
    return elapsed


def _simulator(app):
    from flask_kuroneko.state import current_state
    with app.app_context():
        return current_state().get_simulator()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="checkouts per method")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SECRET_KEY": "bench", "SHOP_SANDBOX_MOUNT": None,
                          "SHOP_SHARED_SANDBOX": False,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite"})
        for method in ("bank", "invoice"):          # warm-up: imports, template compilation
            one_checkout(app, method)
        times: dict[str, list[float]] = {"bank": [], "invoice": []}
        simulator = _simulator(app)
        for round_no in range(args.rounds):
            order = ("bank", "invoice") if round_no % 2 == 0 else ("invoice", "bank")
            for method in order:
                times[method].append(one_checkout(app, method))
            simulator.reset()                        # the sandbox's size must not drift
    bank = statistics.median(times["bank"])
    invoice = statistics.median(times["invoice"])
    print(f"checkouts per method: {args.rounds} (median of each)")
    print(f"  銀行振込             {bank * 1000:8.1f} ms per checkout")
    print(f"  後払い（払込票タイプ） {invoice * 1000:8.1f} ms per checkout")
    print(f"ratio 後払い / 銀行振込: {invoice / bank:.2f}")


if __name__ == "__main__":
    main()
