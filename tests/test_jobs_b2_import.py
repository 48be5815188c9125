"""「B2出荷データ取込」 as a job: every row kind, several slips per order, the host told,
re-import idempotency, conflicts, Yamato errors and 失敗分を再実行, and files refused as a
whole (nothing created). Real layers: simple_shop host, jobs engine, payments pipeline,
client, in-process sandbox (only counted, never answered for)."""
from __future__ import annotations

import pytest

from flask_kuroneko import jobs
from flask_kuroneko.b2 import FileRefused
from flask_kuroneko.jobs import store
from hosts import simple_shop
from jobs_support import (UNUSABLE_SLIP, authorized, history_ok, issued_file, items, outcomes,
                          run, slips, yamato_events)
from service_support import models, rows, tx


def start(data: bytes, name: str = "issued.csv"):
    return jobs.start_b2_import(data, filename=name, actor="admin")


def order_of(payment):
    return simple_shop.db.session.get(simple_shop.ShopOrder, int(payment.host_order_id))


def test_every_row_kind_in_one_file(app, kuroneko, shop, simulator, calls):
    p1, p2, p3, p4, p5 = authorized(kuroneko, shop, 5)
    numbers = slips()
    n1, n2a, n2b, n5 = next(numbers), next(numbers), next(numbers), next(numbers)
    simple_shop.db.session.commit()
    # p4 was captured before (the admin's own edit) with the number the file has
    from flask_kuroneko import payments
    payments.capture(p4.id, carrier="クロネコヤマト", tracking_no=n5)
    data = issued_file([
        (p1.order_no, n1),                       # 1 売上確定
        (f"{p2.order_no}-1", n2a),               # 2 two parcels of one order
        (f"{p2.order_no}-2", n2b),               # 3
        (p3.order_no, "450102030454"),           # 4 invalid check digit
        (p3.order_no, ""),                       # 5 no 伝票番号 (not issued)
        ("", next(numbers)),                     # 6 no お客様管理番号
        ("99999", next(numbers)),                # 7 not our order
        (p4.order_no, n5),                       # 8 already captured with this number
        (p1.order_no, n1),                       # 9 the same row again
        (p5.order_no, UNUSABLE_SLIP),            # 10 Yamato refuses the number
    ])
    calls.reset()
    job = start(data)
    assert job.state == "queued" and job.total == 9 and job.params["rows"] == 10
    job = run(job)
    assert job.state == "done"
    got = {(item.key, item.outcome, item.code) for item in items(job)}
    assert got == {
        (p1.order_no, "captured", None),
        (f"{p2.order_no}-1・{p2.order_no}-2", "captured", None),
        (p3.order_no, "invalid_slip", "invalid_slip:check_digit"),
        (p3.order_no, "invalid_slip", "missing_slip"),
        ("", "invalid_row", "missing_key"),
        ("99999", "unknown_order", "unknown_order"),
        (p4.order_no, "already", "already"),
        (p1.order_no, "skipped", "duplicate"),
        (p5.order_no, "error", "kaasl015E"),
    }
    # the report follows the file: row numbers as a spreadsheet shows them
    assert [(item.params["lines"]) for item in items(job)][:3] == [[1], [2, 3], [4]]
    # one shipment registration per order that needed one; none for the rest
    assert calls["KAASL0010"] == 3
    for p in (p1, p2, p4):
        assert payments.get_payment(p.id).status == "captured"
        assert yamato_events(simulator, p.order_no)["slip_registered"] == 1
    assert payments.get_payment(p5.id).status == "authorized"
    assert payments.get_payment(p3.id).status == "authorized"
    # the host was told (first number), in the same commit as the capture
    assert (order_of(p1).status, order_of(p1).tracking_no) == ("発送済み", n1)
    assert order_of(p2).tracking_no == n2a
    assert order_of(p3).status == "新規受付" and order_of(p4).tracking_no is None
    [two] = [item for item in items(job) if item.payment_id == p2.id]
    assert two.params["tracking_nos"] == [n2a, n2b] and n2b in two.message
    [error] = [item for item in items(job) if item.outcome == "error"]
    assert "ヤマトのエラー" in error.message
    assert jobs.progress(job)["groups"] == {"captured": 2, "skipped": 6, "error": 1}


def test_reimport_of_the_same_file_registers_nothing_twice(app, kuroneko, shop, simulator,
                                                           calls):
    payments_ = authorized(kuroneko, shop, 3)
    numbers = slips()
    data = issued_file([(p.order_no, next(numbers)) for p in payments_])
    first = run(start(data))
    assert set(outcomes(first).values()) == {"captured"}
    calls.reset()
    second = start(data)
    assert second.params["previous_job"] == first.id
    second = run(second)
    assert set(outcomes(second).values()) == {"already"}
    assert calls["KAASL0010"] == 0
    for p in payments_:
        assert history_ok(p.id) == 1
        assert yamato_events(simulator, p.order_no)["slip_registered"] == 1


def test_a_different_number_for_a_captured_order_is_a_conflict_not_an_overwrite(
        app, kuroneko, shop, simulator, calls):
    [p] = authorized(kuroneko, shop)
    numbers = slips()
    old, new = next(numbers), next(numbers)
    run(start(issued_file([(p.order_no, old)])))
    calls.reset()
    job = run(start(issued_file([(p.order_no, new)])))
    [item] = items(job)
    assert (item.outcome, item.code) == ("skipped", "conflict")
    assert old in item.message and new in item.message
    assert calls["KAASL0010"] == 0
    from flask_kuroneko import payments
    assert payments.get_payment(p.id).tracking_no == old
    assert order_of(p).tracking_no == old


