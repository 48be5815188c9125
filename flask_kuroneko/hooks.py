"""The host hooks' contracts (Flask-Login's ``user_loader`` style), in one place.

``Kuroneko`` registers the functions; ``runtime.KuronekoState`` calls them; the admin's
diagnostics page lists which are missing. A missing hook is reported at first use with the
decorator to add and its contract.
"""
from __future__ import annotations

from .errors import ConfigurationError

#: Hook name -> the contract quoted in the error raised when the hook is missing.
HOOK_CONTRACTS = {
    "order_loader": "(order_id: str) -> the host order, or None for an unknown id (never raise)",
    "order_describer": "(order) -> flask_kuroneko.OrderData describing the host order",
    "delivery_methods_loader": "() -> list of (id, name) of the shop's delivery methods "
                               "(配送方法); return [] when the shop has none",
    "shipment_recorder": "(order, carrier: str, tracking_no: str) -> None; mark the order "
                         "shipped in the host (B2 import); add to db.session, do not commit",
    "order_restorer": "(snapshot: dict, placed_at: datetime) -> a new host order recreated "
                      "from a 決済直前ログ snapshot (placed_at is timezone-aware, Japan time); "
                      "add to db.session and flush, do not commit",
    "admin_guard": "() -> None when the current user may use the admin, else a Response "
                   "(login redirect or 403)",
}


def missing_hook(name: str) -> ConfigurationError:
    """The error for a hook nobody registered, naming the decorator and its contract."""
    return ConfigurationError(
        f"No function is registered with @kuroneko.{name}. Decorate one in your app factory: "
        f"@kuroneko.{name} {HOOK_CONTRACTS[name]}. See docs/integration.md.")
