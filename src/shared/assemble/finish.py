"""The last step of every document: its next steps, title and summary, read from its own fields."""

from __future__ import annotations

from shared.assemble.headline import headline
from shared.assemble.steps import DEFAULT_ALLOW_TAG, next_steps
from shared.document import AlertDocument


def finished(doc: AlertDocument, allow_tag: str = DEFAULT_ALLOW_TAG) -> AlertDocument:
    """The finished document: its next steps, title and summary, all read from its own fields."""
    if not doc.next_steps:  # tamper and missed-event notices bring their own
        doc = doc.model_copy(update={"next_steps": next_steps(doc, allow_tag)})
    title, summary = headline(doc)
    return doc.model_copy(update={"title": title, "summary": summary})
