"""'Another import is running' in the viewer's language, in the app and the CLI; the store's logic unchanged."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from saleslens import cli
from saleslens.core import store
from saleslens.ingest.errors import busy_text
from tests.ingest_cases import TINY_MAPPING, tiny_files, write


def test_busy_text_in_both_languages() -> None:
    """The holder the store names (process, since when) comes through in either language."""
    exc = store.ImportBusy("Another import is running in this data directory (process 4242, since 2026-06-30 "
                           "09:15 UTC).", "Wait until it has finished, then try again.")
    assert busy_text(exc, "en") == str(exc)  # English reads as the store wrote it
    zh = busy_text(exc, "zh")
    assert "4242" in zh and "2026-06-30 09:15" in zh and "另一个导入" in zh
    plain = store.ImportBusy("Another import is running in this data directory.", "Wait, then try again.")
    assert busy_text(plain, "zh") == "此数据目录中正在进行另一个导入。请等它完成后再试。"


def test_cli_says_it_in_the_chosen_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """While another import holds the lock, `import --lang zh` is refused in Chinese and publishes nothing."""
    monkeypatch.setattr(store, "LOCK_WAIT_SECONDS", 0.0)
    data = tmp_path / "data"
    source = write(tmp_path / "src", tiny_files())
    (tmp_path / "tiny.toml").write_text(TINY_MAPPING)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.import_lock(data):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(30)
        code = cli.main(["import", str(source), "--mapping", str(tmp_path / "tiny.toml"), "--data", str(data),
                         "--lang", "zh"])
    finally:
        release.set()
        holder.join()
    assert code == 2
    err = capsys.readouterr().err
    assert "此数据目录中正在进行另一个导入" in err
    assert store.list_snapshots(data) == []
