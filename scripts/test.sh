#!/usr/bin/env bash
# ruff and mypy, then the whole suite on SQLite and, at the same time, its database tests on PostgreSQL.
# Under CI (CI=true) a missing PostgreSQL fails the run; elsewhere it is reported and skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PG_TEST_URL="${PG_TEST_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}"

# The sandbox's browser test drives Debian's Chromium; install it (and an emoji font for the
# screenshots) when it is missing. Under CI a failed install fails the run; elsewhere the browser
# test reports it is skipped.
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  echo "== installing Debian's chromium and chromium-driver for the browser test"
  SUDO=""; [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null && SUDO="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq chromium chromium-driver \
         fonts-noto-color-emoji >/dev/null 2>&1; } \
    || { echo "could not install chromium (needs root or sudo)"; [[ "${CI:-}" != "true" ]] || exit 1; }
fi

# The two-instance test (tests/e2e/test_two_instances.py) puts Debian's haproxy in front of two bots.
if ! command -v haproxy >/dev/null && [[ ! -x /usr/sbin/haproxy ]]; then
  echo "== installing Debian's haproxy for the two-instance test"
  SUDO=""; [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null && SUDO="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq haproxy >/dev/null 2>&1 \
    || { $SUDO apt-get update -qq >/dev/null 2>&1 && $SUDO apt-get install -y -qq haproxy >/dev/null 2>&1; } \
    || { echo "could not install haproxy (needs root or sudo)"; [[ "${CI:-}" != "true" ]] || exit 1; }
fi

# Linter and type checker (configuration in pyproject.toml). Their verdict is kept and decides the
# exit status at the end, so the suite still runs and its closing lines stay visible.
checks=0
echo "== ruff check"
"$BIN/ruff" check . || checks=1
echo "== mypy"
"$BIN/mypy" || checks=1

# PostgreSQL reachable? (under CI it must be: the PostgreSQL pass then fails loudly without it)
pg=1
if [[ "${CI:-}" != "true" ]] && ! "$BIN/python" - "$PG_TEST_URL" <<'PY' 2>/dev/null
import asyncio, sys
import asyncpg
from sqlalchemy.engine import make_url
u = make_url(sys.argv[1])
async def ping():
    c = await asyncpg.connect(user=u.username, host=u.host, port=u.port, database=u.database, timeout=3)
    await c.close()
asyncio.run(ping())
PY
then
  pg=0
fi

# The two passes run at the same time (one per core). The PostgreSQL pass runs only the tests that
# touch the test database (tests/conftest.py marks the others `backend_free`; they ran on SQLite).
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
env -u TEST_DATABASE_URL "$BIN/pytest" -q "$@" >"$logs/sqlite" 2>&1 &
sqlite_pid=$!
if [[ $pg == 1 ]]; then
  TEST_DATABASE_URL="$PG_TEST_URL" "$BIN/pytest" -q -m "not backend_free" "$@" >"$logs/pg" 2>&1 &
  pg_pid=$!
fi
sqlite_rc=0; wait "$sqlite_pid" || sqlite_rc=$?
echo "== suite on SQLite"
cat "$logs/sqlite"
pg_rc=0
if [[ $pg == 1 ]]; then
  wait "$pg_pid" || pg_rc=$?
  echo "== suite on PostgreSQL ($PG_TEST_URL), tests that touch the database"
  cat "$logs/pg"
else
  echo "== PostgreSQL at $PG_TEST_URL is not reachable: PostgreSQL pass skipped here (CI runs it and fails without it)"
fi
# The tree is clean under ruff and mypy: any finding fails the run (after the suite, so its closing
# lines are still printed).
if [[ $checks != 0 ]]; then
  echo "== ruff/mypy reported findings (see above): failing the run"
fi
(( sqlite_rc == 0 && pg_rc == 0 && checks == 0 ))
