"""Demo data created on first run: products (physical, download, subscription: M10),
the Yamato delivery methods ticked (M3), スマホタイプ on (M5), a fixed fee (M7) and both
後払い methods (M8) next to the shop's own 銀行振込.
"""
from __future__ import annotations

import logging

from .catalog import YAMATO, DELIVERY_METHODS
from .extensions import db, kuroneko
from .models import Product

logger = logging.getLogger(__name__)

PRODUCTS = (
    ("有田焼 マグカップ", "佐賀県有田町の窯元で焼いた白磁のマグカップです。", 2200, "physical"),
    ("今治タオル ギフトセット", "フェイスタオル2枚とバスタオル1枚のセットです。", 3300, "physical"),
    ("南部鉄器 急須", "岩手県の職人による鉄瓶の急須（0.5L）です。", 12100, "physical"),
    ("一眼レフカメラ（レンズキット）", "ご利用限度額を超える金額の商品です（後払い不可の例）。", 60500,
     "physical"),
    ("デジタル写真集（ダウンロード）", "PDF形式のダウンロード商品です（後払い不可の例）。", 1100,
     "download"),
    ("コーヒー豆 定期便（毎月お届け）", "毎月200gをお届けする定期購入です（後払い不可の例）。", 3240,
     "subscription"),
)
DEMO_FEE = 300
DEMO_CONVERSION_TAG = ('<img src="/static/conversion.gif?order={order_id}&amp;amount={amount}" '
                       'width="1" height="1" alt="">')


def seed() -> bool:
    """Create the demo data unless products exist already; True when something was created."""
    if db.session.scalar(db.select(db.func.count(Product.id))):
        return False
    for name, description, price, kind in PRODUCTS:
        db.session.add(Product(name=name, description=description, price=price, kind=kind))
    models = kuroneko.models
    settings = db.session.get(models.Settings, 1) or models.Settings(id=1)
    settings.environment = "sandbox"
    settings.yamato_delivery_method_ids = [m.id for m in DELIVERY_METHODS if m.carrier == YAMATO]
    settings.other_carrier_enabled = True
    settings.smartphone_enabled = True
    settings.fee_mode = "fixed"
    settings.fee_fixed = DEMO_FEE
    settings.conversion_tag = DEMO_CONVERSION_TAG
    # B2クラウド (「B2出荷データ出力」): the demo shop as the sender of its slips.
    settings.b2_shipper_name = "クロネコ雑貨店"
    settings.b2_shipper_phone = "03-1234-5678"
    settings.b2_shipper_postal_code = "150-0001"
    settings.b2_shipper_address = "東京都渋谷区神宮前1-2-3"
    settings.b2_billing_customer_code = "0312345678"
    settings.b2_freight_no = "01"
    db.session.add(settings)
    existing = {m.kind for m in db.session.scalars(db.select(models.PaymentMethod))}
    for position, (kind, name, description) in enumerate((
            ("invoice", "後払い払込票タイプ（クロネコ代金後払いサービス）",
             "<p>商品とは別に郵送でお届けする<strong>払込票</strong>で、コンビニ・郵便局・銀行で"
             "お支払いください（請求書発行から14日以内）。</p>"),
            ("smartphone", "後払いスマホタイプ（クロネコ代金後払いサービス）",
             "<p>ご注文時に<strong>SMSで届く4桁の認証番号</strong>を入力してください。"
             "請求書はSMSでスマートフォンに届きます。</p>")), start=1):
        if kind not in existing:
            db.session.add(models.PaymentMethod(kind=kind, name=name, description_html=description,
                                                active=True, sort_order=position))
    db.session.commit()
    logger.info("demo data created")
    return True
