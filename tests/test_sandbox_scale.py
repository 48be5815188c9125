"""A sandbox call touches only the transactions it concerns (issue 8), and the due-time queue
applies clock-driven changes exactly as the old evaluate-everything loop did.

Structural, not timed: the stores are wrapped to count what a call reads, and the counts must
not grow with the number of stored transactions (timings live in ``bench/sandbox.py``).
Every test runs on both stores.
"""
from __future__ import annotations

import copy
import json
import sqlite3
import tempfile
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_kuroneko.sandbox import MemoryStore, MerchantConfig, Simulator, SqliteStore
from flask_kuroneko.sandbox import sandbox_session as make_session
from flask_kuroneko.sandbox import schedule
from flask_kuroneko.sandbox.clock import micros
from flask_kuroneko.sandbox.context import OUTBOX_LOG
from flask_kuroneko.sandbox.store import Session
from flask_kuroneko.yamato.timezone import JST
from test_sandbox_support import (MERCHANT, NOW, authorize, basic_form, change_form, post, ship,
                                  slip_no, status_of)

URL = "https://shop.example.jp/kuroneko/push"
STORES = ["memory", "sqlite"]


def make_store(kind: str, tmp_path) -> MemoryStore | SqliteStore:
    return MemoryStore() if kind == "memory" else SqliteStore(str(tmp_path / "state.sqlite"))


