#!/usr/bin/env bash
# `ansible-test sanity` on a copy of this checkout laid out as ansible-test needs (hacking/ansible-test.sh).
exec "$(dirname "$0")/ansible-test.sh" sanity "$@"
