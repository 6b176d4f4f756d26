#!/usr/bin/env python
"""Build the collection's docsite (the Ansible docsite layout, by antsibull-docs) offline: ``make docsite``.

antsibull-docs lays out a Sphinx site for the collection as installed from this checkout (module, plugin, role and
filter pages, and the guides of ``docs/docsite/extra-docs.yml``); Sphinx builds it with every warning an error.
The generated pages link into Ansible's own documentation through intersphinx, whose inventory is on the web: this
script writes a local inventory of exactly the targets the pages use (``ANSIBLE_TARGETS``), so those links resolve
to docs.ansible.com without the network, and a page that links a target not listed fails the build (nitpicky mode)
until it is listed here.

Usage: hacking/docsite.py [DEST]   (default build/docsite; the HTML goes to DEST/build/html)
Env: DOCSITE_VENV: the venv with requirements-docs.txt (default .venv-docs of this checkout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/devel/"
# What the generated pages link to in Ansible's docs: (target, Sphinx domain:role, page, link text). Labels point
# at their page, environment variables at Sphinx's anchor for them (where ansible-documentation defines each:
# plugins/action.rst, reference_appendices/common_return_values.rst, the generated reference_appendices/config.rst).
ANSIBLE_TARGETS = [
    ("action_plugins", "std:label", "plugins/action.html", "Action plugins"),
    ("common_return_values", "std:label", "reference_appendices/common_return_values.html", "Return Values"),
    ("ansible_configuration_settings", "std:label", "reference_appendices/config.html",
     "Ansible Configuration Settings"),
    ("ansible_collections.ansible.builtin.set_stats_module", "std:label",
     "collections/ansible/builtin/set_stats_module.html", "ansible.builtin.set_stats module"),
] + [
    (name, "std:envvar", "reference_appendices/config.html#envvar-" + name, "-")
    for name in ("ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION", "ANSIBLE_CACHE_PLUGIN_PREFIX",
                 "ANSIBLE_CACHE_PLUGIN_TIMEOUT")
]


def write_inventory(path: Path) -> None:
    """``ANSIBLE_TARGETS`` as a Sphinx inventory (objects.inv, version 2)."""
    header = "# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n" \
             "# The remainder of this file is compressed using zlib.\n"
    body = "".join("%s %s -1 %s %s\n" % entry for entry in ANSIBLE_TARGETS)
    path.write_bytes(header.encode() + zlib.compress(body.encode()))


def main() -> int:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "docsite").resolve()
    venv = Path(os.environ.get("DOCSITE_VENV", ROOT / ".venv-docs"))
    env = dict(os.environ, PATH="%s%s%s" % (venv / "bin", os.pathsep, os.environ.get("PATH", "")))
    with tempfile.TemporaryDirectory() as tmp:
        collections = Path(tmp) / "ansible_collections" / "telphin"
        collections.mkdir(parents=True)
        (collections / "pbx").symlink_to(ROOT)
        env["ANSIBLE_COLLECTIONS_PATH"] = tmp
        env["ANSIBLE_HOME"] = str(Path(tmp) / "ansible-home")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True, mode=0o700)      # antsibull-docs wants it writable by its owner only
        subprocess.run(["antsibull-docs", "sphinx-init", "--use-current", "--squash-hierarchy", "--fail-on-error",
                        "--no-add-antsibull-docs-version", "--project", "telphin.pbx",
                        "--title", "telphin.pbx: Ansible collection for Telphin-platform cloud PBX",
                        "--html-short-title", "telphin.pbx", "--dest-dir", str(dest), "telphin.pbx"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        write_inventory(dest / "ansible_devel.inv")
        with open(dest / "conf.py", "a", encoding="utf-8") as conf:
            # only the local inventory (a path from the rst folder): no request leaves the machine
            conf.write("\nintersphinx_mapping = {'ansible_devel': (%r, '../ansible_devel.inv')}\n" % ANSIBLE_DOCS)
        return subprocess.run(["./build.sh"], cwd=dest, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
