"""``tracelock collector --check`` refuses what would be unsafe or broken at start, naming the key:
an admin endpoint off loopback (it serves SQL), and a tokens file that holds no token."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tracelock.collector.config import parse_config
from tracelock.errors import ConfigError

sys.path.insert(0, str(Path(__file__).parent))
from collector_support import run_cli, write_config


def _config(tmp_path: Path, *, admin: str = "", tokens: Path | None = None) -> Path:
    config = write_config(
        tmp_path / "c.yaml", service_extra=f"  admin: {{endpoint: '{admin}'}}\n" if admin else ""
    )
    if tokens is not None:
        text = config.read_text().replace(
            "max_request_body_mib: 1}", f"max_request_body_mib: 1, auth: {{tokens_file: '{tokens}'}}}}"
        )
        config.write_text(text)
    return config


def _problems(config: Path) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_load(config.read_text()))
    return str(info.value)


def test_check_refuses_an_admin_endpoint_off_loopback(tmp_path: Path) -> None:
    out = run_cli(
        tmp_path / "data",
        "collector",
        "--config",
        str(_config(tmp_path, admin="0.0.0.0:0")),
        "--check",
        check=False,
    )
    assert out.returncode != 0, out.stdout
    assert "service::admin::endpoint" in out.stderr and "not a loopback address" in out.stderr, out.stderr


@pytest.mark.parametrize("endpoint", ["[::]:4319", "10.1.2.3:9000", "example.com:80", "127.0.0.1.nip.io:1"])
def test_other_non_loopback_admin_endpoints_are_refused(tmp_path: Path, endpoint: str) -> None:
    problems = _problems(_config(tmp_path, admin=endpoint))
    assert "service::admin::endpoint" in problems and "not a loopback address" in problems


@pytest.mark.parametrize("endpoint", ["127.0.0.1:0", "127.9.9.9:4000", "[::1]:0", "localhost:0"])
def test_loopback_admin_endpoints_pass(tmp_path: Path, endpoint: str) -> None:
    parse_config(yaml.safe_load(_config(tmp_path, admin=endpoint).read_text()))


def test_check_refuses_a_tokens_file_without_a_token(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("")
    out = run_cli(
        tmp_path / "data",
        "collector",
        "--config",
        str(_config(tmp_path, tokens=tokens)),
        "--check",
        check=False,
    )
    assert out.returncode != 0, out.stdout
    assert "receivers::otlp::protocols::http::auth::tokens_file" in out.stderr, out.stderr
    assert "holds no token" in out.stderr, out.stderr


@pytest.mark.parametrize("content", ["\n\n", "# tokens go here\n   \n"])
def test_tokens_files_of_blanks_and_comments_are_refused(tmp_path: Path, content: str) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(content)
    problems = _problems(_config(tmp_path, tokens=tokens))
    assert "receivers::otlp::protocols::http::auth::tokens_file" in problems and "holds no token" in problems
