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


def test_every_kind_of_alert_has_a_golden_sample() -> None:
    from shared.events import Kind

    kinds = {samples.SAMPLES[name]().kind for name in samples.KINDS.values()}
    assert kinds == {kind.value for kind in Kind}


@pytest.mark.parametrize("kind", sorted(samples.KINDS))
def test_next_steps_start_within_the_first_8_lines_and_the_account_leads(kind: str) -> None:
    # Given the golden text of each kind of alert (subject line first, as an email shows it)
    doc = samples.SAMPLES[samples.KINDS[kind]]()
    lines = f"Subject: {render_subject(doc)}\n\n{render_text(doc)}".splitlines()

    # Then the first step is within the first 8 lines, and the account is in the subject and first line
    first_step = next(i for i, line in enumerate(lines) if line.strip().startswith("1. "))
    assert first_step < 8, lines[: first_step + 1]
    assert doc.next_steps, "every kind of alert says what to do"
    assert samples.ACCOUNT in render_subject(doc)
    assert samples.ACCOUNT in lines[2]
    assert lines[2] == doc.summary
