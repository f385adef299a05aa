"""Decoding payloads as clients send them: plain JSON (the Python SDK) or typed strings (Trigger.dev's SDKs)."""

from __future__ import annotations

import json
from typing import Any

from tether.errors import ValidationError

SUPERJSON = "application/super+json"
_SUPPORTED = ("application/json", SUPERJSON, "text/plain")


def decode_payload(payload: Any, payload_type: str | None) -> Any:
    """Return the payload as a plain JSON value.

    Trigger.dev's SDKs send the payload as a string and say how it is encoded: superjson
    (`{"json": value, "meta": ...}`), JSON text, or plain text. Dates and other superjson
    extras arrive as their JSON form (ISO strings).
    """
    if payload_type is None:
        return payload
    if payload_type not in _SUPPORTED:
        # checked first, so an unsupported type is named as such rather than reported as bad JSON
        raise ValidationError(f"payloadType {payload_type!r} is not supported; send {', '.join(_SUPPORTED)}")
    if not isinstance(payload, str) or payload_type == "text/plain":
        return payload
    try:
        decoded = json.loads(payload)
    except ValueError as exc:
        raise ValidationError(f"payload: not valid JSON for payloadType {payload_type!r}: {exc}") from None
    if payload_type == SUPERJSON:
        return decoded.get("json") if isinstance(decoded, dict) else decoded
    return decoded
