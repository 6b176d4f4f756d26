"""Fixtures of the integration tests: the emulator on loopback and real ``ansible-playbook`` runs."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence, Union

import pytest
import yaml

from harness import ANSIBLE_BIN, COLLECTIONS_ROOT, Run
from tests.emulator_fixture import StartEmulator, emulators


@pytest.fixture
def emulator_factory() -> Iterator[StartEmulator]:
    """``emulator_factory(world, **kwargs)`` starts an emulator on loopback; all are stopped after the test."""
    yield from emulators()


@pytest.fixture
def playbook(tmp_path):
    """Run a playbook given as YAML text (or a path) with an inventory given as a dict."""

    def run(play: Any, inventory: Union[Dict[str, Any], str, Path, None] = None, *args: str, env: Optional[Dict[str, str]] = None,
            extra_vars: Optional[Dict[str, Any]] = None, wrap: Sequence[str] = ()) -> Run:
        if isinstance(play, Path) or (isinstance(play, str) and "\n" not in play):
            target = str(play)
        else:
            book = tmp_path / ("play%d.yml" % len(list(tmp_path.glob("play*.yml"))))
            book.write_text(textwrap.dedent(play) if isinstance(play, str) else yaml.safe_dump(play))
            target = str(book)
        if isinstance(inventory, (str, Path)):
            inv = Path(inventory)
        else:
            inv = tmp_path / "inventory.yml"
            inv.write_text(yaml.safe_dump(inventory or {"all": {"hosts": {"localhost": {}}}}))
        results_dir = tmp_path / "results"
        results_dir.mkdir(exist_ok=True)
        for old in results_dir.glob("*.json"):
            old.unlink()
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("TELPHIN_", "ANSIBLE_"))}
        environment.update({
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_ROOT),
            "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
            "PATH": str(ANSIBLE_BIN) + os.pathsep + environment.get("PATH", ""),
        })
        environment.update(env or {})
        command = [*wrap, str(ANSIBLE_BIN / "ansible-playbook"), "-i", str(inv), target,     # wrap: strace ...
                   "-e", "results_dir=%s" % results_dir, *args]
        if extra_vars:
            command += ["-e", json.dumps(extra_vars)]
        proc = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, check=False)
        results = {p.stem: json.loads(p.read_text()) for p in results_dir.glob("*.json")}
        return Run(proc.returncode, proc.stdout, proc.stderr, results)

    return run
