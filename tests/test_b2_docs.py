"""docs/b2.md stays true: its example runs, and its tables name what the package does."""
from __future__ import annotations

import re
from pathlib import Path

from flask_kuroneko.b2 import RowKind
from flask_kuroneko.b2 import charset
from flask_kuroneko.b2.rows import MOVED

DOC = (Path(__file__).resolve().parents[1] / "docs" / "b2.md").read_text(encoding="utf-8")


def test_the_example_runs():
    [example] = re.findall(r"```python\n(.*?)```", DOC, flags=re.S)
    exec(compile(example, "docs/b2.md", "exec"), {})


def test_every_warning_kind_and_row_kind_is_documented():
    kinds = [charset.TRUNCATED, charset.REPLACED, charset.UNREPRESENTABLE,
             charset.MACHINE_DEPENDENT, charset.FORMULA, MOVED, charset.DROPPED]
    for kind in kinds + [k.value for k in RowKind]:
        assert f"| `{kind}` |" in DOC, kind


def test_every_refusal_code_is_documented():
    source = (Path(__file__).resolve().parents[1] / "flask_kuroneko" / "b2" / "issued.py"
              ).read_text(encoding="utf-8")
    codes = set(re.findall(r'_refuse\("([a-z_]+)"', source))
    assert codes == {"empty", "too_large", "binary", "encoding", "columns", "csv_syntax",
                     "too_many_rows", "header", "spreadsheet", "no_key", "no_tracking"}
    for code in codes:
        assert f"| `{code}` |" in DOC, code
