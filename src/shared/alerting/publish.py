"""The SNS message for one alert, kept under SNS's size limit, and the thin publisher.

The message holds one body per protocol, written by the renderers in the protocol table. When it
would not fit, the alert document is trimmed step by step (dependency items first) and the alert
says what was left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.alerting.common import DEFAULT_LIMITS, Renderer, Rendering, RenderLimits, sns_json
from shared.alerting.protocols import PROTOCOL_RENDERERS, document_body
from shared.alerting.verdict import render_subject
from shared.aws import ClientFactory
from shared.document import AlertDocument
from shared.errors import AlertDeliveryError
from shared.observability import logger, metrics
from shared.sanitize import ascii_line, truncate

ACTIONS = ("sns:Publish",)

# Message, subject and every attribute's name, type and value count against the limit:
# https://docs.aws.amazon.com/sdk-for-python/v4/reference/clients/sns/structures/MessageAttributeValue/
SNS_MAX_BYTES = 262_144
SIZE_HEADROOM_BYTES = 2_048


@dataclass(frozen=True)
class _Level:
    """One step of trimming; ``None`` keeps everything."""

    items: int | None  # dependency items kept in the document
    lists: int | None  # grants, usage principals and every other list
    strings: int | None  # longest string kept in the document
    tags: int | None  # AWS allows 50 tags a key
    limits: RenderLimits


_LEVELS = (
    _Level(None, None, None, None, DEFAULT_LIMITS),
    _Level(2_000, None, None, None, DEFAULT_LIMITS),
    _Level(500, 500, 4_096, None, DEFAULT_LIMITS),
    _Level(100, 100, 1_024, None, DEFAULT_LIMITS),
    _Level(20, 20, 512, None, RenderLimits(10, 5, 10, 128, 256)),
    _Level(0, 10, 256, 50, RenderLimits(5, 3, 5, 96, 200)),
    _Level(0, 5, 128, 50, RenderLimits(3, 3, 5, 80, 200)),
    _Level(0, 3, 64, 20, RenderLimits(0, 0, 3, 64, 200)),
)
# Identifiers a responder needs intact; none of them is long.
_KEEP_WHOLE = frozenset(
    {
        ("alert_id",),
        ("key", "arn"),
        ("key", "id"),
        ("key", "primary_arn"),
        ("event", "id"),
        ("event", "name"),
        ("generated_at",),
    }
)
_KEEP_LISTS = frozenset({("next_steps",), ("notes",)})


def _trim(value: Any, path: tuple[str, ...], level: _Level, changed: list[bool]) -> Any:
    if isinstance(value, str):
        if (
            level.strings is not None
            and len(value) > level.strings
            and path not in _KEEP_WHOLE
            and path[:1] != ("next_steps",)
        ):
            changed.append(True)
            return truncate(value, level.strings)
        return value
    if isinstance(value, list):
        if level.lists is not None and len(value) > level.lists and path not in _KEEP_LISTS:
            changed.append(True)
            value = value[: level.lists]
        return [_trim(item, path, level, changed) for item in value]
    if isinstance(value, dict):
        items = list(value.items())
        if path == ("key", "tags"):
            if level.tags is not None and len(items) > level.tags:
                changed.append(True)
                items = sorted(items)[: level.tags]
            if level.strings is not None and any(len(k) > level.strings for k, _ in items):
                changed.append(True)
                items = [(truncate(k, level.strings), v) for k, v in items]
        return {k: _trim(v, (*path, k), level, changed) for k, v in items}
    return value


def fit_document(doc: AlertDocument, level_index: int) -> AlertDocument:
    """The document trimmed to one level, with a note for everything it leaves out."""
    if level_index == 0:
        return doc
    return AlertDocument.model_validate(_fit_data(doc.model_dump(mode="json"), _LEVELS[level_index]))


def _drop(container: dict[str, Any], field: str, counter: str, keep: int | None) -> int:
    """Keep the first ``keep`` entries of ``container[field]``; count the rest in ``counter``."""
    if keep is None or len(container[field]) <= keep:
        return 0
    dropped = len(container[field]) - keep
    container[field] = container[field][:keep]
    container[counter] += dropped
    return dropped


def _fit_data(data: dict[str, Any], level: _Level) -> dict[str, Any]:
    """``fit_document`` on a JSON-mode dump; ``data`` itself is left unchanged."""
    data = dict(data)
    deps = data["dependencies"] = dict(data["dependencies"])
    notes: list[str] = []
    dropped = _drop(deps, "items", "items_omitted", level.items)
    if dropped:
        notes.append(
            f"{dropped} dependency items omitted to fit the SNS size limit; the total and the "
            "per-type counts still cover every resource found."
        )
    dropped = _drop(deps, "grants", "grants_omitted", level.lists)
    if dropped:
        notes.append(f"{dropped} grants omitted to fit the SNS size limit.")
    if deps.get("usage"):
        usage = deps["usage"] = dict(deps["usage"])
        dropped = _drop(usage, "principals", "principals_omitted", level.lists)
        if dropped:
            notes.append(f"{dropped} usage principals omitted to fit the SNS size limit.")
    changed: list[bool] = []
    data = _trim(data, (), level, changed)
    if changed:
        notes.append(
            "Some long values and lists were shortened to fit the SNS size limit; "
            "a shortened value ends with '… [+N chars]'."
        )
    data["notes"] = [*data["notes"], *notes]
    return data


def message_size(message: dict[str, Any]) -> int:
    """Bytes SNS counts against its limit: message, subject, attribute names, types and values."""
    size = len(message["Message"].encode("utf-8")) + len(message.get("Subject", "").encode("utf-8"))
    for name, attribute in message.get("MessageAttributes", {}).items():
        size += len(name.encode("utf-8")) + len(attribute["DataType"].encode("utf-8"))
        size += len(attribute["StringValue"].encode("utf-8"))
    return size


def _attributes(doc: AlertDocument) -> dict[str, dict[str, str]]:
    values = {
        "severity": doc.severity.value,
        "event_name": doc.event.name,
        "account": doc.event.account,
        "region": doc.event.region,
    }
    attributes = {}
    for name, value in values.items():
        text = ascii_line(value, 256) if value else ""
        if text:
            attributes[name] = {"DataType": "String", "StringValue": text}
    return attributes


def _assemble(rendering: Rendering, renderers: Mapping[str, Renderer]) -> dict[str, Any]:
    bodies: dict[str, str] = {}
    written: dict[Renderer, str] = {}  # a renderer serving several protocols runs once
    for protocol, renderer in renderers.items():
        if renderer not in written:
            written[renderer] = renderer(rendering)
        bodies[protocol] = written[renderer]
    return {
        "Subject": render_subject(rendering.doc),
        "MessageStructure": "json",
        "Message": sns_json(bodies),
        "MessageAttributes": _attributes(rendering.doc),
    }


def _larger_than(value: Any, limit: int) -> bool:
    """Whether the JSON of ``value`` surely has more than ``limit`` characters (stops early)."""
    size, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 3
        elif isinstance(item, dict):
            size += 2 + sum(len(k) + 4 for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            size += 2 + len(item)
            stack.extend(item)
        else:
            size += 4
        if size > limit:
            return True
    return False


def build_message(
    doc: AlertDocument,
    max_bytes: int = SNS_MAX_BYTES - SIZE_HEADROOM_BYTES,
    renderers: Mapping[str, Renderer] | None = None,
) -> dict[str, Any]:
    """SNS ``publish`` keyword arguments (all but ``TopicArn``) for one alert, under ``max_bytes``.

    ``renderers`` maps each protocol to the renderer of its body; by default the protocol table,
    ``PROTOCOL_RENDERERS``. Trims step by step (dependency items first, then grants, principals,
    long values and other lists) and notes in the alert what was left out. Raises
    ``AlertDeliveryError`` only when even the last step does not fit, which takes pathological
    responder-written next steps or notes.
    """
    table = PROTOCOL_RENDERERS if renderers is None else renderers
    if "default" not in table:
        raise ValueError("an SNS message with MessageStructure json needs a 'default' body")
    copies = max(sum(1 for renderer in table.values() if renderer is document_body), 1)
    original = doc.model_dump(mode="json")
    for index, level in enumerate(_LEVELS):
        data = original if index == 0 else _fit_data(original, level)
        if _larger_than(data, max_bytes // copies):
            continue
        document = sns_json(data)
        if len(document.encode("utf-8")) * copies > max_bytes:
            continue  # the copies of the document alone are too big: no need to render
        fitted = doc if index == 0 else AlertDocument.model_validate(data)
        message = _assemble(Rendering(fitted, document, level.limits), table)
        if message_size(message) <= max_bytes:
            return message
    raise AlertDeliveryError(f"alert {doc.alert_id} does not fit in an SNS message even after trimming")


class SnsPublisher:
    """Publishes one alert to one topic; a failure raises ``AlertDeliveryError`` so Lambda retries."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    @classmethod
    def for_topic(cls, clients: ClientFactory, topic_arn: str) -> SnsPublisher:
        """A publisher whose client is in the topic's own region (not necessarily the function's)."""
        return cls(clients.client("sns", topic_arn.split(":")[3]), topic_arn)

    @property
    def topic_arn(self) -> str:
        return self._topic_arn

    def publish(self, doc: AlertDocument) -> str:
        """Publish the alert and return the SNS MessageId."""
        message = build_message(doc)
        try:
            response = self._client.publish(TopicArn=self._topic_arn, **message)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise AlertDeliveryError(
                f"SNS rejected alert {doc.alert_id} for {self._topic_arn}: {code}"
            ) from error
        except BotoCoreError as error:
            raise AlertDeliveryError(
                f"could not reach SNS for alert {doc.alert_id} ({type(error).__name__})"
            ) from error
        return str(response["MessageId"])


class Publishing(Protocol):
    def publish(self, doc: AlertDocument) -> str: ...


class CopyingPublisher:
    """Publishes a copy to a second topic first (best effort), then to the primary topic (whose
    failure raises). Tamper alerts take both paths: what was tampered with may be the alert topic
    or its key, and then the copy on the health topic is the one that arrives."""

    def __init__(self, primary: Publishing, copy: Publishing) -> None:
        self.primary = primary
        self.copy = copy

    def publish(self, doc: AlertDocument) -> str:
        try:
            self.copy.publish(doc)
        except AlertDeliveryError as error:
            # The primary delivery still decides the invocation's outcome; the lost copy is counted.
            metrics.add_metric(name="AlertCopyFailed", unit="Count", value=1)
            logger.warning("alert copy not delivered", alert_id=doc.alert_id, error=str(error))
        return self.primary.publish(doc)
