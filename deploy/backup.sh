#!/usr/bin/env bash
# Back up everything the server keeps: the database (SQLite or PostgreSQL), the media store and the
# instance folder's keys. Usage: deploy/backup.sh DEST_DIR   (restore with deploy/restore.sh)
set -euo pipefail
dest=${1:?usage: backup.sh DEST_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
instance=${INSTANCE_PATH:-$root/instance}
media=${MEDIA_ROOT:-$instance/media}
db_url=${DATABASE_URL:-sqlite:///$instance/app.db}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dest/field-inspection-$stamp"
mkdir -p "$out"

case "$db_url" in
  sqlite:///*)
    # The sqlite3 online backup API copies a consistent snapshot even while the server writes (WAL).
    python3 - "${db_url#sqlite:///}" "$out/database.sqlite3" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2])
with dst:
    src.backup(dst)
dst.close(); src.close()
PY
    ;;
  postgresql*)
    pg_dump --format=custom --no-owner --dbname="${db_url/+psycopg/}" --file="$out/database.pgdump"
    ;;
  *) echo "unsupported DATABASE_URL: $db_url" >&2; exit 2 ;;
esac

# Media is content-addressed and write-once: hard links make repeated backups cheap where possible.
if [ -d "$media" ]; then
  latest=$(ls -1d "$dest"/field-inspection-* 2>/dev/null | grep -v "$stamp" | tail -n 1 || true)
  if [ -n "$latest" ] && [ -d "$latest/media" ]; then
    rsync -a --link-dest="$latest/media" "$media/" "$out/media/" 2>/dev/null || cp -a "$media" "$out/media"
  else
    cp -a "$media" "$out/media"
  fi
fi
for secret in secret_key qr-signing-key.pem audit-key audit-anchor.log; do
  [ -f "$instance/$secret" ] && install -m 600 "$instance/$secret" "$out/$secret"
done
( cd "$out" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS )
echo "$out"
