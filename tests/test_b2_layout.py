"""The B2 layout table and code lists (flask_kuroneko.b2.layout), and the package's purity."""
from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

import flask_kuroneko.b2 as b2
from flask_kuroneko.b2.layout import (COLUMNS, KEY_HEADERS, SLIP_RULES, TRACKING_HEADERS, Col,
                                      SlipType, column_name, max_bytes, normalize_header)

PACKAGE = Path(b2.__file__).parent
# What the pure package may import from the rest of flask_kuroneko.
ALLOWED_INTERNAL = {"flask_kuroneko.errors", "flask_kuroneko.csvcells",
                    "flask_kuroneko.yamato.tracking"}


def test_ninety_seven_columns_with_their_spec_limits():
    assert len(COLUMNS) == 97
    # Spot checks against b2-csv §3 (full-width/half-width limits as bytes).
    assert [(n, column_name(n), max_bytes(n)) for n in (1, 4, 12, 13, 16, 28, 33, 74, 97)] == [
        (1, "お客様管理番号", 50), (4, "伝票番号", 12), (12, "お届け先住所", 64),
        (13, "お届け先住所（アパートマンション名）", 32), (16, "お届け先名", 32), (28, "品名1", 50),
        (33, "記事", 44), (74, "複数口くくりキー", 20), (97, "通知メールアドレス", 60)]


def test_named_columns_point_at_their_names():
    expected = {Col.CUSTOMER_KEY: "お客様管理番号", Col.TRACKING_NO: "伝票番号",
                Col.RECIPIENT_PHONE: "お届け先電話番号", Col.SHIPPER_NAME: "ご依頼主名",
                Col.BILLING_CUSTOMER: "ご請求先顧客コード", Col.FREIGHT_NO: "運賃管理番号",
                Col.PARCELS: "発行枚数", Col.PARCEL_FRAME: "個数口枠の印字",
                Col.NOTICE_MAIL_ADDRESS: "お届け予定eメールe-mailアドレス",
                Col.BUNDLE_KEY: "複数口くくりキー", Col.HONORIFIC: "敬称"}
    for col, name in expected.items():
        assert column_name(col) == name


def test_every_slip_type_has_rules_and_nekopos_is_the_current_code():
    assert set(SLIP_RULES) == set(SlipType)
    assert SlipType.NEKOPOS.value == "A" and SlipType("7") is SlipType.YU_PACKET
    assert not SlipType.COLLECT.rules.exportable and SlipType.PREPAID.rules.cool


@pytest.mark.parametrize("written", ["伝票番号", " 伝票番号 ", "\"伝票番号\""])
def test_header_normalisation(written):
    assert normalize_header(written) in TRACKING_HEADERS


def test_b2_spellings_normalise_to_ours():
    assert normalize_header("品名１") == normalize_header("品名1")
    assert normalize_header("お届け予定ｅメール利用区分") == normalize_header("お届け予定eメール利用区分")
    assert normalize_header("お客様管理番号") in KEY_HEADERS


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = "flask_kuroneko." + ".".join(path.relative_to(PACKAGE.parent).with_suffix("")
                                           .parts[:-1])
    found = set()
    for node in ast.walk(tree):                 # function-level imports count too
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            for alias in node.names:            # "from .. import csvcells" imports a module
                found.add(_submodule(f"{module}.{alias.name}") or module)
    return found


def _submodule(name: str) -> str | None:
    try:
        return name if importlib.util.find_spec(name) else None
    except ModuleNotFoundError:         # the parent is a plain module (from re import compile)
        return None


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")) + [
    PACKAGE.parent / "yamato" / "tracking.py"], ids=lambda p: p.name)
def test_the_package_is_pure(path):
    """Bytes in, rows out: no Flask, no database, no HTTP, nothing of the payment modules."""
    for name in _imports(path):
        assert name.split(".")[0] not in {"flask", "flask_sqlalchemy", "sqlalchemy", "requests",
                                          "werkzeug", "blinker"}, name
        if name.startswith("flask_kuroneko.") and not name.startswith("flask_kuroneko.b2"):
            assert name in ALLOWED_INTERNAL, name


def test_modules_stay_small():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 500, path.name


def test_public_names():
    assert set(b2.__all__) <= set(dir(b2))
    for name in ("build_export", "parse_issued", "match", "Shipment", "ExportSettings",
                 "FileRefused", "RowKind"):
        assert name in b2.__all__
