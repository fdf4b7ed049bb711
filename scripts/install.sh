#!/usr/bin/env bash
# Installs lvs-pulse from this checkout: binaries, the systemd unit and /etc/lvs-pulse/.
# Usage: scripts/install.sh [--prefix /usr] [--destdir DIR]   (run `npm ci && npm run build` first)
# An existing /etc/lvs-pulse/lvs-pulse.yaml is never overwritten. Piranha's /etc/sysconfig/ha/lvs.cf can be
# used as is: set ExecStart's --config to it (systemctl edit lvs-pulse).
set -euo pipefail
prefix=/usr
destdir=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --destdir) destdir=$2; shift 2 ;;
    *) echo "usage: $0 [--prefix DIR] [--destdir DIR]" >&2; exit 2 ;;
  esac
done
src=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$src/dist/cli/pulse.js" ] || { echo "build first: npm ci && npm run build" >&2; exit 1; }
lib="$destdir$prefix/lib/lvs-pulse"
install -d "$lib" "$destdir$prefix/bin" "$destdir/etc/lvs-pulse" "$destdir/lib/systemd/system" "$destdir$prefix/share/doc/lvs-pulse"
cp -a "$src/dist" "$src/package.json" "$src/package-lock.json" "$lib/"
(cd "$lib" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts=false >/dev/null)
for b in pulse pulsectl pulse-web; do
  printf '#!/bin/sh\nexec node %s/dist/cli/%s.js "$@"\n' "$prefix/lib/lvs-pulse" "$b" > "$destdir$prefix/bin/$b"
  chmod 0755 "$destdir$prefix/bin/$b"
done
for u in lvs-pulse.service lvs-pulse-web.service; do
  sed "s#/usr/bin/#$prefix/bin/#g" "$src/systemd/$u" > "$destdir/lib/systemd/system/$u"
done
[ -e "$destdir/etc/lvs-pulse/lvs-pulse.yaml" ] || install -m 0600 "$src/etc/lvs.yaml" "$destdir/etc/lvs-pulse/lvs-pulse.yaml"
cp "$src/etc/"* "$destdir$prefix/share/doc/lvs-pulse/" 2>/dev/null || true
cp "$src/README.md" "$destdir$prefix/share/doc/lvs-pulse/"
# The console runs as its own user and edits its file in /etc/lvs-pulse (sticky, group lvs-pulse: it cannot
# replace root's files there, such as heartbeat.key); the daemon honours program-naming keys only from a file
# only root can write (docs/security.md).
if [ -z "$destdir" ]; then
  getent passwd lvs-pulse >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin lvs-pulse
  chown root:lvs-pulse "$destdir/etc/lvs-pulse"
  chmod 1770 "$destdir/etc/lvs-pulse"
else
  chmod 0700 "$destdir/etc/lvs-pulse"
fi
echo "installed. Next: pulsectl keygen /etc/lvs-pulse/heartbeat.key (copy it to the peer), edit /etc/lvs-pulse/lvs-pulse.yaml,"
echo "pulse --check-config --config /etc/lvs-pulse/lvs-pulse.yaml, then systemctl daemon-reload && systemctl enable --now lvs-pulse"
