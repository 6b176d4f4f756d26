#!/usr/bin/env bash
# Run `ansible-test sanity` or `ansible-test units` on a copy of this checkout laid out as
# <tmp>/ansible_collections/telphin/pbx, the path ansible-test needs (a checkout already there can run
# ansible-test itself: CONTRIBUTING.md).
# The copy holds tracked files plus untracked files that .gitignore does not exclude,
# so new work is checked before `git add`.
# Usage: hacking/ansible-test.sh sanity|units [more `ansible-test` options, e.g. --test pylint]
# Env: SANITY_PYTHON (default 3.11): the --python version of the tests;
#      "all": every Python found (sanity: compile/import of plugins then run on each supported one).
#      SANITY_VENV (default: .venv of this checkout): the venv whose ansible-test runs (e.g. .venv-2.21).
set -euo pipefail
command=${1:?usage: hacking/ansible-test.sh sanity|units [ansible-test options]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SANITY_VENV:-$root/.venv}
if [ -x "$venv/bin/ansible-test" ]; then
  PATH=$venv/bin:$PATH
elif [ -n "${SANITY_VENV:-}" ]; then
  echo "SANITY_VENV=$SANITY_VENV has no ansible-test (run make venv)" >&2
  exit 1
fi
# ansible-test cannot download its pip bootstrap here; `make venv` wrote stand-ins, but ~/.ansible may be new
"$root/hacking/ansible-test-offline-bootstrap" "$(dirname "$(command -v ansible-test)")/python" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/ansible_collections/telphin/pbx
mkdir -p "$dest"
cd "$root"
git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
  if [ -e "$f" ]; then printf '%s\0' "$f"; fi  # skip tracked files deleted in the work tree
done | xargs -0r cp -P --parents -t "$dest"
cd "$dest"
git init -q  # ansible-test then lists the files with git, honouring .gitignore
if [ "${SANITY_PYTHON:-3.11}" = all ]; then
  # ansible-test drops PYENV_VERSION, so pyenv's shims fail: put the real interpreters on PATH
  if command -v pyenv >/dev/null; then
    mkdir "$tmp/bin"
    ln -sf "$(pyenv root)"/versions/*/bin/python3.[0-9] "$(pyenv root)"/versions/*/bin/python3.[0-9][0-9] "$tmp/bin/"
    PATH=$tmp/bin:$PATH
  fi
else
  set -- --python "${SANITY_PYTHON:-3.11}" "$@"
fi
# units: in a venv of ansible-test's own, with tests/unit/requirements.txt (no container here)
if [ "$command" = units ]; then set -- --venv "$@"; fi
ansible-test "$command" --requirements --color no "$@"
