"""The settings file: defaults, documentation, and refusal of bad files before start-up."""

from __future__ import annotations

import dataclasses
import subprocess
import tomllib
from pathlib import Path

import pytest

from hub.settings import (
    Settings,
    SettingsError,
    default_settings_text,
    environment_for,
    load_settings,
    sections,
    service_environment,
    settings_from_environment,
    settings_reference_markdown,
)
from tests.hub.hubprocess import AICLASS


def test_defaults_need_no_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.hub.mode == "local"
    assert settings.hub.port == 8000
    assert settings.locale.default == "zh_CN"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'aiclass.sqlite'}"


def test_every_key_is_documented_in_the_default_file_and_reference() -> None:
    text = default_settings_text()
    reference = settings_reference_markdown()
    uncommented = "\n".join(line[2:] if line.startswith("# ") and " = " in line else line
                            for line in text.splitlines() if not line.startswith("# ")
                            or " = " in line)
    parsed = tomllib.loads(uncommented)
    for name, cls in sections().items():
        for f in dataclasses.fields(cls):
            assert f.metadata["doc"], f"{name}.{f.name} has no documentation"
            assert f"`{name}.{f.name}`" in reference
            assert parsed[name][f.name] == getattr(cls(), f.name)


def test_overrides_are_validated_like_the_file(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {"hub": {"port": 9000}}).hub.port == 9000
    with pytest.raises(SettingsError, match="port"):
        load_settings(tmp_path, {"hub": {"port": 0}})


def test_services_load_the_settings_the_hub_was_started_with(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does a service the hub starts see the hub's data dir and command-line overrides?"""
    started_with = environment_for(load_settings(tmp_path), {"hub": {"port": 9000}})
    for name, value in started_with.items():
        monkeypatch.setenv(name, value)
    hub_settings = settings_from_environment()
    for name, value in service_environment(hub_settings).items():
        monkeypatch.setenv(name, value)
    assert settings_from_environment() == hub_settings
    assert hub_settings.hub.port == 9000


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert isinstance(settings, Settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.hub.port = 1  # type: ignore[misc]


BAD_FILES = {
    "unknown key": ("[hub]\nprot = 8000\n", "[hub] prot"),
    "unknown section": ("[hubb]\nport = 8000\n", "[hubb]"),
    "wrong type": ('[hub]\nport = "8000"\n', "[hub] port"),
    "out of range": ("[hub]\nport = 70000\n", "[hub] port"),
    "not a choice": ('[hub]\nmode = "cloud"\n', "[hub] mode"),
    "kubernetes on SQLite": ('[hub]\nmode = "kubernetes"\n', "[database] url, hub_url"),
    "kubernetes with [tls] files": (
        '[hub]\nmode = "kubernetes"\n[database]\nurl = "postgresql://a@db/s"\n'
        'hub_url = "postgresql://a@db/h"\n[tls]\ncertificate = "/etc/hostname"\n'
        'key = "/etc/hostname"\n', "[tls]"),
    "tls secret without host": ('[kubernetes]\ntls_secret = "x"\n', "[kubernetes]"),
    "gpu resource": ('[gpu]\nresource = "amd.com/gpu"\n', "[gpu] resource"),
    "bad locale": ('[locale]\ndefault = "fr"\n', "[locale] default"),
    "bool as string": ('[demo]\nseed_on_first_run = "yes"\n', "[demo] seed_on_first_run"),
    "section as value": ("hub = 3\n", "[hub]"),
    "toml syntax": ("[hub\nport = 8000\n", "TOML"),
    "bad list item": ("[hub]\nadmin_users = [1]\n", "[hub] admin_users"),
    "bad base url": ('[hub]\nbase_url = "hub"\n', "[hub] base_url"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_settings_file_raises_naming_file_and_key(tmp_path: Path, kind: str) -> None:
    content, expected = BAD_FILES[kind]
    (tmp_path / "aiclass.toml").write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load_settings(tmp_path)
    assert str(tmp_path / "aiclass.toml") in str(raised.value)
    assert expected in str(raised.value)


def _run_up(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([AICLASS, "up", "--data", str(data_dir)], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("kind", ["unknown key", "wrong type", "out of range", "not a choice",
                                  "toml syntax"])
def test_aiclass_up_stops_before_anything_starts(tmp_path: Path, kind: str) -> None:
    content, expected = BAD_FILES[kind]
    (tmp_path / "aiclass.toml").write_text(content, encoding="utf-8")
    result = _run_up(tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr and "aiclass.toml" in result.stderr
    assert not (tmp_path / "jupyterhub.sqlite").exists()
    assert not (tmp_path / "aiclass.sqlite").exists()


def test_unreadable_and_non_utf8_files_are_refused(tmp_path: Path) -> None:
    not_utf8 = tmp_path / "a"
    not_utf8.mkdir()
    (not_utf8 / "aiclass.toml").write_bytes("[hub]\n# 端口\n".encode("gbk"))
    result = _run_up(not_utf8)
    assert result.returncode == 2 and "UTF-8" in result.stderr

    unreadable = tmp_path / "b"
    (unreadable / "aiclass.toml").mkdir(parents=True)
    result = _run_up(unreadable)
    assert result.returncode == 2
    assert "aiclass.toml" in result.stderr and "cannot be read" in result.stderr


def test_readme_settings_reference_is_current() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert settings_reference_markdown() in readme
