# Sourced by the CI scripts: starts `mlat serve` on loopback with a fresh
# SQLite database holding the demo world, and stops it on exit.
# Needs MLAT (the binary) and PORT; sets BASE, work (a scratch folder, with
# the demo's printed accounts in $work/accounts.txt) and password().

work="$(mktemp -d)"
server_pid=""
demo_server_cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap demo_server_cleanup EXIT

BASE="http://127.0.0.1:$PORT"
export MLAT_DATA_DIR="$work" MLAT_DATABASE_URL="sqlite://$work/mlat.db" MLAT_BIND="127.0.0.1:$PORT" MLAT_LOG=warn
# Every call comes from loopback here, the fuzzer's thousands of sign-ins
# among them: the per-address sign-in limit (tested in the suite) would turn
# the next role's own sign-in away.
export MLAT_SIGN_IN_BURST=100000 MLAT_SIGN_IN_PER_MINUTE=100000
"$MLAT" demo > "$work/accounts.txt"
"$MLAT" serve > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do
  curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$BASE/readyz" >/dev/null

# The password the demo printed for an address.
password() {
  awk -v e="$1" '$2 == e { print $3 }' "$work/accounts.txt"
}
