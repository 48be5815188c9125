"""The example shop's bulk 「発送済み」 (M18) through its own order list: tick a mixed
selection, 「発送済み」, 「更新開始」 → the orders are 発送済み in the shop, and the job page of
the extension says which payments were confirmed and which were skipped and why."""
from __future__ import annotations

import re

from example_shop.testing import ShopDriver, csrf_token
from shop_support import admin_login, follow, orders, payments, text, yamato_slip


def test_bulk_shipped_with_a_mixed_selection(shop):
    from flask_kuroneko import jobs
    buyers = ShopDriver(shop.test_client())
    follow(buyers, buyers.buy("invoice", phone="03-1111-0001"))                           # Yamato, slip
    follow(buyers, buyers.buy("invoice", phone="03-1111-0002"))                           # Yamato, no slip
    follow(buyers, buyers.buy("invoice", phone="03-1111-0003", delivery_method="mailbin"))  # other carrier
    follow(buyers, buyers.buy("bank", phone="03-1111-0004"))                              # 銀行振込
    with_slip, without_slip, mail, bank = orders(shop)
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    for order, carrier, slip in ((with_slip, "クロネコヤマト", yamato_slip()),
                                 (without_slip, "クロネコヤマト", ""), (mail, "日本郵便", "")):
        url = f"/admin/orders/{order.id}"
        admin.post_form(url, url, {"status": "新規受付", "carrier": carrier, "tracking_no": slip})
    listing = text(admin.get("/admin/"))
    assert 'id="bulk-start"' in listing and "B2出荷データ出力／取込" in listing
    response = admin.client.post("/admin/orders/bulk", data={
        "csrf_token": csrf_token(listing), "bulk_status": "発送済み",
        "order_id": [str(o.id) for o in (with_slip, without_slip, mail, bank)]})
    assert response.status_code == 302
    job_id = int(re.search(r"/admin/kuroneko/jobs/(\d+)$", response.location)[1])
    assert {o.status for o in orders(shop)} == {"発送済み"}
    with shop.app_context():
        jobs.run_job(job_id, until_finished=True)
    page = text(admin.get(response.location))
    assert 'id="job-count-captured">2<' in page and 'id="job-count-skipped">2<' in page
    assert "送り状番号が入力されていないため" in page and "B2出荷データ取込" in page
    assert "クロネコ代金後払いの注文ではない" in page
    status = {p.host_order_id: p.status for p in payments(shop)}
    assert status == {str(with_slip.id): "captured", str(without_slip.id): "authorized",
                      str(mail.id): "captured"}


def test_bulk_without_selection_or_token_changes_nothing(shop):
    follow_driver = ShopDriver(shop.test_client())
    follow(follow_driver, follow_driver.buy("invoice"))
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    listing = text(admin.get("/admin/"))
    nothing = admin.client.post("/admin/orders/bulk", data={"csrf_token": csrf_token(listing),
                                                             "bulk_status": "発送済み"})
    assert nothing.status_code == 302
    assert "チェックを入れ" in text(admin.get("/admin/"))
    [order] = orders(shop)
    forged = admin.client.post("/admin/orders/bulk", data={"bulk_status": "発送済み",
                                                            "order_id": [str(order.id)]})
    assert forged.status_code == 302
    assert [o.status for o in orders(shop)] == [order.status] and order.status != "発送済み"


def test_b2_import_takes_a_file_larger_than_the_shops_request_limit(shop):
    """The shop limits requests to 1 MB (MAX_CONTENT_LENGTH); the B2 import endpoint has its
    own limit (KURONEKO_B2_MAX_UPLOAD_MB), so a 2 MB issued-data file is read."""
    from jobs_support import issued_file, multipart, slips
    numbers = slips()
    data = issued_file([(f"Z{n:05d}", next(numbers)) for n in range(4500)])
    assert 1024 * 1024 < len(data) < 3 * 1024 * 1024
    admin = ShopDriver(shop.test_client())
    admin_login(admin)
    token = csrf_token(text(admin.get("/admin/kuroneko/b2/import")))
    response = admin.client.post("/admin/kuroneko/b2/import",
                                 **multipart({"csrf_token": token}, data))
    assert response.status_code == 302, text(response)[:500]
    page = text(admin.get(response.location))
    assert 'id="job-count-skipped">4500<' in page