def test_header_row_utf8_bom_and_lf_are_read_like_b2s_own_file(app, kuroneko, shop):
    p1, p2 = authorized(kuroneko, shop, 2)
    numbers = slips()
    data = issued_file([(p1.order_no, next(numbers)), (p2.order_no, next(numbers))],
                       header=True, encoding="utf-8", bom=True, newline="\n")
    job = run(start(data))
    assert job.params["has_header"] and job.params["encoding"] == "utf-8-sig"
    assert set(outcomes(job).values()) == {"captured"}


def test_orders_that_cannot_be_captured_are_skipped_with_the_reason(app, kuroneko, shop, calls):
    from flask_kuroneko import payments
    cancelled, other_delivery = authorized(kuroneko, shop, 1) + authorized(
        kuroneko, shop, 1, delivery_method_id=shop["other_delivery"])
    payments.cancel(cancelled.id)
    numbers = slips()
    calls.reset()
    job = run(start(issued_file([(cancelled.order_no, next(numbers)),
                                 (other_delivery.order_no, next(numbers))])))
    got = {item.payment_id: item for item in items(job)}
    assert got[cancelled.id].code == "status" and "取消済み" in got[cancelled.id].message
    assert got[other_delivery.id].code == "capture_rule"
    assert "クロネコヤマト配送" in got[other_delivery.id].message
    assert calls["KAASL0010"] == 0
    # a skipped order is not marked shipped in the host
    assert order_of(cancelled).status == "新規受付"


def test_failed_items_run_again_with_retry(app, kuroneko, shop, simulator, calls):
    p1, p2 = authorized(kuroneko, shop, 2)
    numbers = slips()
    simulator.inject_fault("error", operation="KAASL0010", order_no=p2.order_no,
                           error_code="err0002")
    job = run(start(issued_file([(p1.order_no, next(numbers)), (p2.order_no, next(numbers))])))
    assert outcomes(job) == {p1.order_no: "captured", p2.order_no: "error"}
    assert jobs.progress(job)["failed"] == 1
    calls.reset()
    assert jobs.retry_failed(job.id) == 1
    assert store.get_job(job.id).state == "queued"
    job = run(store.get_job(job.id))
    assert outcomes(job) == {p1.order_no: "captured", p2.order_no: "captured"}
    assert calls["KAASL0010"] == 1          # only the failed one was sent again
    assert yamato_events(simulator, p1.order_no)["slip_registered"] == 1


def test_an_unanswered_capture_is_settled_from_yamato_before_the_item_is_decided(
        app, kuroneko, shop, simulator, calls):
    """The request reached Yamato but the answer was lost: the item waits, then the status
    inquiry shows the slip registered — 売上確定, with exactly one registration."""
    [p] = authorized(kuroneko, shop)
    simulator.inject_fault("drop", operation="KAASL0010", order_no=p.order_no)
    calls.reset()
    job = start(issued_file([(p.order_no, next(slips()))]))
    report = jobs.run_job(job.id)                 # one pass: the item is given back
    assert not report.finished
    [item] = items(job)
    assert item.state == "pending" and "確認中" in item.message
    from flask_kuroneko.models import utcnow
    simple_shop.db.session.execute(
        sa_update_due(item.id, utcnow()))
    simple_shop.db.session.commit()
    job = run(store.get_job(job.id))
    [item] = items(job)
    assert item.outcome == "captured", item.message
    assert calls["KAASL0010"] == 1 and calls["KAAST0010"] >= 1
    assert yamato_events(simulator, p.order_no)["slip_registered"] == 1
    assert [op.state for op in rows(models().Operation, payment_id=p.id)
            if op.operation == "capture"] == ["done"]


def sa_update_due(item_id, when):
    import sqlalchemy as sa
    I = models().JobItem
    return sa.update(I).where(I.id == item_id).values(next_attempt_at=when)


@pytest.mark.parametrize("data, code", [
    (b"", "empty"),
    ("お客様管理番号,伝票番号\r\n".encode("utf-16"), "encoding"),
    (b"PK\x03\x04" + b"\x00" * 200, "binary"),
    (b'"1","2"\r\n"3","4"\r\n', "columns"),
    ("\"1\",\"0\",\"0\",\"4.50102E+11\"\r\n".encode(), "spreadsheet"),
    (b'"\x82\xa0\x85\x40","0","0","450102030405"\r\n', "encoding"),
])
def test_a_refused_file_changes_nothing(app, kuroneko, shop, data, code):
    with pytest.raises(FileRefused) as refused:
        start(data)
    assert refused.value.code == code and refused.value.message
    assert rows(models().Job) == [] and rows(models().JobItem) == []


def test_a_file_over_the_limit_is_refused_unread(app, kuroneko, shop):
    import io

    class Unreadable(io.BytesIO):
        def read(self, *args):                  # the size is known: nothing may be read
            raise AssertionError("read")

    big = Unreadable(b"x" * (21 * 1024 * 1024))
    with pytest.raises(FileRefused) as refused:
        start(big)
    assert refused.value.code == "too_large"
    assert rows(models().Job) == []


def test_rows_of_unknown_and_bad_keys_only_make_a_job_without_work(app, kuroneko, shop):
    job = start(issued_file([("ZZ-999", next(slips())), ("=HYPERLINK(\"x\")", "450102030454")]))
    assert job.state == "done"                 # nothing to run: born finished
    assert {i.outcome for i in items(job)} == {"unknown_order", "invalid_slip"}
    csv_text = jobs.results_csv(job, items(job))
    assert "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text
