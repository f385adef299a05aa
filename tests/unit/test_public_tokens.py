"""Public access tokens: scopes from a readable mapping, expirations, and what a token allows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tether import ValidationError
from tether._wire import utcnow
from tether.errors import AuthenticationError, PermissionDeniedError
from tether.runtime import environments, public_tokens
from tether.runtime.store.database import Store


def test_scopes_are_read_from_a_mapping_of_actions_and_kinds() -> None:
    grants = {"read": {"runs": ["run_1", "run_2"], "tags": "user:42"}, "write": {"tasks": True}}
    assert public_tokens.scopes_of(grants) == ["read:runs:run_1", "read:runs:run_2", "read:tags:user:42", "write:tasks"]


@pytest.mark.parametrize(
    ("grants", "says"),
    [
        ({"delete": {"runs": True}}, "unknown action 'delete'"),
        ({"write": {"runs": ["run_1"]}}, "write cannot name 'runs'"),
        ({"read": {"runs": [1]}}, "read.runs takes an id, a list of ids, or true"),
        ({"read": {"runs": []}}, "needs 1 to 100 scopes, got 0"),
    ],
)
def test_bad_scopes_are_refused_with_what_to_fix(grants: dict, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        public_tokens.scopes_of(grants)


def test_expirations_are_durations_or_moments_in_the_future() -> None:
    now = utcnow()
    assert timedelta(minutes=14) < public_tokens.expires_at(None) - now <= timedelta(minutes=15, seconds=1)
    assert timedelta(hours=1, minutes=59) < public_tokens.expires_at("2h") - now <= timedelta(hours=2, seconds=1)
    with pytest.raises(ValidationError, match="must be in the future"):
        public_tokens.expires_at(now - timedelta(seconds=1))


def test_a_token_is_verified_against_its_environment_and_allows_only_its_scopes(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'tether.db'}")
    store.migrate()
    prod = environments.ensure(store, "prod")
    staging = environments.ensure(store, "staging")
    keys = environments.KeyRing(store)
    token = public_tokens.create(prod, ["read:runs:run_1", "read:tags"], "5m")
    access = public_tokens.verify(keys, token)
    assert access.env.id == prod.id and not access.is_secret_key
    assert access.allows("read", "runs", "run_1") and access.allows("read", "tags", "anything")
    assert not access.allows("read", "runs", "run_2") and not access.allows("write", "tasks", "x")
    with pytest.raises(PermissionDeniedError, match="does not grant read:runs:run_2"):
        access.require("read", "runs", "run_2")
    with pytest.raises(PermissionDeniedError, match="needs the environment's secret key"):
        access.require_secret_key("listing runs")
    # signed with another environment's key but claiming this one: refused
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    with pytest.raises(AuthenticationError, match="bad signature"):
        public_tokens.verify(keys, jwt.encode(claims, staging.secret_key, algorithm="HS256"))
    assert public_tokens.looks_like_one(token) and not public_tokens.looks_like_one(prod.secret_key)
    store.dispose()
