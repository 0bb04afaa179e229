"""The README's "Python" section runs as written (its ``python`` blocks, in order)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(markdown: str, section: str) -> list[str]:
    """The ``python`` code blocks of the ``## section`` of ``markdown``, in order."""
    match = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"README.md has no '## {section}' section"
    return re.findall(r"^```python\n(.*?)^```", match.group(1), re.M | re.S)


def test_the_python_section_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = python_blocks(README.read_text(encoding="utf-8"), "Python")
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)  # whatever an example writes stays out of the checkout
    for k, code in enumerate(blocks):
        exec(compile(code, f"README.md, Python block {k + 1}", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    # the four-stop problem's optimum (the README shows its output)
    assert "total 23.0 km" in printed
    assert "open sites:" in printed
