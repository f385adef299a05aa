"""Project configuration from `[tool.tether]` in pyproject.toml or from tether.toml."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.config import ProjectConfig, find_project_root, load_config
from tether.errors import ConfigurationError
from tether.retry import Retry

PYPROJECT = """\
[project]
name = "acme"

[tool.tether]
project = "acme"
dirs = ["jobs", "more_jobs"]
max_duration = 600
log_level = "DEBUG"

[tool.tether.retries]
enabled_in_dev = false
default = { max_attempts = 5, factor = 1.5, min_timeout = 0.25, max_timeout = 20, randomize = false }

[tool.tether.hooks]
on_failure = "acme_hooks:report"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def importable(tmp_path: Path) -> Iterator[Path]:
    """A folder on sys.path for hook modules; the modules are forgotten afterwards."""
    folder = tmp_path / "importable"
    folder.mkdir()
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in [m for m in sys.modules if m.startswith("tether_test_hooks")]:
        del sys.modules[name]


def test_settings_are_read_from_tool_tether_in_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", PYPROJECT)
    config = load_config(tmp_path)
    assert (config.project, config.dirs, config.max_duration, config.log_level) == ("acme", ["jobs", "more_jobs"], 600, "DEBUG")
    assert config.retries.enabled_in_dev is False
    assert config.hooks.on_failure == "acme_hooks:report"
    assert config.root == tmp_path.resolve()


def test_the_default_retry_policy_is_parsed_into_a_retry(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", PYPROJECT)
    default = load_config(tmp_path).retries.default
    assert default == Retry(max_attempts=5, factor=1.5, min_timeout=0.25, max_timeout=20, randomize=False)


def test_settings_are_read_from_the_top_level_of_tether_toml(tmp_path: Path) -> None:
    write(tmp_path, "tether.toml", 'project = "solo"\ndirs = ["src/tasks"]\n\n[retries]\ndefault = { max_attempts = 2 }\n')
    config = load_config(tmp_path)
    assert (config.project, config.dirs, config.retries.default.max_attempts) == ("solo", ["src/tasks"], 2)


def test_tether_toml_wins_over_pyproject(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", PYPROJECT)
    write(tmp_path, "tether.toml", 'project = "from-tether-toml"\n')
    assert load_config(tmp_path).project == "from-tether-toml"


def test_a_folder_without_config_gets_the_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == ProjectConfig(root=tmp_path.resolve())
    assert (config.dirs, config.retries.default) == (["tasks"], Retry())


def test_a_pyproject_without_a_tether_table_gets_the_defaults(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\n')
    assert load_config(tmp_path).project == "tether-project"


@pytest.mark.parametrize(("name", "text"), [("pyproject.toml", '[tool.tether]\nprojcet = "typo"\n'), ("tether.toml", 'projcet = "typo"\n')])
def test_an_unknown_key_is_refused_naming_the_file_and_the_key(tmp_path: Path, name: str, text: str) -> None:
    write(tmp_path, name, text)
    with pytest.raises(ConfigurationError) as caught:
        load_config(tmp_path)
    assert str(tmp_path.resolve() / name) in caught.value.message
    assert "projcet" in caught.value.message


def test_an_unknown_key_in_a_nested_table_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.tether.hooks]\non_fail = 'a:b'\n")
    with pytest.raises(ConfigurationError, match="on_fail"):
        load_config(tmp_path)


def test_a_misspelled_retry_setting_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.tether.retries]\ndefault = { max_attemps = 5 }\n")
    with pytest.raises(ConfigurationError, match="max_attemps"):
        load_config(tmp_path)


def test_an_invalid_retry_policy_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.tether.retries]\ndefault = { min_timeout = 10, max_timeout = 1 }\n")
    with pytest.raises(ConfigurationError, match="max_timeout must be at least min_timeout"):
        load_config(tmp_path)


@pytest.mark.parametrize("name", ["pyproject.toml", "tether.toml"])
def test_invalid_toml_is_refused_naming_the_file(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, "[tool.tether\nproject = ")
    with pytest.raises(ConfigurationError, match="is not valid TOML") as caught:
        load_config(tmp_path)
    assert str(tmp_path.resolve() / name) in caught.value.message


def test_the_project_root_is_the_nearest_folder_with_config(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", PYPROJECT)
    nested = tmp_path / "src" / "pkg"
    nested.mkdir(parents=True)
    write(tmp_path / "src", "pyproject.toml", '[project]\nname = "not-tether"\n')
    assert find_project_root(nested) == tmp_path.resolve()


def test_a_hook_reference_is_resolved_to_the_function(tmp_path: Path, importable: Path) -> None:
    write(importable, "tether_test_hooks.py", "def report(*args):\n    return 'reported'\n")
    write(tmp_path, "tether.toml", '[hooks]\non_failure = "tether_test_hooks:report"\n')
    hook = load_config(tmp_path).resolve_hook("on_failure")
    assert hook is not None and hook() == "reported"


def test_an_unset_hook_resolves_to_none(tmp_path: Path) -> None:
    assert load_config(tmp_path).resolve_hook("on_start") is None


@pytest.mark.parametrize(
    "ref",
    ["tether_test_hooks_missing:report", "tether_test_hooks:missing", ":report", "tether_test_hooks"],
)
def test_a_hook_that_cannot_be_loaded_is_a_configuration_error(tmp_path: Path, importable: Path, ref: str) -> None:
    write(importable, "tether_test_hooks.py", "def report(*args):\n    pass\n")
    write(tmp_path, "tether.toml", f'[hooks]\non_success = "{ref}"\n')
    with pytest.raises(ConfigurationError, match=rf"^hooks\.on_success = '{ref}' cannot be loaded"):
        load_config(tmp_path).resolve_hook("on_success")