class Counting:
    """A store wrapper that counts which backend reads a call makes."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: dict[str, int] = {}
        self.loaded = 0

    def reset(self) -> None:
        self.calls, self.loaded = {}, 0

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            result = method(*args, **kwargs)
            if name == "load_tx":
                self.loaded += result is not None
            elif name != "load_meta" and isinstance(result, (list, set, dict)):
                self.loaded += len(result)     # rows of any query: listings, indexes, logs
            return result

        return counted


def seed(sim: Simulator, size: int) -> None:
    """``size`` stored transactions of every kind (cloned from API-made ones), in one session."""
    scratch = Simulator(merchants={MERCHANT: MerchantConfig(review_delay_seconds=86400 * 30,
                                                            sms={"ttl_seconds": 86400 * 30})})
    scratch.set_now(NOW)
    session = make_session(scratch)
    authorize(session, "A")
    authorize(session, "S")
    ship(session, "S")
    authorize(session, "R", telNum="0312349993")
    authorize(session, "M", sendDiv="3", telNum="09012345678")
    authorize(session, "C")
    post(session, "KAACL0010", basic_form("C"))
    kinds = scratch.transactions()
    sim.store.begin()
    try:
        store_session = Session(sim.store)
        for i in range(size):
            tx = copy.deepcopy(kinds[i % len(kinds)])
            tx.update(orderNo=f"B{i:06d}", seq=i + 1, buyer=f"03{i:08d}")
            for entry in tx["slips"]:
                entry["paymentNo"] = slip_no(1000 + i)
            store_session.put_tx(tx)
            if tx["sms"]:
                message = {"merchant": MERCHANT, "orderNo": tx["orderNo"], "code": "1234"}
                store_session.append_log(OUTBOX_LOG, message, (MERCHANT, tx["orderNo"]))
        store_session.put_meta("seq", {"tx": size})
        store_session.commit()
    finally:
        sim.store.end()


def reads_per_call(kind: str, tmp_path, size: int) -> dict[str, tuple[int, dict]]:
    counting = Counting(make_store(kind, tmp_path))
    sim = Simulator(merchants={MERCHANT: MerchantConfig(review_delay_seconds=86400 * 30,
                                                        sms={"ttl_seconds": 86400 * 30})},
                    store=counting)
    sim.set_now(NOW)
    seed(sim, size)
    session = make_session(sim)
    calls = {
        "KAARA0010": lambda: authorize(session, "N1", telNum="0400000001"),
        "KAARA0010 same buyer": lambda: authorize(session, "N2", telNum="0400000001"),
        "KAAST0010": lambda: status_of(session, "B000007"),
        "KAASL0010": lambda: ship(session, "N1", slip_no(1)),
        "KAASL0010 shared slip": lambda: ship(session, "N2", slip_no(1)),
        "KAAKK0010": lambda: post(session, "KAAKK0010", change_form("N2", total=900)),
        "KAACL0010": lambda: post(session, "KAACL0010", basic_form("N1")),
        "KAASA0020": lambda: post(session, "KAASA0020", basic_form("B000003", ninCode="1234")),
        "tick": sim.tick,
        "transaction": lambda: sim.transaction(MERCHANT, "B000004"),
        "sms_messages": lambda: sim.sms_messages(MERCHANT, "B000003"),
        "UI page": lambda: sim.recent_transactions(20),
    }
    found = {}
    for name, call in calls.items():
        counting.reset()
        call()
        found[name] = (counting.loaded, dict(counting.calls))
    return found


@pytest.mark.parametrize("kind", STORES)
def test_a_call_reads_only_what_it_concerns(kind, tmp_path):
    for size in ("small", "large"):
        (tmp_path / size).mkdir()
    small = reads_per_call(kind, tmp_path / "small", 50)
    large = reads_per_call(kind, tmp_path / "large", 600)
    assert large == small                   # the same reads, whatever the store holds
    for name, (loaded, calls) in large.items():
        assert "load_txs" not in calls or name == "UI page", name
        assert loaded <= 20, (name, loaded)
    assert large["KAAST0010"][0] == 1 and large["KAASL0010"][0] == 1


@pytest.mark.parametrize("kind", STORES)
def test_the_old_full_scan_would_fail_this_check(kind, tmp_path):
    """The counting wrapper does see a listing: the check above is not vacuous."""
    counting = Counting(make_store(kind, tmp_path))
    sim = Simulator(store=counting)
    sim.set_now(NOW)
    seed(sim, 30)
    counting.reset()
    assert len(sim.transactions()) == 30
    assert counting.loaded == 30 and counting.calls["load_txs"] == 1


# --------------------------------------------------------------------------- due-time order


def pushing_simulator(kind, tmp_path, received, **config) -> Simulator:
    sim = Simulator(merchants={MERCHANT: MerchantConfig(notify_url=URL, **config)},
                    store=make_store(kind, tmp_path),
                    push_transport=lambda url, data: received.append(dict(data)) or 200)
    sim.set_now(NOW)
    return sim


@pytest.mark.parametrize("kind", STORES)
def test_a_clock_jump_applies_due_changes_in_due_time_order(kind, tmp_path):
    """Created in one order, due in the reverse one: pushes, history dates and the push log
    follow the due times, and every change is dated at its own due time."""
    received: list[dict] = []
    sim = pushing_simulator(kind, tmp_path, received, sms={"ttl_seconds": 300},
                            contracts={"sms_validity": True}, review_delay_seconds=120)
    session = make_session(sim)
    authorize(session, "S1", sendDiv="3", telNum="09011110001")   # expires at +300 s
    sim.advance(60)
    authorize(session, "V1", sendDiv="4", telNum="09011119993")   # decided at +60+120 s
    sim.advance(60)
    authorize(session, "S2", sendDiv="3", telNum="09011110002")   # expires at +120+300 s
    received.clear()
    sim.advance(3600)
    assert [(p["juchuNo"], p["giftKb"]) for p in received] == [("V1", "4"), ("S1", "3"),
                                                               ("S2", "3")]
    assert [e["data"]["juchuNo"] for e in sim.push_log] == ["V1", "S1", "S2"]
    start = NOW.replace(tzinfo=JST)
    expected = {"S1": start + timedelta(seconds=300), "V1": start + timedelta(seconds=180),
                "S2": start + timedelta(seconds=420)}
    for order_no, due in expected.items():
        last = sim.transaction(MERCHANT, order_no)["history"][-1]
        assert datetime.fromisoformat(last["at"]) == due, order_no


@pytest.mark.parametrize("kind", STORES)
def test_sms_expires_strictly_after_its_ttl(kind, tmp_path):
    sim = pushing_simulator(kind, tmp_path, [], sms={"ttl_seconds": 180})
    session = make_session(sim)
    authorize(session, sendDiv="3", telNum="09012345678")
    sim.advance(180)
    assert status_of(session)[0] == "30"                  # still good at expires_at itself
    sim.advance(0.000001)
    assert status_of(session)[0] == "31"


@pytest.mark.parametrize("kind", STORES)
def test_auto_advance_switched_on_later_catches_up(kind, tmp_path):
    sim = Simulator(store=make_store(kind, tmp_path))
    sim.set_now(NOW)
    session = make_session(sim)
    authorize(session)
    ship(session)
    sim.advance(30 * 86400)
    assert status_of(session)[0] == "3"                   # auto_advance is off
    sim.configure_merchant(MERCHANT, auto_advance=True)
    tx = sim.transaction(MERCHANT, "T0001")
    assert tx["status"] == 12
    assert [h["event"] for h in tx["history"]][-3:] == ["delivered", "invoice_issued", "paid"]
    assert tx["paid_at"] == "2024-01-11T12:00:00+09:00"    # dated at the due times
    sim.configure_merchant(MERCHANT, auto_advance=False)
    authorize(session, "T0002")
    ship(session, "T0002", slip_no(2))
    sim.advance(30 * 86400)
    assert status_of(session, "T0002")[0] == "3"          # switched off again


@pytest.mark.parametrize("kind", STORES)
def test_warning_follows_the_clock_both_ways(kind, tmp_path):
    """警報 1 appears 7 days after shipYmd and disappears if the clock is set back."""
    sim = Simulator(store=make_store(kind, tmp_path))
    sim.set_now(NOW)
    session = make_session(sim)
    authorize(session)                                     # shipYmd 2024-01-05
    sim.set_now(datetime(2024, 1, 13))
    assert status_of(session) == ("1", "1") and sim.transaction(MERCHANT, "T0001")["warning"] == 1
    sim.set_now(datetime(2024, 1, 12, 23, 59))
    assert status_of(session) == ("1", "0") and sim.transactions()[0]["warning"] == 0
    post(session, "KAACL0010", basic_form())
    sim.set_now(datetime(2024, 2, 1))
    assert status_of(session) == ("2", "0")


def test_memory_store_compacts_its_due_heaps(tmp_path):
    store = MemoryStore()
    store.compact_slack = 0
    sim = Simulator(merchants={MERCHANT: MerchantConfig(auto_advance=True)}, store=store)
    sim.set_now(NOW)
    session = make_session(sim)
    for n in range(5):
        authorize(session, f"A{n}", telNum=f"031234000{n}")
        ship(session, f"A{n}", slip_no(n))
        ship(session, f"A{n}", slip_no(n + 10))           # a second slip: reschedules nothing
        post(session, "KAASL0010", basic_form(f"A{n}", processDiv="9"))
        ship(session, f"A{n}", slip_no(n + 20))            # shipped again: a new due time
    sim.advance(30 * 86400)
    assert {tx["status"] for tx in sim.transactions()} == {12}


# --------------------------------------------------------------------------- SQLite file


def test_a_state_file_of_the_old_layout_is_migrated(tmp_path):
    """Files written before the index columns (user_version 0) open and keep working."""
    old = Simulator(merchants={MERCHANT: MerchantConfig(notify_url=URL)},
                    push_transport=lambda url, data: 200)
    old.set_now(NOW)
    session = make_session(old)
    authorize(session, "R1", telNum="0312349993")
    authorize(session, "S1", sendDiv="3", telNum="09012345678")
    post(session, "KAASA0020", basic_form("S1", ninCode="1234"))
    authorize(session, "A1", telNum="0312340001")
    ship(session, "A1")
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE sim_tx (merchant TEXT NOT NULL, order_no TEXT NOT NULL, "
                 "data TEXT NOT NULL, PRIMARY KEY (merchant, order_no))")
    conn.execute("CREATE TABLE sim_meta (name TEXT PRIMARY KEY, data TEXT NOT NULL)")
    for tx in old.transactions():
        conn.execute("INSERT INTO sim_tx VALUES (?,?,?)", (MERCHANT, tx["orderNo"], json.dumps(tx)))
    for name, value in (("outbox", old.sms_outbox), ("push_log", old.push_log),
                        ("clock", {"frozen": NOW.isoformat(), "offset": 0}),
                        ("seq", {"tx": 3})):
        conn.execute("INSERT INTO sim_meta VALUES (?,?)", (name, json.dumps(value)))
    conn.commit()
    conn.close()

    sim = Simulator(store=SqliteStore(str(path)))
    assert [tx["orderNo"] for tx in sim.transactions()] == ["R1", "S1", "A1"]
    assert sim.sms_messages(MERCHANT, "S1") == old.sms_outbox
    assert [e["data"]["juchuNo"] for e in sim.push_log] == ["S1"]
    sim.advance(600)                                       # the old 審査中 is in the queue
    assert sim.transaction(MERCHANT, "R1")["status"] == 1
    new_session = make_session(sim)
    post(new_session, "KAASL0010", basic_form("R1", processDiv="0", paymentNo=slip_no(1)))
    post(new_session, "KAASL0010", basic_form("S1", processDiv="0", paymentNo=slip_no(1)))
    authorize(new_session, "A2", telNum="0312340002")
    assert post(new_session, "KAASL0010", basic_form(
        "A2", processDiv="0", paymentNo=slip_no(1)))["errorCode"] == "kaasl045E"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    assert SqliteStore(str(path)).path == str(path)        # opening again migrates nothing


def test_a_state_file_of_a_newer_layout_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        SqliteStore(str(path))


# --------------------------------------------------------------------------- any sequence

OPS = st.lists(st.tuples(
    st.sampled_from(["authorize", "sms", "validity", "review", "late_ng", "ship", "ship_shared",
                     "cancel",
                     "change", "verify", "advance", "deliver", "auto_on", "auto_off",
                     "set_back"]),
    st.integers(min_value=0, max_value=5)), min_size=1, max_size=25)


def apply_op(sim: Simulator, session, op: str, n: int) -> None:
    order = f"O{n}"
    if op == "authorize":
        post(session, "KAARA0010", _kaara(order, f"03123400{n:02d}"))
    elif op == "sms":
        post(session, "KAARA0010", _kaara(order, f"090123400{n:02d}", sendDiv="3"))
    elif op == "validity":          # sendDiv 4: OK/NG push after review_delay_seconds
        post(session, "KAARA0010", _kaara(order, f"0901234{9993 if n % 2 else 9944}",
                                          sendDiv="4"))
    elif op == "review":
        post(session, "KAARA0010", _kaara(order, f"031234{9993 + n % 3}"))
    elif op == "late_ng":
        post(session, "KAARA0010", _kaara(order, "0312349989"))
    elif op in ("ship", "ship_shared"):
        slip = slip_no(77) if op == "ship_shared" else slip_no(n)
        post(session, "KAASL0010", basic_form(order, processDiv="0", paymentNo=slip))
    elif op == "cancel":
        post(session, "KAACL0010", basic_form(order))
    elif op == "change":
        post(session, "KAAKK0010", change_form(order, total=500 + n))
    elif op == "verify":
        post(session, "KAASA0020", basic_form(order, ninCode="1234" if n % 2 else "0000"))
    elif op == "advance":
        sim.advance([60, 179, 600, 86400, 3 * 86400, 9 * 86400][n])
    elif op == "deliver":
        try:
            sim.deliver(MERCHANT, order)
        except (LookupError, ValueError):
            pass
    elif op in ("auto_on", "auto_off"):
        sim.configure_merchant(MERCHANT, auto_advance=op == "auto_on")
    elif op == "set_back":
        sim.advance(-3600)


def _kaara(order_no: str, tel: str, **extra: str) -> dict:
    from test_sandbox_support import kaara_form
    return kaara_form(order_no, telNum=tel, totalAmount="20000", subTotal1="20000", **extra)


def assert_consistent(sim: Simulator) -> None:
    """Nothing due is left behind, and the indexes say what a full scan says."""
    now = micros(sim.now())
    auto = sim.merchant(MERCHANT).auto_advance
    txs = sim.transactions()
    for tx in txs:
        change = schedule.next_change(tx, auto_advance=auto)
        assert change is None or change.fire > now, (tx["orderNo"], change)
    sim.store.begin()
    try:
        session = Session(sim.store)
        for buyer in {tx["buyer"] for tx in txs}:
            scanned = sum(tx["current_total"] for tx in txs if tx["buyer"] == buyer
                          and tx["status"] in (1, 3, 5, 6, 10, 11, 30))
            assert session.buyer_live_total(buyer) == scanned
        for slip in {s["paymentNo"] for tx in txs for s in tx["slips"]}:
            scanned = {(MERCHANT, tx["orderNo"]) for tx in txs if tx["status"] != 2
                       and any(s["paymentNo"] == slip for s in tx["slips"])}
            assert session.slip_holders(MERCHANT, slip) == scanned
    finally:
        sim.store.end()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=OPS)
def test_any_sequence_keeps_the_queue_and_indexes_exact_on_both_stores(ops):
    received: dict[str, list] = {"memory": [], "sqlite": []}
    with tempfile.TemporaryDirectory() as tmp:
        sims = {kind: Simulator(
            merchants={MERCHANT: MerchantConfig(notify_url=URL, review_delay_seconds=300,
                                                contracts={"sms_validity": True})},
            store=MemoryStore() if kind == "memory" else SqliteStore(f"{tmp}/s.sqlite"),
            push_transport=lambda url, data, k=kind: received[k].append(dict(data)) or 200)
            for kind in STORES}
        sessions = {kind: make_session(sim) for kind, sim in sims.items()}
        for sim in sims.values():
            sim.set_now(NOW)
        for op, n in ops:
            for kind, sim in sims.items():
                apply_op(sim, sessions[kind], op, n)
            assert_consistent(sims["memory"])
            assert_consistent(sims["sqlite"])
        assert sims["memory"].transactions() == sims["sqlite"].transactions()
        assert sims["memory"].sms_outbox == sims["sqlite"].sms_outbox
        assert received["memory"] == received["sqlite"]
        sims["sqlite"].store.close()


def test_a_sqlite_connection_is_not_used_across_fork(tmp_path, monkeypatch):
    """After fork() the child opens its own connection and leaves the parent's alone."""
    from flask_kuroneko.sandbox import sqlite_store
    opened = []
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite_store.sqlite3, "connect",
                        lambda *a, **kw: opened.append(real_connect(*a, **kw)) or opened[-1])
    sim = Simulator(store=SqliteStore(str(tmp_path / "state.sqlite")))
    sim.set_now(NOW)
    sim.now()
    assert len(opened) == 2                           # creation + this thread's connection
    parent_pid = sqlite_store.os.getpid()
    monkeypatch.setattr(sqlite_store.os, "getpid", lambda: parent_pid + 1)   # "the child"
    assert sim.now() == NOW.replace(tzinfo=JST)
    assert len(opened) == 3                           # the child's own connection
    assert opened[1].execute("SELECT 1").fetchone() == (1,)   # the parent's is not closed
    for conn in opened:
        conn.close()
