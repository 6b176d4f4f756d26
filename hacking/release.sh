#!/usr/bin/env bash
# Prepare release VERSION of telphin.pbx on a clean checkout (see docs/releasing.md):
#   1. set `version` in galaxy.yml, the User-Agent's version (plugins/module_utils/_version.py) and the
#      tarball names in execution-environment.yml;
#   2. `antsibull-changelog release`: the fragments become CHANGELOG.md and changelogs/changelog.yaml;
#   3. commit "Release VERSION" and make the annotated tag VERSION (nothing is pushed);
#   4. unless --no-check: build the tarball from the tag into build/ and run the import check on it
#      (hacking/release-check.sh).
# Usage: hacking/release.sh [--no-check] VERSION [RELEASE_DATE]   e.g. hacking/release.sh 1.0.0
set -euo pipefail
check=1
if [ "${1:-}" = --no-check ]; then check=0; shift; fi
version=${1:?usage: $0 [--no-check] VERSION [RELEASE_DATE]}
date=${2:-$(date -u +%Y-%m-%d)}
root=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$root/.venv/bin/antsibull-changelog" ] && PATH=$root/.venv/bin:$PATH
cd "$root"
die() { echo "release: $*" >&2; exit 1; }
[[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$ ]] || die "$version is not MAJOR.MINOR.PATCH"
[ -z "$(git status --porcelain)" ] || die "the work tree is not clean; commit or stash first"
! git rev-parse -q --verify "refs/tags/$version" >/dev/null || die "tag $version exists"
current=$(python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["version"])' galaxy.yml)
python3 - "$current" "$version" <<'PY' || die "$version is not newer than $current"
import sys
old, new = (tuple(int(p) for p in v.split(".")) for v in sys.argv[1:])
sys.exit(0 if new > old else 1)
PY
antsibull-changelog lint

sed -i "s/^version: .*/version: $version/" galaxy.yml
sed -i "s/^COLLECTION_VERSION = .*/COLLECTION_VERSION = \"$version\"/" plugins/module_utils/_version.py
sed -i "s/telphin-pbx-$current\.tar\.gz/telphin-pbx-$version.tar.gz/g; s/telphin-pbx-ee:$current/telphin-pbx-ee:$version/g" \
  execution-environment.yml
# antsibull-changelog reads the plugins' version_added with ansible-doc, from an ansible_collections tree.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/ansible_collections/telphin"
ln -s "$root" "$tree/ansible_collections/telphin/pbx"
(cd "$tree/ansible_collections/telphin/pbx" && antsibull-changelog release --version "$version" --date "$date")
grep -qF "v${version//./\\.}" CHANGELOG.md || die "CHANGELOG.md does not name v$version"  # md escapes dots
antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

git add -A galaxy.yml plugins/module_utils/_version.py execution-environment.yml CHANGELOG.md changelogs
git commit -q -m "Release $version"
git tag -a "$version" -m "telphin.pbx $version"
echo "release: committed and tagged $version ($(git rev-parse --short HEAD))"
if [ "$check" = 1 ]; then
  RELEASE_REF=$version RELEASE_OUTPUT=$root/build "$root/hacking/release-check.sh"
fi
cat <<NEXT
Next (by hand): git push origin main $version
  then publish build/telphin-pbx-$version.tar.gz (ansible-galaxy collection publish ... --api-key ...)
NEXT
