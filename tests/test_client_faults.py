"""Transport faults injected through the sandbox adapter (spec §6.2).

What matters for money: after a timeout or a dropped connection the client must say the
request *may* have reached Yamato (and the sandbox shows it did), a refused connection must
say it did not, and no call is ever retried automatically.
"""
from __future__ import annotations

import pytest

from flask_kuroneko.yamato.codes import CreditDecision, Operation, ProcessDiv, ReissueContents
from flask_kuroneko.yamato.datatypes import ShipmentRequest
from flask_kuroneko.errors import ApiConnectionError, ApiError, MalformedResponseError

from test_client_sandbox import (M, approved, auth_req, change_req, order_no, reissue_req,
                                  slip)


@pytest.fixture
def sends(sandbox_session, monkeypatch):
    """Every request that reaches the sandbox adapter (url, orderNo-bearing body)."""
    adapter = sandbox_session.get_adapter("http://sandbox.kuroneko.invalid/")
    seen: list[str] = []
    original = adapter.send

    def counting(request, **kw):
        seen.append(request.url.rsplit("/", 1)[-1][:9])
        return original(request, **kw)

    monkeypatch.setattr(adapter, "send", counting)
    return seen


def test_latency_beyond_timeout_may_have_reached_and_was_stored(api_client, simulator, sends):
    no = order_no()
    simulator.inject_fault("latency", operation="KAARA0010", seconds=api_client.timeout + 10)
    with pytest.raises(ApiConnectionError) as info:
        api_client.authorize(auth_req(no))
    e = info.value
    assert type(e) is ApiConnectionError and e.may_have_reached is True
    assert e.operation == "KAARA0010" and e.order_no == no
    assert simulator.transaction(M, no) is not None            # Yamato did act on it
    assert sends == ["KAARA0010"]
    # The caller reconciles by asking, never by re-sending KAARA0010.
    assert api_client.get_credit_result(no).decision is CreditDecision.APPROVED


def test_latency_before_processing_still_counts_as_unknown(api_client, simulator):
    no = order_no()
    simulator.inject_fault("latency", operation="KAARA0010", seconds=api_client.timeout + 10,
                           after_processing=False)
    with pytest.raises(ApiConnectionError) as info:
        api_client.authorize(auth_req(no))
    assert info.value.may_have_reached is True                 # the client cannot know
    assert simulator.transaction(M, no) is None


def test_latency_within_timeout_succeeds(api_client, simulator):
    simulator.inject_fault("latency", operation="KAAST0010", seconds=0.01)
    no = approved(api_client)
    assert api_client.get_status(no).order_no == no


def test_refused_never_reached(api_client, simulator, sends):
    no = order_no()
    simulator.inject_fault("refuse", operation="KAARA0010")
    with pytest.raises(ApiConnectionError) as info:
        api_client.authorize(auth_req(no))
    assert info.value.may_have_reached is False
    assert simulator.transaction(M, no) is None
    assert sends == ["KAARA0010"]


def test_drop_may_have_reached(api_client, simulator):
    no = approved(api_client)
    simulator.inject_fault("drop", operation="KAACL0010", order_no=no)
    with pytest.raises(ApiConnectionError) as info:
        api_client.cancel(no)
    assert info.value.may_have_reached is True
    assert simulator.transaction(M, no)["status"] == 2         # the cancel did happen


@pytest.mark.parametrize("kind", ["http500", "malformed"])
def test_http500_and_malformed(api_client, simulator, kind):
    no = order_no()
    simulator.inject_fault(kind, operation="KAARA0010")
    with pytest.raises(MalformedResponseError) as info:
        api_client.authorize(auth_req(no))
    assert info.value.may_have_reached is True
    stored = simulator.transaction(M, no) is not None
    assert stored is (kind == "malformed")


@pytest.mark.parametrize("code", ["err0001", "err0002", "err0003"])
def test_system_error_answers(api_client, simulator, code):
    simulator.inject_fault("error", operation="KAAST0010", error_code=code)
    no = approved(api_client)
    with pytest.raises(ApiError) as info:
        api_client.get_status(no)
    assert type(info.value) is ApiError and info.value.code == code


def _non_idempotent_calls(client, simulator):
    """(operation, callable) for every non-idempotent API, each on an order where it would succeed."""
    ship_no = approved(client)
    kk_no = approved(client)
    cl_no = approved(client)
    rr_no = approved(client)
    client.register_shipment(ShipmentRequest(rr_no, ProcessDiv.NEW, slip_no=slip()))
    simulator.deliver(M, rr_no)
    simulator.invoice(M, rr_no)
    return [
        (Operation.AUTHORIZE, lambda: client.authorize(auth_req(order_no()))),
        (Operation.CANCEL, lambda: client.cancel(cl_no)),
        (Operation.SHIPMENT, lambda: client.register_shipment(
            ShipmentRequest(ship_no, ProcessDiv.NEW, slip_no=slip()))),
        (Operation.CHANGE_AMOUNT, lambda: client.change_amount(change_req(kk_no, 900))),
        (Operation.REISSUE, lambda: client.reissue_invoice(reissue_req(rr_no, ReissueContents.REISSUE))),
    ]


@pytest.mark.parametrize("kind", ["latency", "drop", "refuse", "http500", "malformed"])
def test_no_non_idempotent_call_is_retried(api_client, simulator, sends, kind):
    calls = _non_idempotent_calls(api_client, simulator)
    for op, call in calls:
        simulator.inject_fault(kind, operation=op.value, times=1,
                               seconds=api_client.timeout + 10 if kind == "latency" else None)
        before = len(sends)
        with pytest.raises(ApiConnectionError):
            call()
        assert sends[before:] == [op.value], f"{op.value} was sent {len(sends) - before} times"
    assert simulator.faults() == []          # each one-shot fault fired exactly once


def test_state_inquiries_are_not_retried_either(api_client, simulator, sends):
    no = approved(api_client)
    simulator.inject_fault("drop", operation="KAAST0010", times=1)
    before = len(sends)
    with pytest.raises(ApiConnectionError):
        api_client.get_status(no)
    assert len(sends) - before == 1
    assert api_client.get_status(no).order_no == no      # the caller may retry an inquiry
