#!/usr/bin/env bash
# Makes sure the Chromium that the browser tests drive (test/support/browser.ts) is installed:
# $CHROMIUM_PATH when set, else Debian's /usr/bin/chromium. When that is missing, installs
# Debian's chromium package as root; otherwise says how to and fails. Run by `npm test`
# (pretest).
set -euo pipefail
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
[ -x "$chromium" ] && exit 0

if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "ensure-chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable Chromium." >&2
  echo "Point CHROMIUM_PATH at one, or unset it to use Debian's /usr/bin/chromium." >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<'MSG'
ensure-chromium: the browser tests need Chromium at /usr/bin/chromium, which is missing.
Install it (Debian/Ubuntu) with:
  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium
or set CHROMIUM_PATH to an installed Chromium or Chrome.
MSG
  exit 1
fi
echo "ensure-chromium: installing chromium…" >&2
apt-get update >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >&2
if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-chromium: apt-get finished but /usr/bin/chromium is still missing." >&2
  exit 1
fi
