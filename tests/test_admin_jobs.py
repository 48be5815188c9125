"""Admin: 「B2出荷データ取込」 upload → job page (progress JSON, per-row results, filters,
results CSV, 失敗分を再実行, 中止), bad files refused with a message and nothing created,
「B2出荷データ出力」 (list, preview with warnings, download recorded), 「B2クラウド設定」."""
from __future__ import annotations

import csv
import io
import re

import pytest

from flask_kuroneko import jobs
from flask_kuroneko.jobs import store
from flask_kuroneko.settings import effective_settings
from hosts import simple_shop
from jobs_support import (UNUSABLE_SLIP, authorized, issued_file, items, multipart, run,
                          slips, use_b2_settings)
from service_support import models, rows
from test_admin_support import PREFIX, csrf_token, page, post, text


def upload(client, data: bytes, name: str = "issued.csv", *, follow: bool = False):
    token = csrf_token(page(client, "/b2/import"))
    return client.post(PREFIX + "/b2/import", data={"csrf_token": token,
                                                    "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=follow)


def job_id_of(response) -> int:
    return int(re.search(r"/jobs/(\d+)$", response.headers["Location"])[1])


def test_upload_runs_as_a_job_whose_page_reports_every_row(app, client, kuroneko, shop):
    good, refused = authorized(kuroneko, shop, 2)
    numbers = slips()
    response = upload(client, issued_file([(good.order_no, next(numbers)),
                                           (refused.order_no, UNUSABLE_SLIP),
                                           ("99999", next(numbers))]))
    assert response.status_code == 302
    job_id = job_id_of(response)
    waiting = page(client, f"/jobs/{job_id}")
    assert "待機中" in waiting and 'id="job-waiting"' in waiting and "「B2出荷データ取込」を開始しました（3件）" in waiting
    assert client.get(f"{PREFIX}/jobs/{job_id}/progress").get_json()["percent"] == 33
    run(store.get_job(job_id))
    progress = client.get(f"{PREFIX}/jobs/{job_id}/progress").get_json()
    assert (progress["percent"], progress["finished"], progress["groups"]) == (
        100, True, {"captured": 1, "skipped": 1, "error": 1})
    done = page(client, f"/jobs/{job_id}")
    assert "売上確定" in done and "該当注文なし" in done and "ヤマトのエラー" in done
    assert 'id="job-retry"' in done and 'id="job-cancel"' not in done
    errors_only = page(client, f"/jobs/{job_id}?filter=error")
    assert refused.order_no in errors_only and good.order_no not in errors_only
    assert page(client, f"/jobs/{job_id}?filter=nonsense&page=-3").count("<tr class=\"item-") == 3
    listing = page(client, "/jobs")
    assert f"#{job_id}" in listing and "B2出荷データ取込" in listing


def test_results_csv_has_every_row_with_neutralised_cells(app, client, kuroneko, shop):
    response = upload(client, issued_file([("=HYPERLINK(\"http://x\")", next(slips()))]))
    job_id = job_id_of(response)
    csv_response = client.get(f"{PREFIX}/jobs/{job_id}/results.csv")
    assert csv_response.mimetype == "text/csv"
    body = csv_response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert parsed[0][:2] == ["行", "お客様管理番号・受注番号"]
    assert parsed[1][1].startswith("'=HYPERLINK") and parsed[1][5] == "該当注文なし"


def test_retry_and_cancel_buttons(app, client, kuroneko, shop, simulator):
    [p] = authorized(kuroneko, shop)
    simulator.inject_fault("error", operation="KAASL0010", error_code="err0001")
    job_id = job_id_of(upload(client, issued_file([(p.order_no, next(slips()))])))
    run(store.get_job(job_id))
    response = post(client, f"/jobs/{job_id}", f"/jobs/{job_id}/retry")
    assert "失敗した1件を再実行します。" in text(response)
    assert store.get_job(job_id).state == "queued"
    response = post(client, f"/jobs/{job_id}", f"/jobs/{job_id}/cancel")
    assert "ジョブを中止しました" in text(response)
    assert [i.outcome for i in items(store.get_job(job_id))] == ["cancelled"]
    again = post(client, "/b2/import", f"/jobs/{job_id}/cancel")
    assert "中止できません" in text(again)
    # without the token nothing happens
    refused = client.post(f"{PREFIX}/jobs/{job_id}/retry")
    assert refused.status_code == 400


@pytest.mark.parametrize("data, message", [
    (b"PK\x03\x04" + b"\x00" * 64, "Excel"),
    ("お客様管理番号,伝票番号\r\n".encode("utf-16"), "UTF-16"),
    (b'"1","2"\r\n', "列"),
    (b"", "空"),
])
def test_bad_files_get_a_message_and_create_nothing(app, client, kuroneko, shop, data, message):
    response = upload(client, data, "bad.csv")
    assert response.status_code == 400
    assert 'id="b2-import-refusal"' in text(response) and message in text(response)
    assert "何も登録していません" in text(response)
    assert rows(models().Job) == []


def test_missing_file_and_huge_upload(app, client, db):
    token = csrf_token(page(client, "/b2/import"))
    none = client.post(PREFIX + "/b2/import", data={"csrf_token": token},
                       content_type="multipart/form-data")
    assert none.status_code == 400 and "ファイルを選んでください" in text(none)
    # 50 MB, as a browser sends it (built in memory: the test client would spool it to a
    # temporary file nobody closes when the body is refused unread)
    big = client.post(PREFIX + "/b2/import",
                      **multipart({"csrf_token": token}, b"x" * (50 * 1024 * 1024), "big.csv"))
    assert big.status_code == 413 and "大きすぎます" in text(big) and "#" not in text(big)
    assert rows(models().Job) == []


def test_unknown_jobs_are_404(app, client, db):
    for path in ("/jobs/424242", "/jobs/99999999999999999999/progress", "/jobs/0/results.csv"):
        assert client.get(PREFIX + path).status_code == 404


def test_export_list_preview_and_download(app, client, kuroneko, shop):
    paid = authorized(kuroneko, shop, 2)
    listing = page(client, "/b2/export")
    assert 'id="b2-settings-problems"' in listing          # settings not done yet
    use_b2_settings()
    order = simple_shop.db.session.get(simple_shop.ShopOrder, int(paid[1].host_order_id))
    order.billing = dict(order.billing, name="髙橋 一郎")
    simple_shop.db.session.commit()
    listing = page(client, "/b2/export")
    assert 'id="b2-settings-problems"' not in listing and listing.count('name="payment_id"') == 2
    token = csrf_token(listing)
    preview = client.post(PREFIX + "/b2/export/preview", data={
        "csrf_token": token, "payment_id": [str(p.id) for p in paid]})
    html = text(preview)
    assert preview.status_code == 200 and "出力する注文：2件" in html
    assert "機種依存文字" in html                             # 髙 is outside JIS X 0208
    assert rows(models().Job) == []                        # a preview writes nothing
    download = client.post(PREFIX + "/b2/export/download", data={
        "csrf_token": csrf_token(html), "payment_id": [str(p.id) for p in paid]})
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=Shift_JIS"
    assert "attachment; filename=b2_" in download.headers["Content-Disposition"]
    data = download.get_data().decode("cp932")
    assert data.startswith("お客様管理番号,送り状種類") and all(p.order_no in data for p in paid)
    job = store.get_job(int(download.headers["X-Kuroneko-Job"]))
    assert job.kind == "b2_export" and job.params["rows"] == 2
    again = page(client, "/b2/export?unexported=1")
    assert 'name="payment_id"' not in again
    assert "出力済み" in page(client, "/b2/export")


def test_export_all_filtered_and_nothing_selected(app, client, kuroneko, shop):
    use_b2_settings()
    authorized(kuroneko, shop, 3)
    token = csrf_token(page(client, "/b2/export"))
    everything = client.post(PREFIX + "/b2/export/preview", data={"csrf_token": token,
                                                                   "scope": "all"})
    assert "出力する注文：3件" in text(everything)
    nothing = client.post(PREFIX + "/b2/export/preview", data={
        "csrf_token": token, "payment_id": ["x", "-1", "１２"]})
    assert "出力する注文を選んでください" in text(nothing)


def test_b2_settings_saved_and_refused(app, client, kuroneko, shop):
    html = page(client, "/b2/settings")
    assert "ご依頼主名" in html and "宅急便" in html
    response = post(client, "/b2/settings", "/b2/settings", {
        "b2_shipper_name": "テスト雑貨店", "b2_shipper_phone": "03-1234-5678",
        "b2_shipper_postal_code": "150-0001", "b2_shipper_address": "東京都渋谷区神宮前1-2-3",
        "b2_billing_customer_code": "0312345678", "b2_freight_no": "01",
        "b2_header_row": "1", "b2_columns": "95", "b2_notice_mail": "0",
        f"slip_type_{shop['yamato_delivery']}": "A"})
    assert "B2クラウド設定を保存しました。" in text(response)
    saved = effective_settings()
    assert saved.b2_shipper_name == "テスト雑貨店" and saved.b2_columns == 95
    assert saved.b2_slip_types[str(shop["yamato_delivery"])] == "A"
    bad = post(client, "/b2/settings", "/b2/settings", {
        "b2_shipper_name": "髙島屋", "b2_shipper_phone": "12", "b2_freight_no": "1",
        "b2_columns": "97", f"slip_type_{shop['yamato_delivery']}": "2"}, follow=False)
    assert bad.status_code == 400
    html = text(bad)
    assert 'id="error-b2_freight_no"' in html and "保存していません" in html
    assert effective_settings().b2_shipper_name == "テスト雑貨店"    # nothing changed
    cod = post(client, "/b2/settings", "/b2/settings", {
        "b2_freight_no": "01", "b2_columns": "97",
        f"slip_type_{shop['yamato_delivery']}": "2"}, follow=False)
    assert cod.status_code == 400 and "送り状種類は" in text(cod)
    jis = post(client, "/b2/settings", "/b2/settings", {
        "b2_shipper_name": "髙島屋", "b2_freight_no": "01", "b2_columns": "97"}, follow=False)
    assert jis.status_code == 400 and "JIS第1・第2水準" in text(jis)
