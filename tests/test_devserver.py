from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from geo.app.devserver import ServerStartError, running_app

pytestmark = pytest.mark.slow  # starts a Streamlit server


def test_a_running_app_answers_under_its_base_path_and_is_stopped_after(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import streamlit as st\nst.write('hello')\n", encoding="utf-8")
    with running_app(tmp_path / "app.py", cwd=tmp_path, base_path="here") as app:
        assert app.url.endswith("/here/")
        with urllib.request.urlopen(app.url + "_stcore/health", timeout=5) as response:
            assert response.status == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(app.url + "_stcore/health", timeout=2)


def test_a_server_that_cannot_start_says_why(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("", encoding="utf-8")
    with (
        pytest.raises(ServerStartError, match="no-such-option"),
        running_app(tmp_path / "app.py", cwd=tmp_path, options=["--server.no-such-option", "1"], timeout=30),
    ):
        pass
