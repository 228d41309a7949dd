#!/usr/bin/env bash
# Scans a running chat server with testssl (Debian's testssl.sh) as an operator or auditor would,
# and fails on any finding other than those a self-signed certificate causes by itself.
#
#   scripts/tls-scan.sh            # the Release build (built first when missing)
#   SERVER_DLL=path/Chat.Server.dll scripts/tls-scan.sh
#
# It generates a self-signed ECDSA P-256 certificate (SAN localhost and 127.0.0.1, 90 days) with
# openssl, starts the server on a free loopback port with --cert/--key, runs a full default testssl
# scan (protocols, cipher categories, forward secrecy, server defaults, certificate, every
# vulnerability check, each cipher, client simulations) and reads its CSV output. It cannot hang or
# phone out: `timeout` around everything, testssl's --openssl-timeout and --connect-timeout,
# --nodns none, no --phone-out (so no OCSP/CRL fetches), --warnings off (never waits for input).
#
# Findings of severity LOW, MEDIUM, HIGH, CRITICAL or WARN fail the scan, except these ids (a
# self-signed certificate has no CA behind it, so no chain, no revocation service, no CT logs):
#   cert_chain_of_trust        "failed (self signed)": no CA chain to a trusted root
#   cert_revocation            "Neither CRL nor OCSP URI provided": only a CA publishes them
#   cert_crlDistributionPoints, cert_ocspURL, OCSP_stapling, cert_mustStapleExtension,
#   certificate_transparency, DNS_CAArecord
#                              the same absence, reported per item (INFO in testssl 3.0; accepted
#                              at any severity a later testssl gives them)
#   engine_problem             WARN about the scanning machine's openssl (no GOST engine), not the server
# Everything else counts, cert_validityPeriod included (hence the 90-day certificate). The scan must
# also have completed: the ids TLS1_2, cipherlist_AVERAGE (CBC suites), cert_chain_of_trust, LUCKY13
# and RC4 (the last vulnerability check) must be in its output. A scan whose only failures are WARNs
# (checks that could not run, e.g. "check failed because of connect problem" on a loaded machine) is
# run once more: a check that did not run proves nothing either way; a second such scan fails.
# Exit 0 when clean; 1 with the findings table otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

accepted=(cert_chain_of_trust cert_revocation cert_crlDistributionPoints cert_ocspURL OCSP_stapling
  cert_mustStapleExtension certificate_transparency DNS_CAArecord engine_problem)
required=(TLS1_2 cipherlist_AVERAGE cert_chain_of_trust LUCKY13 RC4)

WITH_TLS_SCAN=1 ./scripts/install-deps.sh

dll=${SERVER_DLL:-src/Chat.Server/bin/Release/net10.0/Chat.Server.dll}
if [ ! -f "$dll" ]; then
  echo "building the server ($dll is missing)" >&2
  dotnet build src/Chat.Server -c Release --nologo -v quiet >/dev/null
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth" \
  -keyout "$work/server.key" -out "$work/server.crt" 2>/dev/null

# No CHAT_* variable from the caller's environment: only these flags.
: >"$work/server.log" # before the background start: the loop below may read it first
env $(env | sed -n 's/^\(CHAT_[A-Z_]*\)=.*/-u \1/p') dotnet "$dll" --port 0 --bind 127.0.0.1 \
  --cert "$work/server.crt" --key "$work/server.key" >"$work/server.log" 2>&1 &
server=$!

port=""
for _ in $(seq 300); do
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  echo "error: the server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
version=$(testssl --version 2>/dev/null | sed -n 's/.*testssl *\([0-9][^ ]*\).*/\1/p' | head -n 1)
echo "scanning 127.0.0.1:$port (server pid $server) with testssl ${version:-?}; a few minutes" >&2

# One scan; sets problems, accepted_seen, missing and table. A check that could not run (a WARN such
# as "check failed because of connect problem", on a loaded machine) proves nothing either way.
scan() {
  # testssl refuses to overwrite a CSV of an earlier scan.
  rm -f "$work/scan.csv"
  set +e
  timeout 900 testssl --quiet --color 0 --warnings off --nodns none --openssl-timeout 10 --connect-timeout 10 \
    --csvfile "$work/scan.csv" "127.0.0.1:$port" >"$work/scan.txt" 2>&1
  code=$?
  set -e
  if [ "$code" -eq 124 ]; then
    echo "error: testssl did not finish within 900 s" >&2
    cat "$work/scan.txt" >&2
    exit 1
  fi
  if [ ! -s "$work/scan.csv" ]; then
    echo "error: testssl (exit code $code) wrote no findings:" >&2
    cat "$work/scan.txt" >&2
    exit 1
  fi

  # "id","fqdn/ip","port","severity","finding","cve","cwe": one finding a line after the header.
  table=$(awk -F'","' 'NR > 1 { sub(/^"/, "", $1); printf "%-28s %-9s %s\n", $1, $4, $5 }' "$work/scan.csv")
  is_accepted() {
    local id
    for id in "${accepted[@]}"; do [ "$1" = "$id" ] && return 0; done
    return 1
  }

  problems=() accepted_seen=() missing=()
  while read -r id severity finding; do
    case $severity in
    OK | INFO | DEBUG) ;;
    *)
      if is_accepted "$id"; then
        accepted_seen+=("$(printf '%-28s %-9s %s' "$id" "$severity" "$finding")")
      else
        problems+=("$(printf '%-28s %-9s %s' "$id" "$severity" "$finding")")
      fi
      ;;
    esac
  done <<<"$table"
  for id in "${required[@]}"; do
    awk '{ print $1 }' <<<"$table" | grep -qx "$id" || missing+=("$id")
  done
}

for attempt in 1 2; do
  scan
  inconclusive=1
  for line in ${problems[@]+"${problems[@]}"}; do
    [ "$(awk '{ print $2 }' <<<"$line")" = WARN ] || inconclusive=0
  done
  [ ${#missing[@]} -eq 0 ] || inconclusive=0
  if [ ${#problems[@]} -gt 0 ] && [ "$inconclusive" = 1 ] && [ "$attempt" = 1 ]; then
    printf '%s\n' "${problems[@]}" >&2
    echo "only checks that could not run (WARN) stand out: scanning once more" >&2
    continue
  fi
  break
done

echo "findings of severity LOW or above, or WARN (testssl $work/scan.csv, $(wc -l <<<"$table") findings in all):"
printf '%-28s %-9s %s\n' id severity finding
for line in ${accepted_seen[@]+"${accepted_seen[@]}"}; do echo "$line   [accepted]"; done
for line in ${problems[@]+"${problems[@]}"}; do echo "$line   [FAIL]"; done

if [ ${#problems[@]} -gt 0 ] || [ ${#missing[@]} -gt 0 ]; then
  [ ${#missing[@]} -gt 0 ] && echo "error: the scan is incomplete: no ${missing[*]} in its output" >&2
  echo >&2
  echo "testssl output:" >&2
  cat "$work/scan.txt" >&2
  echo "error: TLS scan failed: ${#problems[@]} finding(s) not accepted, ${#missing[@]} check(s) missing" >&2
  exit 1
fi
echo "TLS scan clean: no finding beyond the ${#accepted_seen[@]} accepted ones (self-signed certificate, scanner's openssl)"
