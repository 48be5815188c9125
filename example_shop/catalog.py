"""Static shop vocabulary: delivery methods (配送方法), carriers and order statuses (対応状況).

Kept in code, not tables, because the demo never edits them; a real shop would store them.
"""
from __future__ import annotations

from dataclasses import dataclass

YAMATO = "クロネコヤマト"


@dataclass(frozen=True)
class DeliveryMethod:
    id: str
    name: str
    fee: int
    carrier: str          # who delivers it; 後払い settings tick the Yamato ones (M3)


DELIVERY_METHODS: tuple[DeliveryMethod, ...] = (
    DeliveryMethod("takkyubin", "宅急便", 800, YAMATO),
    DeliveryMethod("letterpack", "レターパック", 520, YAMATO),
    DeliveryMethod("mailbin", "メール便", 200, "日本郵便"),
)
DELIVERY_BY_ID = {m.id: m for m in DELIVERY_METHODS}

CARRIERS: tuple[str, ...] = (YAMATO, "日本郵便", "佐川急便", "西濃運輸")

# 対応状況 of a shop order.
STATUS_PROCESSING = "受付処理中"     # created at checkout, payment outcome not known yet
STATUS_NEW = "新規受付"
STATUS_SHIPPED = "発送済み"
STATUS_CANCELLED = "キャンセル"
STATUS_PAYMENT_FAILED = "決済エラー"  # payment refused at checkout: the order was not completed
ORDER_STATUSES: tuple[str, ...] = (STATUS_PROCESSING, STATUS_NEW, STATUS_SHIPPED,
                                   STATUS_CANCELLED, STATUS_PAYMENT_FAILED)
ADMIN_SETTABLE_STATUSES: tuple[str, ...] = (STATUS_NEW, STATUS_SHIPPED, STATUS_CANCELLED)

BANK_TRANSFER = "bank"             # the shop's own ordinary payment method (銀行振込)
BANK_TRANSFER_NAME = "銀行振込"
BANK_ACCOUNT_TEXT = "ねこ銀行 本店営業部 普通 1234567 カ）クロネコショップ"

KIND_LABELS = {"physical": "", "download": "ダウンロード商品", "service": "サービス",
               "subscription": "定期購入"}
#: Product kinds that travel to the customer: a cart without any has no お届け先, 配送方法 or 送料.
DELIVERED_KINDS = ("physical", "subscription")
