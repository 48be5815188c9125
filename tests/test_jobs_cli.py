"""`flask kuroneko b2 export|import` and `flask kuroneko jobs list|show|run|retry|cancel`
through Flask's CLI runner: progress lines, summaries, exit status (0 ok, 1 items failed,
2 usage / refused file)."""
from __future__ import annotations

import re

import pytest

from flask_kuroneko.jobs import store
from jobs_support import UNUSABLE_SLIP, authorized, issued_file, items, slips, use_b2_settings
from service_support import models, rows


def cli(app, *args):
    return app.test_cli_runner().invoke(args=["kuroneko", *args])


def test_b2_import_runs_with_progress_and_exits_zero(app, kuroneko, shop, tmp_path):
    paid = authorized(kuroneko, shop, 4)
    numbers = slips()
    path = tmp_path / "issued.csv"
    path.write_bytes(issued_file([(p.order_no, next(numbers)) for p in paid]))
    result = cli(app, "b2", "import", str(path))
    assert result.exit_code == 0, result.output
    job_id = int(re.search(r"^job (\d+): 4 item\(s\) from 4 row\(s\)", result.output, re.M)[1])
    steps = re.findall(rf"^job {job_id}: (\d+)/4 \((\d+)%\)$", result.output, re.M)
    assert steps[0] == ("0", "0") and steps[-1] == ("4", "100")
    assert [int(pct) for _, pct in steps] == sorted(int(pct) for _, pct in steps)
    assert f"job {job_id} B2出荷データ取込 [完了] 4/4: 売上確定 4" in result.output
    assert {i.outcome for i in items(store.get_job(job_id))} == {"captured"}


def test_failed_items_make_the_command_exit_non_zero_and_retry_fixes_them(
        app, kuroneko, shop, simulator, tmp_path):
    good, flaky = authorized(kuroneko, shop, 2)
    numbers = slips()
    simulator.inject_fault("error", operation="KAASL0010", order_no=flaky.order_no,
                           error_code="err0001")
    path = tmp_path / "issued.csv"
    path.write_bytes(issued_file([(good.order_no, next(numbers)), (flaky.order_no, next(numbers))]))
    result = cli(app, "b2", "import", str(path))
    assert result.exit_code == 1
    job_id = int(re.search(r"^job (\d+):", result.output, re.M)[1])
    assert f"1 item(s) failed: flask kuroneko jobs show {job_id} --filter error" in result.output
    shown = cli(app, "jobs", "show", str(job_id), "--filter", "error")
    assert shown.exit_code == 0 and flaky.order_no in shown.output and good.order_no not in shown.output
    assert "err0001" in shown.output
    again = cli(app, "jobs", "retry", str(job_id))
    assert again.exit_code == 0, again.output
    assert "1 failed item(s) queued again" in again.output and "売上確定 2" in again.output


def test_a_yamato_refusal_is_a_failure(app, kuroneko, shop, tmp_path):
    [p] = authorized(kuroneko, shop)
    path = tmp_path / "issued.csv"
    path.write_bytes(issued_file([(p.order_no, UNUSABLE_SLIP)]))
    result = cli(app, "b2", "import", str(path))
    assert result.exit_code == 1 and "エラー 1" in result.output


def test_a_refused_file_exits_2_and_creates_nothing(app, kuroneko, shop, tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    result = cli(app, "b2", "import", str(path))
    assert result.exit_code == 2
    assert "file refused (binary)" in result.output
    assert rows(models().Job) == []


def test_import_queued_for_the_worker(app, kuroneko, shop, tmp_path):
    [p] = authorized(kuroneko, shop)
    path = tmp_path / "issued.csv"
    path.write_bytes(issued_file([(p.order_no, next(slips()))]))
    result = cli(app, "b2", "import", "--queue", str(path))
    assert result.exit_code == 0 and "[待機中] 0/1" in result.output
    job_id = int(re.search(r"^job (\d+):", result.output, re.M)[1])
    assert cli(app, "jobs", "list").output.count(f"job {job_id} ") == 1
    cancelled = cli(app, "jobs", "cancel", str(job_id))
    assert cancelled.exit_code == 0 and "1 item(s) not run" in cancelled.output
    assert cli(app, "jobs", "cancel", str(job_id)).exit_code == 2
    assert cli(app, "jobs", "run", str(job_id)).exit_code == 0       # nothing left to run
    [item] = items(store.get_job(job_id))
    assert item.outcome == "cancelled"


@pytest.mark.parametrize("job_id", ["424242", "99999999999999999999"])
def test_unknown_jobs(app, db, job_id):
    for command in ("show", "run", "retry", "cancel"):
        result = cli(app, "jobs", command, job_id)
        assert result.exit_code == 2, (command, result.output)
        assert f"no job {job_id}" in result.output


def test_b2_export_writes_the_file_and_records_it(app, kuroneko, shop, tmp_path):
    use_b2_settings()
    paid = authorized(kuroneko, shop, 2)
    out = tmp_path / "b2.csv"
    result = cli(app, "b2", "export", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "2 order(s), 0 warning(s), 0 rejected, 0 skipped" in result.output
    text = out.read_bytes().decode("cp932")
    assert text.count("\r\n") == 3 and all(p.order_no in text for p in paid)
    [job] = rows(models().Job)
    assert job.kind == "b2_export" and {i.outcome for i in items(job)} == {"exported"}


def test_b2_export_exit_codes(app, kuroneko, shop, tmp_path):
    [p] = authorized(kuroneko, shop)
    out = tmp_path / "b2.csv"
    result = cli(app, "b2", "export", "--out", str(out))            # settings missing
    assert result.exit_code == 2 and "B2 settings: shipper.name" in result.output
    use_b2_settings()
    from hosts import simple_shop
    order = simple_shop.db.session.get(simple_shop.ShopOrder, int(p.host_order_id))
    order.billing = dict(order.billing, phone="0")
    simple_shop.db.session.commit()
    result = cli(app, "b2", "export", "--out", str(out))            # the only order refused
    assert result.exit_code == 2 and "nothing to export" in result.output
    assert not out.exists()
    assert cli(app, "b2", "export", "--since", "2026/01/01").exit_code == 2   # bad date
