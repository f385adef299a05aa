"""Every error Tether raises descends from `TetherError` and carries a stable `code`.

Errors cross process boundaries (Ray, HTTP, the database), so each one pickles
with its message and code intact.

    TetherError
    ├── ConfigurationError         bad config or options, caught before anything is written
    ├── ValidationError            a payload or option was refused (HTTP 422)
    ├── PayloadTooLargeError       payload over the size limit (HTTP 413)
    ├── AuthenticationError        missing or wrong secret key (HTTP 401)
    ├── PermissionDeniedError      the key may not see this (HTTP 403)
    ├── NotFoundError              unknown task, run or queue (HTTP 404)
    ├── ConflictError              the run is not in a state that allows this (HTTP 409)
    ├── ApiError                   any other HTTP error from the gateway
    ├── ConnectionError            the gateway could not be reached
    ├── StoreError                 the database failed
    ├── RunFailedError             `handle.wait()` on a run that did not complete
    │   └── MapError               runs of a `pipelines.map` did not complete (in `tether.pipelines`)
    ├── WaitTimeoutError           `handle.wait(timeout=...)` gave up
    ├── OutputNotSerializableError the task (or a step) returned something that is not JSON
    ├── NonDeterminismError        a re-executed run made other durable calls than its journal has
    └── AbortTaskRunError          raised by task code: fail now, do not retry
    TaskRunCanceled (BaseException) delivered inside a run being canceled
"""

from __future__ import annotations

from typing import Any


class TetherError(Exception):
    code = "tether_error"
    status_code = 500

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.code, self.details))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[TetherError], message: str, code: str, details: Any) -> TetherError:
    return cls(message, code=code, details=details)


class ConfigurationError(TetherError):
    code = "configuration_error"
    status_code = 422


class ValidationError(TetherError):
    code = "validation_error"
    status_code = 422


class PayloadTooLargeError(TetherError):
    code = "payload_too_large"
    status_code = 413


class AuthenticationError(TetherError):
    code = "unauthorized"
    status_code = 401


class PermissionDeniedError(TetherError):
    code = "forbidden"
    status_code = 403


class NotFoundError(TetherError):
    code = "not_found"
    status_code = 404


class ConflictError(TetherError):
    code = "conflict"
    status_code = 409


class ApiError(TetherError):
    code = "api_error"


class ConnectionError(TetherError):  # noqa: A001 - deliberately mirrors the builtin's meaning
    code = "connection_error"
    status_code = 503


class StoreError(TetherError):
    code = "store_error"


class RunFailedError(TetherError):
    code = "run_failed"


class WaitTimeoutError(TetherError):
    code = "wait_timeout"
    status_code = 408


class OutputNotSerializableError(TetherError):
    code = "output_not_serializable"


class AbortTaskRunError(TetherError):
    """Raise inside a task to fail the run at once, without further attempts."""

    code = "aborted"


class NonDeterminismError(TetherError):
    """A re-executed run made a different durable call than the journal recorded at that slot.

    The run fails at once (retrying cannot help): code outside `step.run` must make the same
    durable calls, with the same names, in the same order every time it runs.
    """

    code = "non_determinism"


class TaskRunCanceled(BaseException):
    """Delivered into a run that is being canceled; a BaseException so `except Exception` cannot swallow it."""


ERRORS_BY_STATUS: dict[int, type[TetherError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: WaitTimeoutError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
}
