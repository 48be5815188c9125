"""What the host shows on its own admin pages, where the manual puts it (M15, M20, M21):

* ``{{ kuroneko_payment_panel(order.id) }}`` in the host's order edit page: the 「決済情報」
  panel — status, Yamato's 取引状況, 利用金額 beside the order's total, "do not ship", the 差異 —
  and its 「決済情報」 button opening the dialog (actions, history, 「閉じる」). The dialog's
  buttons post to the admin blueprint and come back to the host's page (``back``); without
  JavaScript the button opens the admin's dialog page instead.
* ``{{ kuroneko_payment_state(payment) }}`` in the host's order list: the 入金状況 cell
  (Yamato's 取引状況 with its time, 警報, 差異, 出荷期限, 発送不可) of a payment from
  ``kuroneko.payments_for`` (no query).
* ``{{ kuroneko_admin_notice() }}``: the admin notices (決済エラーログ, 差異, 出荷期限).

Hosts that render their own markup use :func:`panel_for` (``kuroneko.payment_panel``) and
``kuroneko.payment_state``. Templates: ``templates/kuroneko/host/*.html`` (overridable).
Installed on the app by ``init_app`` when the admin blueprint is on (its endpoints take the
posts; the host's ``admin_guard`` protects them).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import Flask, render_template, request, url_for
from markupsafe import Markup

from .. import payments
from ..payments import transitions
from ..web import csp_nonce, safe_path
from . import common, notices
from .forms import ButtonForm
from .payments_views import DIALOG_OPERATIONS, host_amount_of

logger = logging.getLogger(__name__)

#: The panel's dialog buttons (請求書再発行 needs a reason: the admin's dialog page has it).
PANEL_OPERATIONS = tuple(op for op in DIALOG_OPERATIONS if op != "reissue_invoice")
DESTRUCTIVE = frozenset({"cancel", "change_amount", "cancel_shipment", "reauthorize"})


@dataclass
class PaymentPanel:
    """The 「決済情報」 of one host order (see the module docstring)."""
    payment: Any
    state: Any                                  # payments.PaymentState
    order_total: int | None                     # the host's total now (M20)
    total_problem: str | None                   # why it cannot be shown
    operations: list[tuple[str, str, str]] = field(default_factory=list)  # (op, label, url)
    fixes: list[tuple[str, str, str]] = field(default_factory=list)       # (fix, label, url)
    history: list[Any] = field(default_factory=list)
    dialog_url: str = ""                        # the admin's dialog page (no JavaScript)

    @property
    def amounts_differ(self) -> bool:
        return self.order_total is not None and self.order_total != self.payment.amount


def panel_for(order_id: Any, *, back: str | None = None) -> PaymentPanel | None:
    """The panel of the host order ``order_id`` (None: no 後払い payment). ``back``: the
    page the buttons return to (default: the current request's path)."""
    payment = payments.current_payment(str(order_id))
    if payment is None:
        return None
    st = common.state()
    P, H = st.models.Payment, st.models.PaymentHistory
    back = safe_path(back) or request.path
    # the history of every payment of the order (a 再与信 continues under a new 決済ID)
    history = list(st.db.session.scalars(
        sa.select(H).join(P, P.id == H.payment_id)
        .where(P.host_order_id == payment.host_order_id).order_by(H.occurred_at, H.id)))
    total, problem = host_amount_of(payment)
    allowed = payments.operations_for(payment)
    return PaymentPanel(
        payment=payment, state=payments.payment_state(payment), order_total=total,
        total_problem=problem,
        operations=[(op, transitions.LABELS[op],
                     url_for("kuroneko_admin.payment_operation", payment_id=payment.id,
                             operation=op)) for op in PANEL_OPERATIONS if op in allowed],
        fixes=[(fix, label, url_for("kuroneko_admin.payment_drift_fix", payment_id=payment.id,
                                    fix=fix)) for fix, label in payments.drift_fix_options(payment)],
        history=history,
        dialog_url=url_for("kuroneko_admin.payment", payment_id=payment.id, back=back))


def render_panel(order_id: Any, back: str | None = None) -> Markup:
    """The panel's HTML ("" when the order has no 後払い payment)."""
    panel = panel_for(order_id, back=back)
    if panel is None:
        return Markup("")
    return Markup(render_template("kuroneko/host/payment_panel.html", panel=panel,
                                  form=ButtonForm(), back=safe_path(back) or request.path,
                                  destructive=DESTRUCTIVE, nonce=csp_nonce(), jst=common.jst))


def render_state(payment: Any) -> Markup:
    """The 入金状況 cell of ``payment`` ("" for None)."""
    if payment is None:
        return Markup("")
    return Markup(render_template("kuroneko/host/payment_state.html", payment=payment,
                                  state=payments.payment_state(payment)))


def render_notice() -> Markup:
    """The admin notices ("" when there is nothing to say)."""
    found = notices.current()
    if not found.any:
        return Markup("")
    return Markup(render_template("kuroneko/host/notice.html", notices=found))


def install(app: Flask) -> None:
    """Make the three helpers available in every template of ``app``."""
    app.add_template_global(render_panel, "kuroneko_payment_panel")
    app.add_template_global(render_state, "kuroneko_payment_state")
    app.add_template_global(render_notice, "kuroneko_admin_notice")
