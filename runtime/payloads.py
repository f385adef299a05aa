"""Decoding payloads as clients send them: plain JSON (the Python SDK) or typed strings (Trigger.dev's SDKs)."""

from __future__ import annotations

import json
from typing import Any

from tether.errors import ValidationError

SUPERJSON = "application/super+json"


def decode_payload(payload: Any, payload_type: str | None) -> Any:
    """Return the payload as a plain JSON value.

    Trigger.dev's SDKs send the payload as a string and say how it is encoded: superjson
    (`{"json": value, "meta": ...}`), JSON text, or plain text. Dates and other superjson
    extras arrive as their JSON form (ISO strings).
    """
    if payload_type is None or not isinstance(payload, str):
        return payload
    if payload_type == "text/plain":
        return payload
    try:
        decoded = json.loads(payload)
    except ValueError as exc:
        raise ValidationError(f"payload: not valid JSON for payloadType {payload_type!r}: {exc}") from None
    if payload_type == SUPERJSON:
        return decoded.get("json") if isinstance(decoded, dict) else decoded
    if payload_type == "application/json":
        return decoded
    raise ValidationError(f"payloadType {payload_type!r} is not supported; send application/json, {SUPERJSON} or text/plain")
