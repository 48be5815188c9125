"""One :class:`Shipment` → the 97 cells of its B2 row, with warnings or the reasons it is refused.

Policy (spec §5, §7): what would put a parcel at risk refuses the row — a missing or malformed
phone/postal code, an address that does not fit even after moving its tail to the building
column, a building name that does not fit, cool goods on a service without cool, a ship date
outside B2's window, コレクト (a 後払い order is never cash on delivery). What only affects
printing is fitted and reported as a warning — names, item names, 記事 and 荷扱い cut at their
byte limits, characters replaced, a requested date or time slot the service cannot honour
dropped. Nothing is changed silently (see ``charset``).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable

from . import charset, values
from .layout import (COLUMNS, TIME_ONLY_SLOTS, Col, Cool, SlipType, TimeSlot, column_name,
                     max_bytes)
from .records import ExportWarning, Recipient, Shipment

#: 出荷予定日 must lie within today … today + 30 days (B2 marks other rows 修正必要).
SHIP_WINDOW_DAYS = 30
MAX_PARCELS = 99
MOVED = "moved"     # warning kind: the address tail was moved to the building column
ADDRESS_CAP = 4 * (64 + 32)
_HALF_KANA_RUN = re.compile(r"[\uff61-\uff9f]+")


@dataclass
class RowOutcome:
    cells: list[str]
    warnings: list[ExportWarning] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _Row:
    """Cells, warnings and problems of the row being built."""

    def __init__(self, position: int, key: str):
        self.position = position
        self.key = key
        self.out = RowOutcome(cells=[""] * len(COLUMNS))

    def set(self, col: int, value: str) -> None:
        self.out.cells[col - 1] = value

    def warn(self, col: int, kind: str, message: str) -> None:
        self.out.warnings.append(ExportWarning(self.position, self.key, int(col),
                                               column_name(col), kind, message))

    def problem(self, message: str) -> None:
        self.out.problems.append(message)

    def text(self, col: int, value: str | None, *, required: bool = False) -> str:
        """Free text fitted to the column (warnings for every visible change)."""
        fitted, changes = charset.fit(value, max_bytes(col))
        for change in changes:
            self.warn(col, change.kind, change.detail)
        if required and not fitted:
            self.problem(f"{column_name(col)}を入力してください。")
        self.set(col, fitted)
        return fitted

    def kana(self, col: int, value: str | None) -> None:
        fitted, changes = charset.to_halfwidth_kana(value, max_bytes(col))
        for change in changes:
            self.warn(col, change.kind, change.detail)
        self.set(col, fitted)

    def strict(self, col: int, check: Callable[..., str], *args) -> str:
        """A half-width value that must be right as given (``values``): a problem otherwise."""
        try:
            value = check(*args)
        except values.InvalidValue as exc:
            self.problem(exc.message)
            return ""
        self.set(col, value)
        return value


def build_row(position: int, shipment: Shipment, fixed: dict[int, str], *,
              today: date) -> RowOutcome:
    """The row for ``shipment``; ``fixed`` holds the ご依頼主/ご請求先 cells from the settings."""
    key = shipment.customer_key if isinstance(shipment.customer_key, str) else ""
    row = _Row(position, key)
    row.strict(Col.CUSTOMER_KEY, values.customer_key, shipment.customer_key)
    try:
        slip_type = SlipType(shipment.slip_type)
    except ValueError:
        row.problem("送り状種類が正しくありません。")
        return row.out
    rules = slip_type.rules
    if not rules.exportable:
        row.problem(f"送り状種類「{slip_type.label}」（代金引換）は後払いの注文には使えません。"
                    "発払いなどの送り状種類を選んでください。")
        return row.out
    row.set(Col.SLIP_TYPE, slip_type.value)
    _dates(row, shipment, slip_type, today)
    _time_and_cool(row, shipment, slip_type)
    _recipient(row, shipment.recipient, phone_required=rules.phone_required)
    row.text(Col.ITEM_NAME1, shipment.item_name, required=rules.item_required)
    row.text(Col.ITEM_NAME2, shipment.item_name2)
    row.text(Col.NOTE, shipment.note)
    handling = ((shipment.handling,) if isinstance(shipment.handling, str)
                else tuple(shipment.handling or ()))
    if len(handling) > 2:
        row.problem("荷扱いは2つまで指定できます。")
    for col, text in zip((Col.HANDLING1, Col.HANDLING2), handling):
        row.text(col, text)
    _parcels(row, shipment, slip_type)
    if slip_type is SlipType.YU_MAIL:
        row.set(Col.HONORIFIC, "様")
    _notice_mail(row, shipment, slip_type)
    for col, value in fixed.items():
        if rules.shipper_billed or col not in (Col.BILLING_CUSTOMER, Col.BILLING_CLASS,
                                               Col.FREIGHT_NO):
            row.set(col, value)
    return row.out


def _dates(row: _Row, shipment: Shipment, slip_type: SlipType, today: date) -> None:
    ship = shipment.ship_date
    last = today + timedelta(days=SHIP_WINDOW_DAYS)
    _require_date("Shipment.ship_date", ship)
    if shipment.delivery_date is not None:
        _require_date("Shipment.delivery_date", shipment.delivery_date)
    if not today <= ship <= last:
        row.problem(f"出荷予定日（{values.b2_date(ship)}）は今日から{SHIP_WINDOW_DAYS}日後まで"
                    f"（{values.b2_date(today)}〜{values.b2_date(last)}）にしてください。")
    row.set(Col.SHIP_DATE, values.b2_date(ship))
    wanted = shipment.delivery_date
    if wanted is None:
        return
    if not slip_type.rules.delivery_date:
        row.warn(Col.DELIVERY_DATE, charset.DROPPED,
                 f"{slip_type.label}ではお届け日を指定できないため、ご希望のお届け日"
                 f"（{values.b2_date(wanted)}）を出力しませんでした。")
    elif not ship <= wanted <= last:
        row.warn(Col.DELIVERY_DATE, charset.DROPPED,
                 f"ご希望のお届け日（{values.b2_date(wanted)}）が出荷予定日より前か{SHIP_WINDOW_DAYS}"
                 "日より先のため、出力しませんでした。お客様と日程を確認してください。")
    else:
        row.set(Col.DELIVERY_DATE, values.b2_date(wanted))


def _require_date(name: str, value: object) -> None:
    """Dates are plain ``date`` objects in JST: a ``datetime`` (UTC or naive) could name the
    wrong day, so it is a programming error, not a row problem."""
    if type(value) is not date:
        raise TypeError(f"{name} must be a datetime.date (the JST calendar day), "
                        f"not {type(value).__name__}")


def _time_and_cool(row: _Row, shipment: Shipment, slip_type: SlipType) -> None:
    rules = slip_type.rules
    try:
        slot = None if shipment.time_slot is None else TimeSlot(shipment.time_slot)
        cool = Cool(shipment.cool)
    except ValueError:
        row.problem("配達時間帯またはクール区分の値が正しくありません。")
        return
    if slip_type is SlipType.TIME:
        if slot not in TIME_ONLY_SLOTS:
            row.problem("タイムの送り状には「午前10時まで」か「午後5時まで」を指定してください。")
        else:
            row.set(Col.TIME_SLOT, slot.value)
    elif slot in TIME_ONLY_SLOTS:
        row.problem(f"「{slot.label}」はタイムの送り状でだけ指定できます。")
    elif slot is not None:
        if rules.time_slot:
            row.set(Col.TIME_SLOT, slot.value)
        else:
            row.warn(Col.TIME_SLOT, charset.DROPPED,
                     f"{slip_type.label}では配達時間帯を指定できないため、ご希望の時間帯"
                     f"（{slot.label}）を出力しませんでした。")
    if rules.cool:
        row.set(Col.COOL, cool.value)
    elif cool is not Cool.NORMAL:
        row.problem(f"{slip_type.label}ではクール便（冷凍・冷蔵）を送れません。"
                    "発払い・着払いの送り状にしてください。")


def _address(row: _Row, address: str | None, building: str | None) -> None:
    """お届け先住所 ≤ 64 bytes, building ≤ 32: an overlong address moves its tail to the
    building column; what still does not fit refuses the row (an address is never cut)."""
    address_col, building_col = Col.RECIPIENT_ADDRESS, Col.RECIPIENT_BUILDING
    main, changes = _address_text(address)
    extra, extra_changes = _address_text(building)
    for change in changes:
        row.warn(address_col, change.kind, change.detail)
    for change in extra_changes:
        row.warn(building_col, change.kind, change.detail)
    if not main:
        row.problem(f"{column_name(address_col)}を入力してください。")
        return
    room = max_bytes(building_col) - (charset.cp932_len(extra) + 1 if extra else 0)
    head, tail = _split_address(main, max_bytes(address_col), room)
    if tail:
        extra = tail + (" " + extra if extra else "")
    if charset.cp932_len(extra) > max_bytes(building_col):
        what = "住所" if tail else "アパートマンション名"
        row.problem(f"お届け先の{what}が長すぎます（住所は全角32文字、アパートマンション名は"
                    "全角16文字まで）。注文の住所を短くしてから出力してください。")
        return
    if tail:
        row.warn(address_col, MOVED, f"全角32文字を超えるため、末尾の「{tail}」を"
                                     f"「{column_name(building_col)}」へ移しました。")
    row.set(address_col, head)
    row.set(building_col, extra)


def _split_address(text: str, limit: int, room: int) -> tuple[str, str]:
    """(head ≤ ``limit`` bytes, tail). The cut goes after the last space of the head when the
    tail then still fits in ``room`` bytes (a building name usually starts at a space), else
    at the byte limit."""
    head, tail = charset.truncate_bytes(text, limit)
    if not tail:
        return text, ""
    space = max(head.rfind(" "), head.rfind("\u3000"))
    if space > 0:
        at_space = (head[space:] + tail).strip()
        if charset.cp932_len(at_space) <= room:
            return head[:space].rstrip(), at_space
    return head.rstrip(), tail.strip()


def _address_text(value: str | None) -> tuple[str, list[charset.Change]]:
    """Half-width katakana become full-width first: in an address they can break B2's
    postal-code/address check (spec §5)."""
    text = _HALF_KANA_RUN.sub(lambda m: unicodedata.normalize("NFKC", m.group()),
                              charset.clean(value))
    # Only a generous cap here (_address decides where an overlong address goes): whatever is
    # cut by it could not fit in address + building anyway, and such a row is rejected.
    return charset.fit(text, ADDRESS_CAP)


def _recipient(row: _Row, recipient: Recipient, *, phone_required: bool) -> None:
    if not isinstance(recipient, Recipient):
        row.problem("お届け先がありません。")
        return
    if phone_required or (recipient.phone or "").strip():
        row.strict(Col.RECIPIENT_PHONE, values.phone, recipient.phone,
                   column_name(Col.RECIPIENT_PHONE))
    row.strict(Col.RECIPIENT_POSTAL, values.postal_code, recipient.postal_code,
               column_name(Col.RECIPIENT_POSTAL))
    _address(row, recipient.address, recipient.building)
    row.text(Col.RECIPIENT_NAME, recipient.name, required=True)
    row.text(Col.RECIPIENT_COMPANY, recipient.company)
    row.text(Col.RECIPIENT_DEPARTMENT, recipient.department)
    row.kana(Col.RECIPIENT_KANA, recipient.name_kana)


def _parcels(row: _Row, shipment: Shipment, slip_type: SlipType) -> None:
    count = shipment.parcels
    if not isinstance(count, int) or isinstance(count, bool):
        row.problem("発行枚数が正しくありません。")
        return
    if slip_type is SlipType.MULTI_PARCEL:
        if not 2 <= count <= MAX_PARCELS:
            row.problem(f"発払い（複数口）の個数は2〜{MAX_PARCELS}個にしてください。")
            return
        row.set(Col.PARCEL_FRAME, "3")                  # 枠と口数を印字する (fixed for 複数口)
        if values.KEY_RE.match(row.key):
            row.strict(Col.BUNDLE_KEY, values.bundle_key, row.key)
    elif count != 1:
        row.problem("2個口以上の荷物は送り状種類「発払い（複数口）」にしてください。")
        return
    row.set(Col.PARCELS, str(count))


def _notice_mail(row: _Row, shipment: Shipment, slip_type: SlipType) -> None:
    address = (shipment.notify_email or "").strip()
    if slip_type is SlipType.EAZY and not address:
        row.problem("EAZYの送り状にはお届け予定eメールのメールアドレスが必要です。")
        return
    if not address or not slip_type.rules.notice_mail:
        return      # documented: the address is used only where B2 can send the notice
    if row.strict(Col.NOTICE_MAIL_ADDRESS, values.email, address,
                  column_name(Col.NOTICE_MAIL_ADDRESS)):
        row.set(Col.NOTICE_MAIL, "1")
        row.set(Col.INPUT_DEVICE, "1")                  # 1 = PC (EAZY requires it)
