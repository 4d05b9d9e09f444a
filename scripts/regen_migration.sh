#!/usr/bin/env bash
# Rebuild storage/migrations/versions/0001_initial_schema.py from the SQLModel tables.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f storage/migrations/versions/0001_*.py
sed "s|^sqlalchemy.url.*|sqlalchemy.url = sqlite+aiosqlite:///$tmp/m.sqlite3|" storage/alembic.ini > "$tmp/alembic.ini"
sed -i "s|%(here)s|$(pwd)/storage|" "$tmp/alembic.ini"
.venv/bin/alembic -c "$tmp/alembic.ini" revision --autogenerate -m "initial schema" --rev-id 0001 >/dev/null
rm -rf "$tmp"
echo "storage/migrations/versions/0001_initial_schema.py regenerated"
