"""Typed models of what arrives: EventBridge envelopes around KMS CloudTrail records.

Real records vary between years and sources, so the models are lenient by design: unknown fields
are ignored, every optional field may be missing or ``null``, booleans may arrive as strings, and
the key may be named in three places in several forms. No I/O happens here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.keyref import KeyReference, RefKind, parse_key_reference

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
KEY_DELETION_DETAIL_TYPE = "KMS CMK Deletion"
DEFAULT_PENDING_WINDOW_DAYS = 30


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _to_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "1"):
            return True
        if lowered in ("false", "no", "0", ""):
            return False
        return None
    if isinstance(value, int | float):
        return bool(value)
    return None


def _to_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


class SessionIssuer(_Lenient):
    type: str | None = None
    arn: str | None = None
    user_name: str | None = Field(default=None, alias="userName")
    account_id: str | None = Field(default=None, alias="accountId")


class SessionAttributes(_Lenient):
    mfa_authenticated: bool | None = Field(default=None, alias="mfaAuthenticated")
    creation_date: str | None = Field(default=None, alias="creationDate")

    _bool = field_validator("mfa_authenticated", mode="before")(lambda v: _to_bool(v))


class SessionContext(_Lenient):
    session_issuer: SessionIssuer | None = Field(default=None, alias="sessionIssuer")
    attributes: SessionAttributes | None = None
    source_identity: str | None = Field(default=None, alias="sourceIdentity")


class UserIdentity(_Lenient):
    type: str | None = None
    principal_id: str | None = Field(default=None, alias="principalId")
    arn: str | None = None
    account_id: str | None = Field(default=None, alias="accountId")
    access_key_id: str | None = Field(default=None, alias="accessKeyId")
    user_name: str | None = Field(default=None, alias="userName")
    invoked_by: str | None = Field(default=None, alias="invokedBy")
    session_context: SessionContext | None = Field(default=None, alias="sessionContext")
    identity_provider: str | None = Field(default=None, alias="identityProvider")

    @property
    def session_name(self) -> str | None:
        """The role session name of an assumed role or a federated user."""
        if self.type in ("AssumedRole", "FederatedUser") and self.arn and "/" in self.arn:
            return self.arn.rsplit("/", 1)[-1]
        return None


class ResourceItem(_Lenient):
    arn: str | None = None
    type: str | None = None
    account_id: str | None = Field(default=None, alias="accountId")

    @model_validator(mode="before")
    @classmethod
    def _arn_any_case(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"arn": data}
        if isinstance(data, dict) and "arn" not in data:
            for key in ("ARN", "Arn", "resourceArn"):
                if key in data:
                    return {**data, "arn": data[key]}
        return data


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


class CloudTrailRecord(_Lenient):
    """The CloudTrail record (the ``detail`` of an EventBridge envelope, or an item of ``Records``)."""

    event_version: str | None = Field(default=None, alias="eventVersion")
    user_identity: UserIdentity = Field(default_factory=UserIdentity, alias="userIdentity")
    event_time: datetime | None = Field(default=None, alias="eventTime")
    event_source: str | None = Field(default=None, alias="eventSource")
    event_name: str = Field(alias="eventName", min_length=1)
    aws_region: str | None = Field(default=None, alias="awsRegion")
    source_ip_address: str | None = Field(default=None, alias="sourceIPAddress")
    user_agent: str | None = Field(default=None, alias="userAgent")
    error_code: str | None = Field(default=None, alias="errorCode")
    error_message: str | None = Field(default=None, alias="errorMessage")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    additional_event_data: dict[str, Any] | None = Field(default=None, alias="additionalEventData")
    event_id: str | None = Field(default=None, alias="eventID")
    request_id: str | None = Field(default=None, alias="requestID")
    read_only: bool | None = Field(default=None, alias="readOnly")
    resources: list[ResourceItem] | None = None
    event_type: str | None = Field(default=None, alias="eventType")
    recipient_account_id: str | None = Field(default=None, alias="recipientAccountId")
    session_credential_from_console: bool | None = Field(default=None, alias="sessionCredentialFromConsole")

    _dicts = field_validator(
        "request_parameters", "response_elements", "additional_event_data", mode="before"
    )(lambda v: _dict_or_none(v))
    _bools = field_validator("read_only", "session_credential_from_console", mode="before")(
        lambda v: _to_bool(v)
    )

    @field_validator("user_identity", mode="before")
    @classmethod
    def _identity(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @field_validator("resources", mode="before")
    @classmethod
    def _resources(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return None
        return [item for item in value if isinstance(item, dict | str)]

    @field_validator("event_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return None
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return value if isinstance(value, datetime) else None

    # ----- derived views -------------------------------------------------------------------
    @property
    def failed(self) -> bool:
        return bool(self.error_code)

    @property
    def account(self) -> str | None:
        return self.recipient_account_id or self.user_identity.account_id

    def _request(self, name: str) -> Any:
        return (self.request_parameters or {}).get(name)

    def _response(self, name: str) -> Any:
        return (self.response_elements or {}).get(name)

    @property
    def requested_key(self) -> str | None:
        value = self._request("keyId")
        return str(value) if value not in (None, "") else None

    @property
    def pending_window_days(self) -> int | None:
        """The window the caller asked for (``None`` when they relied on the default)."""
        return _to_int(self._request("pendingWindowInDays")) or _to_int(self._response("pendingWindowInDays"))

    @property
    def event_key_state(self) -> str | None:
        value = self._response("keyState")
        return str(value) if value else None

    @property
    def event_deletion_date(self) -> str | None:
        """The deletion date as CloudTrail displays it: a string for people, never parsed."""
        value = self._response("deletionDate")
        return str(value) if value not in (None, "") else None

    @property
    def via_console(self) -> bool:
        if self.session_credential_from_console:
            return True
        agent = (self.user_agent or "").lower()
        return "console.amazonaws.com" in agent or "signin.amazonaws.com" in agent

    def raw_key_reference(self) -> str | None:
        """The first place the event names a key, verbatim, whether or not it parses."""
        candidates = [
            self._response("keyId"),
            *(item.arn for item in self.resources or []),
            self.requested_key,
        ]
        return next((str(value) for value in candidates if value not in (None, "")), None)

    def key_candidates(self) -> list[tuple[str, KeyReference]]:
        """Every place the event names a key, in the order of trust."""
        found: list[tuple[str, KeyReference]] = []
        response_key = self._response("keyId")
        ref = parse_key_reference(str(response_key)) if response_key else None
        if ref:
            found.append(("responseElements.keyId", ref))
        for item in self.resources or []:
            ref = parse_key_reference(item.arn)
            if ref and (item.type in (None, "AWS::KMS::Key") or ref.kind is RefKind.KEY_ARN):
                found.append(("resources", ref))
        ref = parse_key_reference(self.requested_key)
        if ref:
            found.append(("requestParameters.keyId", ref))
        return found

    def resolve_key_arn(self) -> tuple[str | None, str | None, KeyReference | None]:
        """(key ARN or alias ARN, where it came from, the reference) in the documented order.

        ``responseElements.keyId``, then ``resources[]``, then ``requestParameters.keyId``; ids and
        alias names are completed with the event's account and region.
        """
        first: tuple[str | None, str | None, KeyReference | None] = (None, None, None)
        for origin, ref in self.key_candidates():
            if ref.kind is RefKind.UNKNOWN:
                continue
            arn = ref.arn(self.account, self.aws_region)
            if arn and not ref.is_alias:
                return arn, origin, ref
            if first[0] is None and arn:
                first = (arn, origin, ref)
        return first


class EventBridgeEvent(_Lenient):
    """The EventBridge envelope; ``detail`` is kept raw and parsed by kind."""

    version: str | None = None
    id: str | None = None
    detail_type: str = Field(alias="detail-type", min_length=1)
    source: str = Field(min_length=1)
    account: str | None = None
    time: datetime | None = None
    region: str | None = None
    resources: list[Any] | None = None
    detail: dict[str, Any]

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> Any:
        return CloudTrailRecord._time(value)


class KeyDeletionDetail(_Lenient):
    """``detail`` of the native ``KMS CMK Deletion`` event."""

    key_id: str = Field(alias="key-id", min_length=1)


def event_window(record: CloudTrailRecord) -> tuple[int, bool]:
    """The pending window and whether it is the 30-day default."""
    days = record.pending_window_days
    if days is None:
        return DEFAULT_PENDING_WINDOW_DAYS, True
    return days, False
