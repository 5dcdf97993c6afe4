"""The settle time after a send whose outcome is unknown: by default the Wix client timeout, never less."""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxbridge.config import ConfigError, load_settings


def settings_from(tmp_path: Path, toml: str) -> float:
    path = tmp_path / "inboxbridge.toml"
    path.write_text(toml)
    return load_settings(path).settle_seconds


def test_the_settle_time_defaults_to_the_wix_client_timeout(tmp_path: Path) -> None:
    assert settings_from(tmp_path, "[wix]\ntimeout_seconds = 25\n") == 25
    assert settings_from(tmp_path, "[wix]\ntimeout_seconds = 25\n[worker]\nsettle_seconds = 40\n") == 40


def test_a_settle_time_shorter_than_the_client_timeout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"worker.settle_seconds \(5\) must be at least wix.timeout_seconds \(10\)"):
        settings_from(tmp_path, "[worker]\nsettle_seconds = 5\n")
