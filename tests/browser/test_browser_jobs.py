"""Real-browser bulk work (Playwright + Debian chromium, example shop on a real socket, the
embedded job runner in a thread as `flask kuroneko worker` runs it): a B2 issued-data file
uploaded in the admin, the progress bar moving to 100 %, the per-row results read; the shop's
bulk 「発送済み」 with a mixed selection. Screenshots go to test-artifacts/.

Skipped when /usr/bin/chromium is missing, unless KURONEKO_REQUIRE_BROWSER=1.
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from browser_support import payments, shot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jobs_support import issued_file, slips  # noqa: E402
from service_support import slip  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def viewport() -> dict:
    return {"width": 1280, "height": 900}


@pytest.fixture
def runner(live_shop):
    """The embedded runner of `flask kuroneko worker`, in a thread of the test process."""
    from flask_kuroneko.jobs import runner as job_runner
    app, _ = live_shop
    app.config.update(KURONEKO_JOBS_POLL_INTERVAL=1, KURONEKO_BULK_CONCURRENCY=1)
    stop = threading.Event()

    def loop():
        with app.app_context():
            while not stop.is_set():
                job_runner.work("browser-test", stop, 2.0)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(30)


def buy(app, count: int, **extra) -> None:
    from example_shop.testing import ShopDriver
    for n in range(count):
        driver = ShopDriver(app.test_client())
        response = driver.buy("invoice", phone=f"03-2222-{1000 + n:04d}", **extra)
        assert response.status_code == 302, response.location


def login(page, base: str) -> None:
    page.goto(base + "/admin/login")
    page.fill("#password", "admin")
    page.get_by_role("button", name="ログイン").click()


def test_b2_upload_progress_bar_and_per_row_results(live_shop, page, simulator, runner):
    app, base = live_shop
    buy(app, 3)
    paid = payments(app)
    simulator.inject_fault("latency", operation="KAASL0010", seconds=0.6, times=None)
    numbers = slips()
    data = issued_file([(p.order_no, next(numbers)) for p in paid]
                       + [("99999", next(numbers)), (paid[0].order_no, "450102030454")],
                       header=True)
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, base)
    page.goto(base + "/admin/kuroneko/b2/import")
    page.set_input_files("#b2-file", files=[{"name": "発行済データ.csv", "mimeType": "text/csv",
                                             "buffer": data}])
    page.click("#b2-import-start")
    page.wait_for_selector("#job-progress")
    first = page.eval_on_selector("#job-progress", "el => el.value")
    assert first < 100
    shot(page, "admin-b2-import-running.png")
    # the script moves the bar (CSS attribute selector: the CSP forbids eval'd predicates)
    page.wait_for_selector("#job-progress[aria-valuenow='100']", state="attached",
                           timeout=60_000)
    # the page reloads itself once with the results (rendered by the server): only the
    # polling script does that, so it ran under the page's CSP
    page.wait_for_selector("#job-items tr.item-captured", timeout=15_000)
    shot(page, "admin-b2-import-done.png")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert page.eval_on_selector("#job-progress", "el => el.value") == 100
    rows = page.inner_text("#job-items")
    assert len(page.query_selector_all("#job-items tr.item-captured")) == 3
    assert "該当注文なし" in rows and "送り状番号エラー" in rows
    assert "チェックデジット" in rows
    assert page.inner_text("#job-count-captured") == "3"
    assert {p.status for p in payments(app)} == {"captured"}
    page.select_option("select[name=filter]", "skipped")
    page.click("#job-filter button")
    page.wait_for_selector("#job-items")
    assert not page.query_selector_all("#job-items tr.item-captured")
    assert len(page.query_selector_all("#job-items tr.item-unknown_order")) == 1


def test_bulk_shipped_with_a_mixed_selection(live_shop, page, runner):
    app, base = live_shop
    buy(app, 2)                                   # 宅急便 (Yamato): one gets a slip, one not
    buy(app, 1, delivery_method="mailbin")        # 日本郵便 (other carrier)
    from example_shop.testing import ShopDriver
    ShopDriver(app.test_client()).buy("bank", phone="03-2222-3000")
    login(page, base)
    orders = {}
    page.goto(base + "/admin/")
    for link in page.query_selector_all("#orders tbody tr td:nth-child(2) a"):
        orders[int(link.inner_text())] = link.get_attribute("href")
    ids = sorted(orders)
    assert len(ids) == 4
    slip_order, no_slip_order, mail_order, bank_order = ids
    for order_id, carrier, number in ((slip_order, "クロネコヤマト", slip(12345678901)),
                                    (no_slip_order, "クロネコヤマト", ""),
                                    (mail_order, "日本郵便", "")):
        page.goto(base + orders[order_id])
        page.select_option("#carrier", carrier)
        page.fill("#tracking_no", number)
        page.get_by_role("button", name="更新").click()
        page.wait_for_selector("text=受注データを更新しました。")
    page.goto(base + "/admin/")
    assert "B2出荷データ出力／取込" in page.inner_text("#orders-bulk")
    for order_id in ids:
        page.check(f"input[name=order_id][value='{order_id}']")
    page.select_option("#bulk-status", "発送済み")
    shot(page, "shop-bulk-shipped-selection.png")
    page.click("#bulk-start")
    page.wait_for_selector("#job-progress")
    page.wait_for_selector("#job-progress[aria-valuenow='100']", state="attached",
                           timeout=60_000)
    page.wait_for_selector("#job-items tr.item-captured", timeout=15_000)
    shot(page, "shop-bulk-shipped-result.png")
    rows = page.inner_text("#job-items")
    assert len(page.query_selector_all("#job-items tr.item-captured")) == 2
    assert len(page.query_selector_all("#job-items tr.item-skipped")) == 2
    assert "送り状番号が入力されていない" in rows and "B2出荷データ取込" in rows
    assert "クロネコ代金後払いの注文ではない" in rows
    status = {int(p.host_order_id): p.status for p in payments(app)}
    assert status == {slip_order: "captured", no_slip_order: "authorized",
                      mail_order: "captured"}
