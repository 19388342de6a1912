#!/usr/bin/env bash
# Install everything the test suite needs, then run all of it: lint, types, tests.
# The real-QEMU tests need qemu-storage-daemon, qemu-img and qemu-system-x86_64
# (Debian's qemu-system-common, qemu-utils, qemu-system-x86); as root this
# installs them when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-storage-daemon >/dev/null 2>&1 || ! command -v qemu-img >/dev/null 2>&1 \
    || ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      qemu-utils qemu-system-common qemu-system-x86 >/dev/null
  else
    echo "note: QEMU (qemu-utils, qemu-system-common, qemu-system-x86) missing and not root:" \
      "real-QEMU tests will skip" >&2
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
python3 -m ruff check optcompare tests examples scripts
python3 -m mypy
python3 -m pytest -q -p no:cacheprovider "$@"
