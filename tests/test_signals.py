"""Every signal is documented (sender and each keyword argument) and lives in one namespace."""
from __future__ import annotations

import re

import pytest

from flask_kuroneko import signals

OUTBOUND_EXTRAS = {
    "payment_declined": ["message"],
    "payment_amount_changed": ["old_amount", "new_amount"],
    "payment_error": ["operation", "code", "message"],
}


def _kwargs_documented(doc: str) -> set[str]:
    return set(re.findall(r"^(\w+):", doc, flags=re.M))


@pytest.mark.parametrize("signal", signals.OUTBOUND, ids=lambda s: s.name)
def test_outbound_signal_docs(signal):
    attr = next(k for k, v in vars(signals).items() if v is signal)
    documented = _kwargs_documented(signal.__doc__)
    assert {"sender", "payment", "order_id", *OUTBOUND_EXTRAS.get(attr, [])} <= documented
    assert "the Flask app" in signal.__doc__


def test_inbound_signal_docs():
    assert {"sender", "order", "old", "new"} <= _kwargs_documented(signals.order_status_changed.__doc__)
    assert {"sender", "order"} <= _kwargs_documented(signals.order_updated.__doc__)


def test_signal_names_are_unique_and_namespaced():
    names = [s.name for s in signals.INBOUND + signals.OUTBOUND]
    assert len(set(names)) == len(names) == 10
    assert all(n.startswith("kuroneko.") for n in names)
    assert signals.order_status_changed is signals._signals.signal("kuroneko.order-status-changed")


def test_integration_doc_lists_every_signal():
    from pathlib import Path
    doc = (Path(__file__).parent.parent / "docs" / "integration.md").read_text(encoding="utf-8")
    for name, value in vars(signals).items():
        if value in signals.INBOUND + signals.OUTBOUND:
            assert f"`{name}`" in doc, name
