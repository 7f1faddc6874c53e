"""Alert rendering (pure) and the thin SNS publisher.

One ``AlertDocument`` becomes one SNS message with a body per protocol, each written by the renderer
the protocol table (``protocols.PROTOCOL_RENDERERS``) names:

* ``default`` / ``email``: the plain-text report, verdict first (``text``);
* ``sqs`` / ``lambda`` / ``email-json`` / ``firehose``: the alert document as JSON (schema
  ``schemas/alert.schema.json``) for machines;
* ``https``: the Amazon Q Developer in chat applications card (``chat``).

The verdict line and the subject come from ``verdict``; size-fitting, attributes and publishing from
``publish``. Every value that someone other than the responder controls passes through
``shared.sanitize`` before a person sees it.
"""

from shared.alerting.chat import CHAT_DESCRIPTION_MAX_CHARS, render_chat
from shared.alerting.common import DEFAULT_LIMITS, Renderer, Rendering, RenderLimits
from shared.alerting.protocols import DOCUMENT_PROTOCOLS, PROTOCOL_RENDERERS
from shared.alerting.publish import (
    ACTIONS,
    SIZE_HEADROOM_BYTES,
    SNS_MAX_BYTES,
    CopyingPublisher,
    SnsPublisher,
    build_message,
    fit_document,
    message_size,
)
from shared.alerting.text import render_text
from shared.alerting.verdict import SUBJECT_MAX_CHARS, render_subject, verdict

__all__ = [
    "ACTIONS",
    "CHAT_DESCRIPTION_MAX_CHARS",
    "DEFAULT_LIMITS",
    "DOCUMENT_PROTOCOLS",
    "PROTOCOL_RENDERERS",
    "SIZE_HEADROOM_BYTES",
    "SNS_MAX_BYTES",
    "SUBJECT_MAX_CHARS",
    "CopyingPublisher",
    "RenderLimits",
    "Renderer",
    "Rendering",
    "SnsPublisher",
    "build_message",
    "fit_document",
    "message_size",
    "render_chat",
    "render_subject",
    "render_text",
    "verdict",
]
