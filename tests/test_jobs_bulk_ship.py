"""Bulk 「発送済み」 (M18) as a job through ``kuroneko.start_bulk_ship``: a mixed selection
(other carrier with and without 他社配送オプション, Yamato with and without 送り状番号, a 銀行振込
order, an unknown id, a payment not in 与信, one already captured, one Yamato refuses), each
decided with its reason; one Yamato call per captured order."""
from __future__ import annotations

from flask_kuroneko import payments
from flask_kuroneko.settings import save_settings
from hosts import simple_shop
from jobs_support import UNUSABLE_SLIP, authorized, history_ok, items, run, ship, slips
from service_support import OTHER, YAMATO


def by_order(job) -> dict[str, object]:
    return {item.key: item for item in items(job)}


def test_mixed_selection_each_order_decided_with_its_reason(app, kuroneko, shop, simulator,
                                                            calls):
    save_settings({"other_carrier_enabled": True})
    numbers = slips()
    other, yamato, no_slip, refused, already, cancelled = authorized(kuroneko, shop, 6)
    ids = {
        "other": ship(other, OTHER),
        "yamato": ship(yamato, YAMATO, next(numbers)),
        "no_slip": ship(no_slip, YAMATO),
        "refused": ship(refused, YAMATO, UNUSABLE_SLIP),
        "already": ship(already, YAMATO, next(numbers)),
        "cancelled": ship(cancelled, OTHER),
    }
    already_slip = simple_shop.db.session.get(simple_shop.ShopOrder, ids["already"]).tracking_no
    payments.capture(already.id, carrier=YAMATO, tracking_no=already_slip)
    payments.cancel(cancelled.id)
    bank = simple_shop.make_order(status=simple_shop.SHIPPED)      # paid otherwise
    simple_shop.db.session.commit()
    calls.reset()
    job = kuroneko.start_bulk_ship([*ids.values(), bank.id, "424242", ids["other"]],
                                   actor="admin")
    assert job.total == 8                         # the repeated id counts once
    job = run(job)
    got = by_order(job)
    outcome = {name: (got[str(i)].outcome, got[str(i)].code) for name, i in ids.items()}
    assert outcome == {
        "other": ("captured", None), "yamato": ("captured", None),
        "no_slip": ("skipped", "capture_rule"), "refused": ("error", "kaasl015E"),
        "already": ("already", "already"), "cancelled": ("skipped", "status"),
    }
    assert "B2出荷データ取込" in got[str(ids["no_slip"])].message
    assert "送り状番号が入力されていない" in got[str(ids["no_slip"])].message
    assert (got[str(bank.id)].outcome, got[str(bank.id)].code) == ("skipped", "not_atobarai")
    assert (got["424242"].outcome, got["424242"].code) == ("skipped", "no_order")
    assert calls["KAASL0010"] == 3                # other, yamato, refused: one each
    assert payments.get_payment(other.id).process_div == 2
    assert payments.get_payment(yamato.id).status == "captured"
    assert payments.get_payment(no_slip.id).status == "authorized"
    for p in (other, yamato, already):
        assert history_ok(p.id) == 1
    # the payment of each item is shown (決済ID), also for skipped ones
    assert got[str(ids["no_slip"])].order_no == no_slip.order_no


def test_other_carrier_without_the_option_is_skipped(app, kuroneko, shop, calls):
    [p] = authorized(kuroneko, shop)
    order_id = ship(p, OTHER)
    calls.reset()
    job = run(kuroneko.start_bulk_ship([order_id]))
    [item] = items(job)
    assert (item.outcome, item.code) == ("skipped", "capture_rule")
    assert "他社配送オプション" in item.message
    assert calls["KAASL0010"] == 0


class InFlight:
    """Counts the Yamato calls in progress at once (a spy on the sandbox; answers untouched)."""

    def __init__(self, simulator, monkeypatch):
        import threading
        self.now = self.most = 0
        self.lock = threading.Lock()
        original = simulator.exchange

        def exchange(code, raw_body, **kw):
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                return original(code, raw_body, **kw)
            finally:
                with self.lock:
                    self.now -= 1

        monkeypatch.setattr(simulator, "exchange", exchange)


def test_items_run_concurrently_within_the_bound_each_once(app, kuroneko, shop, simulator,
                                                           calls, monkeypatch):
    save_settings({"other_carrier_enabled": True})
    paid = authorized(kuroneko, shop, 12)
    ids = [ship(p, OTHER) for p in paid]
    simulator.inject_fault("latency", operation="KAASL0010", seconds=0.2, times=None)
    app.config["KURONEKO_BULK_CONCURRENCY"] = 3
    in_flight = InFlight(simulator, monkeypatch)
    calls.reset()
    job = run(kuroneko.start_bulk_ship(ids))
    assert {item.outcome for item in items(job)} == {"captured"}
    assert calls["KAASL0010"] == 12
    assert 2 <= in_flight.most <= 3, in_flight.most     # parallel, never above the bound


def test_a_capture_yamato_refuses_up_front_is_skipped_with_the_reason(app, kuroneko, shop,
                                                                      calls):
    """Yamato's last known state is final (取消済み in Yamato's own screen, learned by the
    sync): the pipeline refuses before any request and the item says why — once, without
    waiting for retries."""
    import sqlalchemy as sa
    from flask_kuroneko.yamato.codes import TransactionStatus as TS
    from service_support import models
    [p] = authorized(kuroneko, shop)
    order_id = ship(p, YAMATO, next(slips()))
    P = models().Payment
    simple_shop.db.session.execute(sa.update(P).where(P.id == p.id)
                                   .values(yamato_status=int(TS.CANCELLED)))
    simple_shop.db.session.commit()
    calls.reset()
    job = run(kuroneko.start_bulk_ship([order_id]))
    [item] = items(job)
    assert (item.outcome, item.code, item.attempts) == ("skipped", "refused", 1)
    assert "取消済み" in item.message
    assert calls["KAASL0010"] == 0
