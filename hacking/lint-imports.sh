#!/usr/bin/env bash
# Check the import contracts of .importlinter (the layers of plugins/) with import-linter.
# import-linter finds modules by their package path, so it runs on a copy of plugins/ laid out as
# <tmp>/ansible_collections/telphin/pbx/plugins (the path the collection's imports name), with an empty
# __init__.py in plugins/ and each directory under it (Ansible's collection loader needs none; grimp takes a
# directory without one for a namespace package, and wants the parents of its root package to be such ones). The copy holds tracked files plus untracked ones .gitignore does not exclude (as
# hacking/ansible-test-sanity.sh). ansible-core is read from the venv (LINT_VENV, default .venv).
# Usage: hacking/lint-imports.sh [lint-imports options, e.g. --contract module-utils --verbose]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${LINT_VENV:-$root/.venv}
if [ ! -x "$venv/bin/lint-imports" ]; then
  echo "$venv has no lint-imports (pip install -r requirements-test.txt, or make venv)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/ansible_collections/telphin/pbx
mkdir -p "$dest"
cd "$root"
git ls-files -z -co --exclude-standard plugins | while IFS= read -r -d '' f; do
  if [ -e "$f" ] && [[ $f == *.py ]]; then printf '%s\0' "$f"; fi
done | xargs -0r cp --parents -t "$dest"
find "$dest/plugins" -type d -exec touch {}/__init__.py \;
cd "$tmp"
PYTHONPATH=$tmp "$venv/bin/lint-imports" --no-cache --no-logo "$root/.importlinter" "$@"
