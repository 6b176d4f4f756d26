#!/usr/bin/env bash
# The import check that Ansible Galaxy and Automation Hub run on every upload, run here offline.
# Builds the collection tarball from a clean export of a commit (HEAD, or RELEASE_REF, e.g. a tag),
# then runs galaxy-importer on it with its ansible-lint step on and its ansible-test step off
# (`make sanity-all` and `make sanity-2.21` run ansible-test sanity). Fails on any ERROR or WARNING
# the importer logs, on a failed import, and when the tarball's version differs from galaxy.yml.
# Usage: hacking/release-check.sh   Env: RELEASE_REF (default HEAD), RELEASE_OUTPUT (a directory that gets
# a copy of the checked tarball), KEEP=1 keeps the work directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$root/.venv/bin/python" ] && PATH=$root/.venv/bin:$PATH
ref=${RELEASE_REF:-HEAD}
start=$SECONDS
work=$(mktemp -d)
if [ "${KEEP:-}" = 1 ]; then echo "work directory: $work"; else trap 'rm -rf "$work"' EXIT; fi
cd "$root"
if [ "$ref" = HEAD ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "note: uncommitted changes are not checked (the tarball is built from $ref)"
fi
mkdir "$work/src" "$work/dist" "$work/import" "$work/tmp"
git archive --format=tar "$ref" | tar -x -C "$work/src"
version=$(python -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$work/src/galaxy.yml")
ansible-galaxy collection build "$work/src" --output-path "$work/dist"
tarball=$work/dist/telphin-pbx-$version.tar.gz
[ -f "$tarball" ] || { echo "release-check: $tarball was not built" >&2; exit 1; }

cat > "$work/galaxy-importer.cfg" <<CFG
[galaxy-importer]
LOG_LEVEL_MAIN = INFO
RUN_ANSIBLE_DOC = True
RUN_ANSIBLE_LINT = True
OFFLINE_ANSIBLE_LINT = True
RUN_ANSIBLE_TEST = False
ANSIBLE_TEST_LOCAL_IMAGE = False
LOCAL_IMAGE_DOCKER = False
CHECK_CHANGELOG = True
CHECK_REQUIRED_TAGS = True
ANSIBLE_LOCAL_TMP = $work/tmp
TMP_ROOT_DIR = $work/tmp
CFG
# The importer's own environment only: no ANSIBLE_* of the caller, and ansible-lint from the venv.
status=0
(cd "$work/import" && env -u ANSIBLE_CONFIG -u ANSIBLE_COLLECTIONS_PATH -u ANSIBLE_COLLECTIONS_PATHS \
  GALAXY_IMPORTER_CONFIG="$work/galaxy-importer.cfg" HOME="$work/home" \
  python -m galaxy_importer.main "$tarball") > "$work/importer.log" 2>&1 || status=$?
cat "$work/importer.log"
problems=$(grep -E '^(ERROR|WARNING|CRITICAL):|Traceback' "$work/importer.log" || true)
if [ "$status" != 0 ] || [ ! -s "$work/import/importer_result.json" ] || [ -n "$problems" ] \
   || ! grep -q '^Importer processing completed successfully' "$work/importer.log"; then
  echo "release-check: FAILED (galaxy-importer exit $status; problems below)" >&2
  [ -z "$problems" ] || printf '%s\n' "$problems" >&2
  exit 1
fi
python - "$work/import/importer_result.json" "$version" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
assert result["metadata"]["version"] == sys.argv[2], result["metadata"]["version"]
kinds = sorted({c["content_type"] for c in result["contents"]})
print("imported: telphin.pbx %s, requires_ansible %s, %d contents (%s)"
      % (sys.argv[2], result["requires_ansible"], len(result["contents"]), ", ".join(kinds)))
PY
if [ -n "${RELEASE_OUTPUT:-}" ]; then
  mkdir -p "$RELEASE_OUTPUT" && cp "$tarball" "$RELEASE_OUTPUT/" && echo "tarball: $RELEASE_OUTPUT/$(basename "$tarball")"
fi
echo "release-check: OK, $(basename "$tarball") passed galaxy-importer in $((SECONDS - start)) s"
