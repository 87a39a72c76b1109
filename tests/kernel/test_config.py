from pathlib import Path

import msgspec
import pytest

from kernel import ConfigError, ConfigFileError, KeelConfig, config_hash, load_config


def test_defaults_mean_embedded_servers() -> None:
    cfg = load_config(env={})
    assert cfg.nats_url == "" and cfg.database_url == "" and cfg.data_dir == ".keel"
    assert cfg.stream.name == "KEEL" and cfg.stream.duplicate_window_s == 120


def test_env_overrides_file(tmp_path: Path) -> None:
    f = tmp_path / "keel.toml"
    f.write_text('nats_url = "nats://file:1"\n[stream]\nreplicas = 3\n')
    cfg = load_config(f, env={"KEEL_NATS_URL": "nats://env:2"})
    assert cfg.nats_url == "nats://env:2" and cfg.stream.replicas == 3


def test_bad_value_names_the_key(tmp_path: Path) -> None:
    f = tmp_path / "keel.toml"
    f.write_text('[stream]\nreplicas = "three"\n')
    with pytest.raises(ConfigError) as info:
        load_config(f, env={})
    assert info.value.key == "stream.replicas"
    assert "Expected `int`" in str(info.value) and str(f) in str(info.value)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    f = tmp_path / "keel.toml"
    f.write_text("[stream]\nreplicaz = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(f, env={})
    assert info.value.key == "stream.replicaz"


def test_storage_must_be_file_or_memory(tmp_path: Path) -> None:
    f = tmp_path / "keel.toml"
    f.write_text('[stream]\nstorage = "disk"\n')
    with pytest.raises(ConfigError, match=r"stream\.storage"):
        load_config(f, env={})


def test_missing_config_file_is_reported() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(env={"KEEL_CONFIG": "/nonexistent/keel.toml"})


def test_missing_config_file_names_who_named_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigFileError) as by_flag:
        load_config(missing, env={})
    assert str(by_flag.value) == f"config file {missing}: does not exist (named by --config)"
    with pytest.raises(ConfigFileError) as by_env:
        load_config(env={"KEEL_CONFIG": str(missing)})
    assert str(by_env.value) == (
        f"config file {missing}: does not exist (named by $KEEL_CONFIG)")


def test_unreadable_config_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = \n")
    with pytest.raises(ConfigFileError) as not_toml:
        load_config(bad, env={})
    assert str(not_toml.value).startswith(f"config file {bad}: not valid TOML: Invalid value")
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b"# caf\xe9\nseed = 1\n")
    with pytest.raises(ConfigFileError, match="is not UTF-8 text"):
        load_config(latin1, env={})
    with pytest.raises(ConfigFileError, match="is a directory"):
        load_config(tmp_path, env={})


def test_config_hash_is_stable_and_sensitive() -> None:
    a, b = KeelConfig(seed=1), KeelConfig(seed=2)
    assert config_hash(a) == config_hash(msgspec.structs.replace(a))
    assert config_hash(a) != config_hash(b)


def test_trace_sample_ratio_defaults_off_and_is_bounded(tmp_path: Path) -> None:
    assert KeelConfig().telemetry.sample_ratio == 0.0
    cfg = tmp_path / "keel.toml"
    cfg.write_text("[telemetry]\nsample_ratio = 0.25\n")
    assert load_config(cfg, env={}).telemetry.sample_ratio == 0.25
    cfg.write_text("[telemetry]\nsample_ratio = 1.5\n")
    with pytest.raises(ConfigError, match=r"telemetry\.sample_ratio"):
        load_config(cfg, env={})


def test_a_bad_env_override_names_the_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={"KEEL_SEED": "abc"})
    assert info.value.key == "seed"
    assert str(info.value) == "config key 'seed': $KEEL_SEED = 'abc' is not an integer"
    assert load_config(env={"KEEL_SEED": "-3"}).seed == -3
