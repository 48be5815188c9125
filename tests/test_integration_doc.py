"""docs/integration.md says what the code does: every config key with its real default (and the
fresh-install value of each settings field), every hook, every signal, the quickstart size."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flask_kuroneko import config, signals
from flask_kuroneko.hooks import HOOK_CONTRACTS
from flask_kuroneko.settings import FRESH_DEFAULTS

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "integration.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = DOC.index(f"## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end != -1 else None]


def quickstart_code() -> str:
    text = section("Quickstart")
    start = text.index("```python\n") + len("```python\n")
    return text[start:text.index("\n```", start)]


def table_rows(text: str) -> list[list[str]]:
    """Cells of every table row whose first cell is code (`…`); escaped pipes kept."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append(cells)
    return rows


def names(cell: str) -> list[str]:
    return re.findall(r"`([A-Z0-9_@a-z.]+)`", cell)


def literal(cell: str):
    return ast.literal_eval(cell.strip("`"))


def config_tables() -> tuple[list[list[str]], list[list[str]]]:
    rows = table_rows(section("Configuration"))
    settings_rows = [r for r in rows if len(r) == 4]
    other_rows = [r for r in rows if len(r) == 3]
    assert len(settings_rows) + len(other_rows) == len(rows)
    return settings_rows, other_rows


def test_every_settings_key_with_its_field_and_fresh_install_value():
    settings_rows, _ = config_tables()
    documented = {}
    for key_cell, field_cell, _label, fresh in settings_rows:
        [key] = names(key_cell)
        documented[key] = (field_cell.split(":")[0].strip(), literal(fresh))
    expected = {key: (field, FRESH_DEFAULTS[field])
                for field, key in config.SETTINGS_OVERRIDES.items()}
    assert documented == expected
    assert all(config.DEFAULTS[key] is None for key in documented)     # "Default None"


def test_every_other_key_with_its_real_default():
    _, other_rows = config_tables()
    documented = {}
    for key_cell, default, _meaning in other_rows:
        for key in names(key_cell):
            documented[key] = literal(default)
    expected = {k: v for k, v in config.DEFAULTS.items()
                if k not in config.SETTINGS_OVERRIDES.values()}
    assert documented == expected


@pytest.mark.parametrize("name", sorted(HOOK_CONTRACTS))
def test_every_hook_is_documented(name):
    assert f"`@kuroneko.{name}`" in section("Host hooks")


@pytest.mark.parametrize("sig", signals.INBOUND + signals.OUTBOUND, ids=lambda s: s.name)
def test_every_signal_is_documented(sig):
    attribute = next(k for k, v in vars(signals).items() if v is sig)
    assert f"| `{attribute}` |" in section("Signals")


def test_quickstart_is_short_and_linked_from_the_readme():
    code = quickstart_code()
    assert 15 <= len(code.splitlines()) <= 25
    assert "docs/integration.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_quickstart_runs_a_sandbox_payment(tmp_path, monkeypatch):
    """The quickstart as printed: its app factory, model and two hooks authorize an order."""
    import sys
    import types
    from datetime import datetime

    from flask_kuroneko import rules
    code = quickstart_code()
    monkeypatch.chdir(tmp_path)                       # sqlite:///shop.db -> tmp_path/instance
    module = types.ModuleType("kuroneko_quickstart")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, "docs/integration.md#quickstart", "exec"), module.__dict__)
    app = module.create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///shop.db"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kuroneko", "init-db"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        module.db.create_all()                        # the shop's own table
        try:
            invoice = next(m for m in rules.list_methods() if m.kind == "invoice")
            buyer = {"name": "山田 太郎", "postal_code": "100-0001", "prefecture": "東京都",
                     "address1": "千代田区千代田1-1", "phone": "03-1234-5678"}
            order = module.Order(created=datetime.now(), buyer=buyer, items=[["お茶", 2, 1500]])
            module.db.session.add(order)
            module.db.session.flush()
            [offer] = [o for o in module.kuroneko.available_methods(module.describe(order))
                       if o.method_id == invoice.id]
            assert offer.available, offer.reason
            outcome = module.kuroneko.start_payment(order, invoice.id)
            assert outcome.kind == "authorized" and outcome.payment.amount == 3000
            assert module.kuroneko.payment_for(order.id).status_label == "与信"
        finally:
            module.db.session.remove()
            module.db.engine.dispose()
