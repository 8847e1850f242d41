# Sourced by the CI scripts: starts `mlat serve` on loopback with a fresh
# SQLite database holding the demo world, and stops it on exit.
# Needs MLAT (the binary) and PORT; sets BASE, work (a scratch folder, with
# the demo's printed accounts in $work/accounts.txt), password(), factor_key()
# and sign_in().

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

# The second-factor key the demo printed for an address.
factor_key() {
  awk -v e="$1" '$2 == e { print $4 }' "$work/accounts.txt"
}

# Signs an account in, password then a code from its key (oathtool, as in
# docs/api.md), and prints the tokens' JSON. A code is accepted once: a
# second sign-in of one account within the same 30 seconds waits for the
# next code.
sign_in() {
  local email="$1" challenge answer
  for _ in 1 2; do
    challenge=$(curl -fsS -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
      -d "{\"email\":\"$email\",\"password\":\"$(password "$email")\"}" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["challenge"])')
    if answer=$(curl -fsS -X POST "$BASE/api/v1/auth/login/mfa" -H 'Content-Type: application/json' \
        -d "{\"challenge\":\"$challenge\",\"code\":\"$(oathtool --totp -b "$(factor_key "$email")")\"}"); then
      echo "$answer"
      return 0
    fi
    sleep $((31 - $(date +%s) % 30))
  done
  echo "cannot sign in as $email" >&2
  return 1
}
