"""Code samples of the docs, as the tests that run them read them (not a test module).

A ```python block is a sample. Its first line may name the file it is, ``# file: shop.py``;
such blocks make a small project on disk (tests/test_integration_doc.py runs it with pytest),
the others run in order in one namespace per page. ```text and ```console blocks are not code.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Every page a shop developer reads; each ```python block in them is run by a test.
PAGES = sorted([ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md")])
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_FILE = re.compile(r"^# file: (\S+)\n")


@dataclass(frozen=True)
class Sample:
    page: Path
    line: int
    code: str
    file: str | None          # "shop.py" for a block that starts "# file: shop.py"

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def samples(page: Path) -> list[Sample]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        code = match.group(1)
        named = _FILE.match(code)
        found.append(Sample(page, text.count("\n", 0, match.start()) + 2, code,
                            named.group(1) if named else None))
    return found


def section(page: Path, title: str) -> str:
    text = page.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def quickstart() -> Sample:
    """The quickstart of docs/integration.md: the block that is ``shop.py``."""
    [shop] = [s for s in samples(ROOT / "docs" / "integration.md") if s.file == "shop.py"]
    return shop
