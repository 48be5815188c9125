"""Web hardening shared by the extension's blueprints and usable by the host's own views:
strict ids and control-character refusal (:mod:`.inputs`), same-site redirect targets
(:mod:`.redirects`), security headers with a CSP nonce (:mod:`.headers`) and the allow-list of
payment method descriptions (:mod:`.sanitize`). See SECURITY.md."""
from __future__ import annotations

from .headers import csp_nonce, protect
from .inputs import (IdConverter, MSG_CONTROL, install_id_converter, parse_id, parse_ids,
                     refuse_control_characters, refusal_response)
from .redirects import safe_path
from .sanitize import clean_description

__all__ = ["IdConverter", "MSG_CONTROL", "clean_description", "csp_nonce",
           "install_id_converter", "parse_id", "parse_ids", "protect",
           "refuse_control_characters", "refusal_response", "safe_path"]
