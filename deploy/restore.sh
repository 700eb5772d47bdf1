#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an empty instance. Stop the server first.
# Usage: deploy/restore.sh BACKUP_DIR
set -euo pipefail
src=${1:?usage: restore.sh BACKUP_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
instance=${INSTANCE_PATH:-$root/instance}
media=${MEDIA_ROOT:-$instance/media}
db_url=${DATABASE_URL:-sqlite:///$instance/app.db}

( cd "$src" && sha256sum --quiet -c SHA256SUMS ) || { echo "backup is damaged: checksums differ" >&2; exit 1; }
mkdir -p "$instance"
case "$db_url" in
  sqlite:///*)
    target=${db_url#sqlite:///}
    [ -e "$target" ] && { echo "refusing to overwrite $target; move it away first" >&2; exit 1; }
    cp "$src/database.sqlite3" "$target"
    ;;
  postgresql*)
    pg_restore --no-owner --exit-on-error --dbname="${db_url/+psycopg/}" "$src/database.pgdump"
    ;;
  *) echo "unsupported DATABASE_URL: $db_url" >&2; exit 2 ;;
esac
[ -d "$src/media" ] && mkdir -p "$media" && cp -a "$src/media/." "$media/"
for secret in secret_key qr-signing-key.pem audit-key audit-anchor.log; do
  [ -f "$src/$secret" ] && install -m 600 "$src/$secret" "$instance/$secret"
done
echo "restored from $src; run 'flask db upgrade' before starting the server"
