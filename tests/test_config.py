"""Configuration: defaults without a file, TOML, `TRACTION_*` overrides, errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from traction.config import ConfigError, load_config


def test_defaults_need_no_file():
    config = load_config(environ={})
    assert config.storage.database == Path("traction-data/traction.duckdb")
    assert config.storage.snapshot == Path("traction-data/snapshot.json")
    assert config.sources.wzrd.enabled is False  # retired upstream: opt in only
    assert config.sources.openrouter.enabled and config.sources.huggingface.enabled


def test_file_then_environment_override(tmp_path):
    path = tmp_path / "traction.toml"
    path.write_text(
        '[sources.huggingface]\nauthors = ["Qwen"]\ntop_n = 10\n'
        '[sources.openrouter]\nbase_url = "http://127.0.0.1:8080/api/v1"\n'
    )
    env = {
        "TRACTION_CONFIG": str(path),
        "TRACTION_SOURCES__HUGGINGFACE__TOP_N": "25",
        "TRACTION_SOURCES__HUGGINGFACE__AUTHORS": '["google", "nvidia"]',
    }
    config = load_config(environ=env)
    assert config.sources.huggingface.top_n == 25
    assert config.sources.huggingface.authors == ["google", "nvidia"]
    assert config.sources.openrouter.base_url == "http://127.0.0.1:8080/api/v1"
    assert config.sources.huggingface.page_size == 100  # untouched keys keep defaults


def test_explicit_path_beats_the_environment_variable(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("[scoring]\nstale_after = 600\n")
    b.write_text("[scoring]\nstale_after = 900\n")
    assert load_config(a, environ={"TRACTION_CONFIG": str(b)}).scoring.stale_after == 600


def test_bad_value_from_file_names_key_value_and_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[sources.huggingface]\npage_size = "lots"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    message = str(err.value)
    assert "sources.huggingface.page_size" in message and "'lots'" in message
    assert str(path) in message


def test_bad_value_from_environment_names_the_variable():
    with pytest.raises(ConfigError) as err:
        load_config(environ={"TRACTION_SOURCES__WZRD__TIMEOUT": "-3"})
    assert "sources.wzrd.timeout" in str(err.value)
    assert "TRACTION_SOURCES__WZRD__TIMEOUT" in str(err.value)


def test_unknown_key_is_an_error_not_a_silent_default(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text("[sources.huggingface]\nauthor = ['Qwen']\n")
    with pytest.raises(ConfigError, match=r"sources\.huggingface\.author\b"):
        load_config(path, environ={})


def test_tokens_cannot_be_put_in_the_file(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text('[sources.huggingface]\ntoken = "hf_x"\n')
    with pytest.raises(ConfigError, match="token") as err:
        load_config(path, environ={})
    assert "hf_x" not in str(err.value)  # the misplaced secret is not echoed back


def test_base_url_must_be_http(tmp_path):
    with pytest.raises(ConfigError, match="base_url"):
        load_config(environ={"TRACTION_SOURCES__OPENROUTER__BASE_URL": "ftp://x"})


def test_missing_and_malformed_files_are_reported(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[sources\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken, environ={})


def test_bad_snapshot_scope_values_name_key_and_value_and_exit_2(tmp_path):
    path = tmp_path / "scope.toml"
    path.write_text("[snapshot]\ntop_n = -5\n")
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert "snapshot.top_n" in str(err.value) and "-5" in str(err.value)
    assert err.value.exit_code == 2
    missing = tmp_path / "no-such-litellm.yaml"
    path.write_text(f'[snapshot]\nmodel_list = "{missing}"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, environ={})
    assert "snapshot.model_list" in str(err.value) and str(missing) in str(err.value)
    assert err.value.exit_code == 2
    not_a_list = tmp_path / "litellm.yaml"
    not_a_list.write_text("general_settings: {}\n")
    with pytest.raises(ConfigError, match="no `model_list` of deployments") as err:
        load_config(environ={"TRACTION_SNAPSHOT__MODEL_LIST": str(not_a_list)})
    assert "snapshot.model_list" in str(err.value) and str(not_a_list) in str(err.value)


def test_snapshot_scope_defaults_and_file_values(tmp_path):
    assert load_config(environ={}).snapshot.top_n == 100
    litellm = tmp_path / "litellm.yaml"
    litellm.write_text("model_list:\n  - model_name: chat\n    litellm_params: {model: x/y}\n")
    path = tmp_path / "scope.toml"
    path.write_text(f'[snapshot]\ntop_n = 20\nmodel_list = "{litellm}"\nmodels = ["a/b"]\n')
    config = load_config(path, environ={})
    assert (config.snapshot.top_n, config.snapshot.model_list) == (20, litellm)
    assert config.snapshot.models == ["a/b"]
