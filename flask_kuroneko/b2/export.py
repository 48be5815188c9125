"""「B2出荷データ出力」: shipments → the CSV file B2クラウド imports with 基本レイアウト.

File format (spec §2): CP932, CRLF, comma, minimal quoting, no CR/LF inside a cell, a header
row unless the merchant set B2's 取込み開始行 to 1, 97 columns (or 95 for the older template).
Rows that cannot be written correctly are left out and listed (:class:`RejectedRow`); every
change made to a written value is listed (:class:`ExportWarning`). Settings that would spoil
every row (ご依頼主, ご請求先) raise :class:`SettingsInvalid` before anything is built.
"""
from __future__ import annotations

import csv
import io
import logging
from datetime import date
from typing import Iterable, Sequence

from . import charset, values
from .errors import SettingsInvalid, SettingsProblem
from .layout import COLUMNS, Col, max_bytes
from .records import ExportResult, ExportSettings, RejectedRow, Shipment
from .rows import build_row

logger = logging.getLogger(__name__)


def header_row(columns: int = 97) -> list[str]:
    """The official item names of the first ``columns`` columns."""
    return [name for name, _ in COLUMNS[:columns]]


def settings_problems(settings: ExportSettings) -> list[SettingsProblem]:
    """Every problem of the ご依頼主/ご請求先 settings (empty list: usable). Unlike order data,
    settings are never fitted: the merchant fixes them once in the settings form."""
    return _settings_cells(settings)[1]


def build_export(shipments: Iterable[Shipment], settings: ExportSettings, *,
                 today: date) -> ExportResult:
    """The B2 file for ``shipments`` (``today`` is the JST calendar day of the export).

    Raises :class:`SettingsInvalid` when the settings cannot produce a valid file.
    """
    if type(today) is not date:
        raise TypeError("today must be a datetime.date (the JST calendar day), "
                        f"not {type(today).__name__}")
    fixed, problems = _settings_cells(settings)
    if problems:
        raise SettingsInvalid(problems)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    if settings.header:
        writer.writerow(header_row(settings.columns))
    exported: list[str] = []
    warnings = []
    rejected: list[RejectedRow] = []
    first_seen: dict[str, int] = {}
    bundles: dict[str, int] = {}
    for position, shipment in enumerate(shipments, start=1):
        outcome = build_row(position, shipment, fixed, today=today)
        key = outcome.cells[Col.CUSTOMER_KEY - 1]
        bundle = outcome.cells[Col.BUNDLE_KEY - 1]
        if key and key in first_seen:
            outcome.problems.append(f"お客様管理番号「{key}」が{first_seen[key]}件目と重複しています"
                                    "（同じ注文を二重に出荷しないよう、この行は出力しません）。")
        elif bundle and bundle in bundles:
            outcome.problems.append(f"複数口くくりキー「{bundle}」が{bundles[bundle]}件目と同じに"
                                    "なります。お客様管理番号を変えてください。")
        if outcome.problems:
            raw_key = getattr(shipment, "customer_key", "")
            rejected.append(RejectedRow(position, raw_key if isinstance(raw_key, str) else "",
                                        tuple(outcome.problems)))
            continue
        first_seen[key] = position
        if bundle:
            bundles[bundle] = position
        writer.writerow(outcome.cells[:settings.columns])
        exported.append(key)
        warnings.extend(outcome.warnings)
    data = buffer.getvalue().encode("cp932")    # every cell was made encodable
    logger.info("B2 export: %d rows written, %d rejected, %d warnings",
                len(exported), len(rejected), len(warnings))
    return ExportResult(data=data, exported_keys=tuple(exported), warnings=tuple(warnings),
                        rejected=tuple(rejected))


def summarize_items(names: Sequence[str]) -> tuple[str, str]:
    """(品名1, 品名2) for an order's item names: the first item, then the second or
    「ほかN点」 — the usual B2 convention (spec §7 "Multiple items")."""
    names = [n for n in (charset.clean(n) for n in names) if n]
    if not names:
        return "", ""
    if len(names) == 1:
        return names[0], ""
    if len(names) == 2:
        return names[0], names[1]
    return names[0], f"ほか{len(names) - 1}点"


def _settings_cells(settings: ExportSettings) -> tuple[dict[int, str], list[SettingsProblem]]:
    cells: dict[int, str] = {}
    problems: list[SettingsProblem] = []

    def strict(col: int, field: str, check, *args) -> None:
        try:
            cells[col] = check(*args)
        except values.InvalidValue as exc:
            problems.append(SettingsProblem(field, exc.message))

    def exact(col: int, field: str, label: str, value: str, required: bool) -> None:
        fitted, changes = charset.fit(value, max_bytes(col))
        kinds = {c.kind for c in changes}
        limit = max_bytes(col)
        if required and not charset.clean(value):
            problems.append(SettingsProblem(field, f"{label}を入力してください。"))
        elif kinds & {charset.REPLACED, charset.UNREPRESENTABLE, charset.MACHINE_DEPENDENT}:
            problems.append(SettingsProblem(field, f"{label}にB2クラウドで使えない文字があります。"
                                                   "JIS第1・第2水準の文字に直してください。"))
        elif charset.FORMULA in kinds:
            problems.append(SettingsProblem(field, f"{label}の先頭に「=」「+」「-」「@」は"
                                                   "使えません。"))
        elif charset.TRUNCATED in kinds:
            problems.append(SettingsProblem(field, f"{label}は全角{limit // 2}文字（半角{limit}"
                                                   "文字）以内にしてください。"))
        else:
            cells[col] = fitted

    shipper, billing = settings.shipper, settings.billing
    exact(Col.SHIPPER_NAME, "shipper.name", "ご依頼主名", shipper.name, True)
    strict(Col.SHIPPER_PHONE, "shipper.phone", values.phone, shipper.phone, "ご依頼主電話番号")
    strict(Col.SHIPPER_POSTAL, "shipper.postal_code", values.postal_code, shipper.postal_code,
           "ご依頼主郵便番号")
    exact(Col.SHIPPER_ADDRESS, "shipper.address", "ご依頼主住所", shipper.address, True)
    exact(Col.SHIPPER_BUILDING, "shipper.building", "ご依頼主住所（アパートマンション名）",
          shipper.building, False)
    kana, changes = charset.to_halfwidth_kana(shipper.name_kana, max_bytes(Col.SHIPPER_KANA))
    if changes:
        problems.append(SettingsProblem("shipper.name_kana", "ご依頼主略称カナはカタカナ50文字"
                                                             "以内にしてください。"))
    else:
        cells[Col.SHIPPER_KANA] = kana
    strict(Col.BILLING_CUSTOMER, "billing.customer_code", values.digits, billing.customer_code,
           "ご請求先顧客コード", range(10, 13))
    strict(Col.BILLING_CLASS, "billing.class_code", values.digits, billing.class_code,
           "ご請求先分類コード", range(0, 4))
    strict(Col.FREIGHT_NO, "billing.freight_no", values.digits, billing.freight_no,
           "運賃管理番号", range(2, 3))
    return {col: v for col, v in cells.items() if v}, problems
