"""Payloads and outputs: validated against the task's pydantic type, and always plain JSON on the wire."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from tether.errors import OutputNotSerializableError, PayloadTooLargeError, ValidationError

MAX_PAYLOAD_BYTES = 3 * 1024 * 1024

# pydantic's JSON mode turns NaN and infinities into null; keep them so json.dumps can refuse them
_OUTPUT = TypeAdapter(Any, config=ConfigDict(ser_json_inf_nan="constants"))
_ANY = TypeAdapter(Any)


@lru_cache(maxsize=1024)
def _cached_adapter(payload_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(payload_type)


def _adapter(payload_type: Any) -> TypeAdapter[Any]:
    # Building an adapter compiles a validator: far dearer than validating, so do it once per type.
    try:
        return _cached_adapter(payload_type)
    except TypeError:  # an unhashable annotation
        return TypeAdapter(payload_type)


def to_json_value(value: Any) -> Any:
    """A payload or output as a JSON value: pydantic models are dumped, everything else must already be JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return _ANY.dump_python(value, mode="json")


def check_payload_size(value: Any) -> None:
    """Refuse a payload over the limit, measured as compact JSON (the SDK and the gateway count alike)."""
    size = len(json.dumps(value, separators=(",", ":")))
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLargeError(f"payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}. Pass ids, not whole objects")


def encode_output(value: Any) -> str:
    """The JSON text of a run's return value, or OutputNotSerializableError saying what was returned."""
    try:
        return json.dumps(_OUTPUT.dump_python(value, mode="json"), allow_nan=False)
    except Exception as exc:  # TypeError, ValueError (NaN) or pydantic's own serialization errors
        raise OutputNotSerializableError(
            f"the task returned a value of type {type(value).__name__} that is not JSON-serializable ({exc}); "
            f"return a dict, list, str, finite number, bool, None or a pydantic model"
        ) from exc


def validate_payload(payload_type: Any, payload: Any) -> Any:
    """Check a JSON payload against the task's declared type; raise ValidationError listing the field errors."""
    if payload_type is None:
        return payload
    try:
        _adapter(payload_type).validate_python(payload)
    except PydanticValidationError as exc:
        errors = [
            {"loc": list(err["loc"]), "msg": err["msg"], "type": err["type"]}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in errors)
        raise ValidationError(f"payload does not match {getattr(payload_type, '__name__', payload_type)}: {summary}", details=errors) from None
    return payload


def parse_payload(payload_type: Any, payload: Any) -> Any:
    if payload_type is None:
        return payload
    return _adapter(payload_type).validate_python(payload)
