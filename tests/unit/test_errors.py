"""Errors cross Ray, HTTP and the journal: each keeps its message, code and details through pickling."""

from __future__ import annotations

import inspect
import pickle

import pytest

from tether import errors
from tether.errors import ERRORS_BY_STATUS, TaskRunCanceled, TetherError


def _all_subclasses(cls: type[TetherError]) -> list[type[TetherError]]:
    found: list[type[TetherError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


ERROR_CLASSES = [TetherError, *_all_subclasses(TetherError)]
DECLARED = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, TetherError)]


def test_the_error_module_declares_the_documented_tree() -> None:
    assert len(DECLARED) == 16
    assert {cls.__name__ for cls in DECLARED} <= {cls.__name__ for cls in ERROR_CLASSES}


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_an_error_survives_pickling_with_message_code_and_details(cls: type[TetherError]) -> None:
    error = cls("what went wrong", details={"field": "ttl", "errors": [1, 2]})
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cls
    assert (back.message, back.code, back.details) == ("what went wrong", cls.code, {"field": "ttl", "errors": [1, 2]})
    assert str(back) == "what went wrong"


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_an_overridden_code_survives_pickling(cls: type[TetherError]) -> None:
    back = pickle.loads(pickle.dumps(cls("nope", code="custom_code")))
    assert back.code == "custom_code"
    assert cls.code != "custom_code"  # the class default is untouched


def test_codes_are_unique_per_class() -> None:
    codes = [cls.code for cls in ERROR_CLASSES]
    assert len(codes) == len(set(codes)), sorted(codes)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_each_class_declares_its_own_code(cls: type[TetherError]) -> None:
    assert "code" in vars(cls)


def test_every_error_descends_from_tether_error_and_exception() -> None:
    assert all(issubclass(cls, Exception) for cls in ERROR_CLASSES)


def test_cancellation_is_not_an_exception_so_except_exception_cannot_swallow_it() -> None:
    assert issubclass(TaskRunCanceled, BaseException)
    assert not issubclass(TaskRunCanceled, Exception)
    with pytest.raises(TaskRunCanceled):
        try:
            raise TaskRunCanceled("canceled by user")
        except Exception:  # noqa: BLE001 - the point of the test
            pytest.fail("except Exception caught a cancellation")


def test_cancellation_survives_pickling() -> None:
    back = pickle.loads(pickle.dumps(TaskRunCanceled("canceled by user")))
    assert type(back) is TaskRunCanceled
    assert back.args == ("canceled by user",)


@pytest.mark.parametrize(("status", "cls"), sorted(ERRORS_BY_STATUS.items()))
def test_http_statuses_map_to_the_error_with_that_status(status: int, cls: type[TetherError]) -> None:
    assert cls.status_code == status
