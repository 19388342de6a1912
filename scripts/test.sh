#!/usr/bin/env bash
# Install everything the test suite needs, then run all of it: lint, types, tests.
# The real-QEMU tests need qemu-storage-daemon, qemu-img and qemu-system-x86_64
# (Debian's qemu-system-common, qemu-utils, qemu-system-x86), the browser tests
# Debian's chromium (driven by the Python package playwright, never a browser it
# downloads) and the Liberation fonts the slides are measured for; as root this
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# A program counts as installed when it is on PATH or in /usr/sbin or /sbin, where
# the servers live and where the tool looks too (a user's PATH often lacks them).
have() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; }

missing=()
if ! have qemu-storage-daemon || ! have qemu-img || ! have qemu-system-x86_64; then
  missing+=(qemu-utils qemu-system-common qemu-system-x86)
fi
# The network drivers' servers: the curl and iscsi drivers' modules, a web
# server with byte ranges, an iSCSI target, an SFTP server and an ssh agent.
if [ ! -e /usr/lib/x86_64-linux-gnu/qemu/block-curl.so ] || ! have lighttpd || ! have tgtd \
    || [ ! -x /usr/sbin/sshd ] || ! have ssh-agent; then
  missing+=(qemu-block-extra lighttpd tgt openssh-server openssh-client)
fi
if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ]; then
  missing+=(chromium fonts-liberation)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  else
    echo "note: missing ${missing[*]} and not root: the tests that need them will skip" >&2
  fi
fi

# Debian's python3 refuses pip install outside a virtual environment: outside
# one, make .venv (python3-venv provides it on Debian) and work in it.
if ! python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
  if [ ! -x .venv/bin/python3 ]; then
    if ! python3 -m venv .venv >/dev/null 2>&1; then
      rm -rf .venv
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      fi
      python3 -m venv .venv
    fi
  fi
  . .venv/bin/activate
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test]'
python3 -m ruff check optcompare tests examples scripts
python3 -m mypy
python3 -m pytest -q -p no:cacheprovider "$@"
