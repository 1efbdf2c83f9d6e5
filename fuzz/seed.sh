#!/usr/bin/env bash
# Seeds each fuzz target's corpus from ../shared/corpus (read in place; the seeds are written
# under fuzz/corpus/, which git ignores). Usage: fuzz/seed.sh [CORPUS_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$here/../../shared/corpus}
for target in $(cat "$here/targets"); do
  mkdir -p "$here/corpus/$target"
done
n=0
while IFS= read -r -d '' file; do
  # Whole files are streams for the framing target; single lines seed the message parsers.
  head -c 65536 "$file" > "$here/corpus/framing/f$n"
  i=0
  while IFS= read -r line && [ $i -lt 400 ]; do
    printf '%s' "$line" > "$here/corpus/parse/l${n}_$i"
    case "$file" in
      */cef/*) printf '%s' "${line#*CEF:}" > "$here/corpus/cef/l${n}_$i" ;;
      */leef/*) printf '%s' "${line#*LEEF:}" > "$here/corpus/leef/l${n}_$i" ;;
      */rfc5424/*) printf '%s' "${line#*>}" > "$here/corpus/rfc5424/l${n}_$i" ;;
      *) printf '%s' "${line#*>}" > "$here/corpus/rfc3164/l${n}_$i" ;;
    esac
    [ $((i % 10)) -eq 0 ] && printf '%s' "$line" > "$here/corpus/pri_header/l${n}_$i"
    # Vendor folders seed their vendor's target, the message body alone (after the header).
    folder=$(basename "$(dirname "$file")")
    case "$folder" in
      cisco_ftd) folder=cisco_asa ;;
      sophos_xg) folder=sophos ;;
    esac
    if [ -d "$here/corpus/$folder" ] && [ "$folder" != parse ]; then
      printf '%s' "${line#*>}" > "$here/corpus/$folder/l${n}_$i"
    fi
    case "$line" in
      *CISE_*) printf '%s' "${line#*CISE_* }" > "$here/corpus/cisco_ise/l${n}_$i" ;;
    esac
    i=$((i + 1))
  done < "$file"
  n=$((n + 1))
done < <(find "$src" -type f ! -name '*.md' ! -name '*.json' ! -name '*.jsonl' ! -name '*.csv' -print0)
# RELP has no corpus of its own: a session as rsyslog's omrelp opens it.
printf '1 open 85 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n2 syslog 29 <13>Nov 21 10:00:00 host app: hi\n3 close 0\n' > "$here/corpus/relp/session"
# The daemon's loaders: the shipped DCRs and configurations, and a spool segment's header.
for file in "$here"/../conf/dcr/*.json "$here"/../docker/dcr.d/*.json; do
  [ -f "$file" ] && cp "$file" "$here/corpus/dcr_load/$(basename "$file")"
done
for file in "$here"/../conf/tern.toml "$here"/../docker/tern.toml; do
  [ -f "$file" ] && cp "$file" "$here/corpus/config/$(basename "$(dirname "$file")")-tern.toml"
done
printf 'TERNSPL1TRec' > "$here/corpus/spool_record/header"
# Row shaping: the message lines (after a control byte) and the golden inputs, one per seed.
i=0
for f in "$here"/corpus/parse/*; do
  [ $i -ge 2000 ] && break
  { printf '\003'; cat "$f"; } > "$here/corpus/rows/$(basename "$f")"
  i=$((i + 1))
done
for file in "$here"/../tests/golden/*.log; do
  j=0
  while IFS= read -r line; do
    printf '\000%s' "$line" > "$here/corpus/rows/golden-$(basename "$file")-$j"
    j=$((j + 1))
  done < "$file"
done
# tern migrate: the legacy agent's rsyslog and syslog-ng forms.
printf 'kern.warning @127.0.0.1:25224\nauth.=alert;auth.=crit @127.0.0.1:25224\nlocal4.*;local4.!err action(type="omfwd" target="127.0.0.1" port="25224")\nif $rawmsg contains "CEF:" then @@127.0.0.1:25226\n' > "$here/corpus/migrate/rsyslog"
printf 'destination d_oms { udp("127.0.0.1" port(25224)); };\nfilter f_auth_oms { level(alert,crit) and facility(auth) or not (program("x") and level(debug)); };\nlog { source(src); filter(f_auth_oms); destination(d_oms); };\n' > "$here/corpus/migrate/syslog-ng"
echo "seeded from $n files"
# DCR transformations: real transformKql forms (docs, Sentinel samples) and a row.
mkdir -p "$here/corpus/kql_parse" "$here/corpus/kql_eval"
printf 'source | where ProcessName !contains "CEF" | extend Site_CF = iff(HostName startswith "fw", "edge", "core") | project-away CollectorHostName' > "$here/corpus/kql_parse/filter"
printf 'let noisy = dynamic(["a"]); source | parse kind=regex SyslogMessage with @"user=" User:string " port=" Port:int | where Port between (1 .. 1024) and HostName !in~ (noisy)' > "$here/corpus/kql_parse/parse"
printf 'source | extend d = parse_json(SyslogMessage) | extend X = tostring(d.a[0]), T = format_datetime(TimeGenerated, "yyyy-MM-dd"), H = hash_sha256(HostName)\n{"TimeGenerated":"2026-12-07T10:00:00Z","SyslogMessage":"{\\"a\\":[1]}","HostName":"h"}' > "$here/corpus/kql_eval/json"
printf 'source | where SyslogMessage has "x" | extend N = countof(SyslogMessage, "x"), S = substring(SyslogMessage, -2, 3), B = bin(ProcessID, 10)\n{"TimeGenerated":"2026-12-07T10:00:00Z","SyslogMessage":"x y x","ProcessID":42}' > "$here/corpus/kql_eval/has"
