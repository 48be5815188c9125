"""The bad values and the request driver of the route-enumerating tests (not a test module).

Every route of an app's ``url_map`` is tried with every bad value: in each path argument, in
each query parameter the pages read, and in each form field (with a valid CSRF token, so the
value gets past the token check to the code that parses it). A response of 500 is a failure;
a refused request (4xx) or a GET must leave the database exactly as it was.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import sqlalchemy as sa

#: (kind, value): strings, numbers, ids, encodings, control characters, sizes.
BAD_VALUES: tuple[tuple[str, str], ...] = (
    ("empty", ""),
    ("blank", "   "),
    ("zero", "0"),
    ("negative", "-1"),
    ("superscript digit", "²"),
    ("arabic-indic digits", "١٢"),
    ("full-width digits", "１２"),
    ("int32 overflow", "2147483648"),
    ("int64 overflow", "9223372036854775808"),
    ("huge number", "9" * 40),
    ("float", "1.5"),
    ("exponent", "1e3"),
    ("nan", "NaN"),
    ("nul", "\x00"),
    ("embedded nul", "12\x00"),
    ("crlf header", "x\r\nSet-Cookie: evil=1"),
    ("tab", "\t"),
    ("bell and escape", "\x07\x1b[31m"),
    ("del and c1", "\x7f\x85"),
    ("sql", "1' OR '1'='1"),
    ("html", "<script>alert(1)</script>"),
    ("template", "{{7*7}}{%raw%}"),
    ("path traversal", "../../etc/passwd"),
    ("scheme-relative", "//evil.example/"),
    ("tab redirect", "/\t/evil.example/"),
    ("backslash redirect", "/\\evil.example"),
    ("absolute url", "https://evil.example/"),
    ("long ascii", "a" * 5000),
    ("long japanese", "あ" * 3000),
    ("rtl override", "\u202etxt.exe"),
    ("emoji", "😀🐈‍⬛"),
    ("lone surrogate escape", "\udcff"),
    ("formula", "=HYPERLINK(\"http://evil.example\",\"x\")"),
    ("json", "{\"a\": [1]}"),
    ("bool words", "true"),
)

#: Query parameters any page reads.
QUERY_PARAMS = ("page", "q", "key", "status", "kind", "drift", "next", "back", "order_id",
                "filter", "since", "until", "unexported",
                "yamato", "window", "after", "before", "last", "all")

#: Form fields of every form of the example shop and the extension (the union).
FORM_FIELDS = (
    # shop checkout
    "product_id", "quantity", "name", "name_kana", "postal_code", "prefecture", "address1",
    "address2", "phone", "email", "destination", "ship_name", "ship_postal_code",
    "ship_prefecture", "ship_address1", "ship_address2", "ship_phone", "delivery_method",
    "desired_date", "payment_method", "sms_phone", "checkout_token",
    # shop admin
    "password", "status", "carrier", "tracking_no", "quantity_1", "quantity_2",
    # kuroneko admin
    "merchant_code", "environment", "other_carrier_enabled", "smartphone_enabled",
    "ship_within_days", "fee_mode", "fee_fixed", "credit_limit", "cancel_with_order",
    "change_amount_with_order", "prepayment_log_enabled", "conversion_tag",
    "conversion_on_review", "tier_up_to", "tier_fee", "yamato_delivery_method_ids", "kind",
    "description_html", "active", "method_id", "log_id", "all", "reason", "reason_text",
    "placed_at",
    # kuroneko admin: B2 and jobs; shop admin: bulk 発送済み
    "payment_id", "scope", "since", "until", "unexported", "b2_shipper_name",
    "b2_shipper_name_kana", "b2_shipper_phone", "b2_shipper_postal_code", "b2_shipper_address",
    "b2_shipper_building", "b2_billing_customer_code", "b2_billing_class_code", "b2_freight_no",
    "b2_header_row", "b2_columns", "b2_notice_mail", "slip_type_takkyubin", "cool_takkyubin",
    "bulk_status", "order_id",
    "back", "dialog_back",
    # SMS page and push receiver
    "code", "ycfStrNo", "juchuNo", "keitaiNo", "giftKb", "snsKk", "smsNinKk", "smsYuuKk",
)

_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def url_quote(value: str) -> str:
    """Percent-encode a value for a URL, raw bytes for the lone-surrogate case."""
    raw = value.encode("utf-8", "surrogateescape")
    return quote(raw, safe="")


def fill_rule(rule: str, values: dict[str, str]) -> str:
    """The rule's path with each ``<converter:name>`` replaced by the quoted value."""
    return _CONVERTER.sub(lambda m: url_quote(values[m.group(1)]), rule)


def form_body(fields: dict[str, str]) -> str:
    return urlencode({k: v.encode("utf-8", "surrogateescape") for k, v in fields.items()})


def db_fingerprint(app, db) -> str:
    """A hash of every row of every table (small test databases), read in an app context of
    its own (a request must not share the test's session)."""
    digest = hashlib.sha256()
    with app.app_context():
        for table in sorted(db.metadata.sorted_tables, key=lambda t: t.name):
            rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            digest.update(table.name.encode())
            digest.update(repr([tuple(r) for r in rows]).encode())
        db.session.remove()
    return digest.hexdigest()


def csrf_token(html: str) -> str | None:
    match = _CSRF.search(html)
    return match.group(1) if match else None


@dataclass
class Tally:
    """What was tried and what failed."""
    tried: int = 0
    errors: list[str] = field(default_factory=list)       # 500s
    half_written: list[str] = field(default_factory=list)  # refused but the database changed
    statuses: Counter = field(default_factory=Counter)

    def record(self, label: str, status: int) -> None:
        self.tried += 1
        self.statuses[status] += 1
        if status >= 500:
            self.errors.append(f"{status} {label}")
