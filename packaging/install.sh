#!/usr/bin/env bash
# Installs Tern on a plain Linux VM with systemd: the binary, the `tern` user, the folders,
# the units (tern.service, tern.socket), an example config (never overwriting one), and
# optionally the firewall ports. Run from the repository after
# `cargo build --release --features isal` (ISA-L gzip: needs nasm, autoconf, automake, libtool;
# plain `cargo build --release` works too, with zlib-rs gzip at about 25 % more CPU per event):
#
#   sudo packaging/install.sh [--binary target/release/tern] [--enable] [--open-firewall]
#
#   --binary FILE     the tern binary to install (default: target/release/tern)
#   --enable          enable and start tern.socket and tern.service
#   --open-firewall   open 514/udp, 514/tcp and 6514/tcp in ufw or firewalld, if active
#   --destdir DIR     install under DIR instead of / (packaging, tests); implies no systemctl
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
binary="$here/target/release/tern"
enable=no
firewall=no
destdir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --enable) enable=yes; shift ;;
    --open-firewall) firewall=yes; shift ;;
    --destdir) destdir="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

[ -x "$binary" ] || { echo "install.sh: $binary not found: run cargo build --release --features isal first, or give --binary" >&2; exit 2; }
if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo), or with --destdir" >&2; exit 2
fi

say() { echo "install.sh: $*"; }
d="$destdir"

install -D -m 0755 "$binary" "$d/usr/local/bin/tern"
install -D -m 0644 "$here/systemd/tern.service" "$d/etc/systemd/system/tern.service"
install -D -m 0644 "$here/systemd/tern.socket" "$d/etc/systemd/system/tern.socket"
install -D -m 0644 "$here/systemd/tern.sysusers" "$d/usr/lib/sysusers.d/tern.conf"
install -D -m 0644 "$here/systemd/tern.tmpfiles" "$d/usr/lib/tmpfiles.d/tern.conf"
install -D -m 0644 "$here/README.md" "$d/usr/share/doc/tern/README.md"
for recipe in "$here"/conf/relays/*.conf; do
  install -D -m 0644 "$recipe" "$d/usr/share/doc/tern/relays/$(basename "$recipe")"
done

# The user and folders: systemd's own tools read the snippets just installed.
systemd-sysusers --root="${d:-/}" "$d/usr/lib/sysusers.d/tern.conf"
systemd-tmpfiles --root="${d:-/}" --create "$d/usr/lib/tmpfiles.d/tern.conf"

if [ -e "$d/etc/tern/tern.toml" ]; then
  say "keeping the existing /etc/tern/tern.toml"
else
  install -m 0640 "$here/conf/tern.toml" "$d/etc/tern/tern.toml"
  chgrp --reference="$d/etc/tern" "$d/etc/tern/tern.toml"
  say "installed /etc/tern/tern.toml (edit it; put DCRs in /etc/tern/dcr.d)"
fi

if [ "$firewall" = yes ] && [ -z "$d" ]; then
  if command -v ufw >/dev/null && ufw status | grep -q "Status: active"; then
    ufw allow 514/udp && ufw allow 514/tcp && ufw allow 6514/tcp
  elif command -v firewall-cmd >/dev/null && firewall-cmd --state >/dev/null 2>&1; then
    firewall-cmd --permanent --add-port=514/udp --add-port=514/tcp --add-port=6514/tcp
    firewall-cmd --reload
  else
    say "no active ufw or firewalld: open 514/udp, 514/tcp and 6514/tcp in your firewall"
  fi
fi

if [ -z "$d" ]; then
  systemctl daemon-reload
  if ss -Hlnup 'sport = :514' 2>/dev/null | grep -qv tern; then
    say "something else listens on 514 (rsyslog's imudp/imtcp?): tern.socket cannot bind it until that stops"
  fi
  if [ "$enable" = yes ]; then
    systemctl enable --now tern.socket tern.service
  fi
fi

cat <<NEXT
install.sh: done. Next:
  tern check  --config /etc/tern/tern.toml   # the config, the DCRs and the routing
  tern doctor --config /etc/tern/tern.toml   # listeners, certificates, credentials, endpoints
  systemctl enable --now tern.socket tern.service   # (or --enable)
  tern send-test --to 127.0.0.1:514 --config /etc/tern/tern.toml
NEXT
