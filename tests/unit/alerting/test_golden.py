"""Rendered alerts compared with reviewed golden files (see conftest.py to regenerate them)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from shared.alerting import render_chat, render_subject, render_text
from tests.unit.alerting import samples


@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_text_matches_golden(sample: str, golden: Callable[[str, str], None]) -> None:
    doc = samples.SAMPLES[sample]()
    golden(f"{sample}.txt", f"Subject: {render_subject(doc)}\n\n{render_text(doc)}")


@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_chat_matches_golden(sample: str, golden: Callable[[str, str], None]) -> None:
    chat = render_chat(samples.SAMPLES[sample]())
    golden(f"{sample}.chat.json", json.dumps(chat, indent=2, ensure_ascii=False) + "\n")
