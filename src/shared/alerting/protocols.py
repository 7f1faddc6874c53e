"""The protocol table: which renderer writes each SNS protocol's body of the alert message.

With ``MessageStructure`` ``json`` the message is a JSON object that must hold a ``default`` string
and may hold one string per transport protocol:
https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/sns/aws.sdk.kotlin.services.sns.model/-publish-request/message-structure.html

A new channel is one renderer (a function from ``Rendering`` to the body's text) in its own module
and one row here.
"""

from __future__ import annotations

from shared.alerting.chat import chat_body
from shared.alerting.common import Renderer, Rendering
from shared.alerting.text import text_body


def document_body(rendering: Rendering) -> str:
    """The alert document as JSON (schema ``schemas/alert.schema.json``), for machines."""
    return rendering.document_json


PROTOCOL_RENDERERS: dict[str, Renderer] = {
    "default": text_body,
    "email": text_body,
    "sqs": document_body,
    "lambda": document_body,
    "email-json": document_body,
    "firehose": document_body,
    "https": chat_body,
}

DOCUMENT_PROTOCOLS = tuple(protocol for protocol, body in PROTOCOL_RENDERERS.items() if body is document_body)
