"""Merchant admin blueprint ``kuroneko_admin`` (registered by ``Kuroneko.init_app`` under
KURONEKO_ADMIN_URL_PREFIX, default ``/admin/kuroneko``), Japanese UI in the manual's wording:

* ``/settings``            「クロネコ代金後払い」 settings (M1–M7), 接続テスト and diagnostics (M26)
* ``/methods``             支払方法 (M8–M9)
* ``/payments``            payments list (M15) and ``/payments/<id>`` the 「決済情報」 dialog (M19–M21)
* ``/drifts``              差異一覧 (M25) with the fixes; ``/diagnostics`` 診断 with the stats (M26)
* ``/errors``              決済エラーログ (M22)
* ``/prepayment``          決済直前ログ and 「受注データ登録」 (M23)

Every view is behind the host's ``@kuroneko.admin_guard`` (closed without one) and every POST
carries the session CSRF token of :class:`.forms.AdminForm`. Payment changes go through
``payments`` only; settings through ``settings.save_settings``; methods through ``rules``.

The host's own pages get the 「決済情報」 panel, the 入金状況 cell and the notices from
:mod:`.panel` (template globals installed by ``init_app``).
"""
from __future__ import annotations

from .blueprint import BLUEPRINT_NAME, create_blueprint
from .panel import PaymentPanel, panel_for
from .panel import install as install_host_helpers

__all__ = ["BLUEPRINT_NAME", "PaymentPanel", "create_blueprint", "install_host_helpers",
           "panel_for"]
