#!/usr/bin/env bash
# The Debian packages the tests and the load benchmark need (run as root on a clean machine;
# a no-op for what is already there): real syslog clients and relays, and syslog-ng unpacked
# beside rsyslog (they conflict as packages: reference/interop.md).
set -euo pipefail
command -v apt-get >/dev/null 2>&1 || { echo "not Debian: install rsyslog, syslog-ng, logger by hand"; exit 0; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# C/C++ toolchain for libFuzzer (cargo-fuzz) and crates with C parts; real syslog clients
# and relays for the end-to-end tests: rsyslog with RELP and GnuTLS, util-linux's logger;
# systemd for `systemd-analyze verify` of the units; nasm and autotools build ISA-L (the
# `isal` feature: the packaged builds' gzip, decision 82) from the source bundled in isal-sys.
apt-get install -y -qq --no-install-recommends build-essential pkg-config rsyslog util-linux \
  bsdutils procps rsyslog-relp rsyslog-gnutls systemd nasm autoconf automake libtool >/dev/null
# syslog-ng's libraries (and libcurl for its http() destination, used by the load benchmark),
# then the .debs unpacked into /opt/tern-ci/syslog-ng, run from there.
apt-get install -y -qq --no-install-recommends libivykis0 libjson-c5 libnet1 libpcre3 \
  libwrap0 libglib2.0-0 libcap2 libssl3 libcurl4 >/dev/null
if [ ! -x /opt/tern-ci/syslog-ng/usr/sbin/syslog-ng ] \
  || [ ! -e /opt/tern-ci/syslog-ng/usr/lib/syslog-ng/3.38/libhttp.so ]; then
  scratch=$(mktemp -d)
  (cd "$scratch" && chmod 777 . && apt-get download -qq syslog-ng-core syslog-ng-mod-http 2>/dev/null)
  mkdir -p /opt/tern-ci/syslog-ng
  for deb in "$scratch"/*.deb; do dpkg -x "$deb" /opt/tern-ci/syslog-ng; done
  rm -rf "$scratch"
fi
