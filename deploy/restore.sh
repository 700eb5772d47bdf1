#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh. Stop the server first.
# Usage: deploy/restore.sh BACKUP_DIR
#
# SQLite: the database file must not exist yet. PostgreSQL: create the empty database first, owned by the
# app's role (see deploy/README.md, "Restore"):  createdb -O fieldinspection fieldinspection
# Photos go into the configured store (PHOTO_STORE=local: MEDIA_ROOT; s3: the bucket), each verified.
set -euo pipefail
umask 077
src=${1:?usage: restore.sh BACKUP_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
instance=${INSTANCE_PATH:-$root/instance}
db_url=${DATABASE_URL:-sqlite:///$instance/app.db}
qr_key=${QR_SIGNING_KEY_FILE:-$instance/qr-signing-key.pem}
flask=${FLASK:-$root/.venv/bin/flask}

( cd "$src" && sha256sum --quiet -c SHA256SUMS ) || { echo "backup is damaged: checksums differ" >&2; exit 1; }
mkdir -p "$instance"
case "$db_url" in
  sqlite:///*)
    target=${db_url#sqlite:///}
    [ -e "$target" ] && { echo "refusing to overwrite $target; move it away first" >&2; exit 1; }
    install -m 600 "$src/database.sqlite3" "$target"
    ;;
  postgresql*)
    pg_restore --no-owner --exit-on-error --dbname="${db_url/+psycopg/}" "$src/database.pgdump" || {
      echo "pg_restore failed: does the database exist and is it empty? (createdb -O <role> <name>)" >&2; exit 1; }
    ;;
  *) echo "unsupported DATABASE_URL: $db_url" >&2; exit 2 ;;
esac
for secret in secret_key audit-key audit-anchor.log; do
  [ -f "$src/$secret" ] && install -m 600 "$src/$secret" "$instance/$secret"
done
[ -f "$src/qr-signing-key.pem" ] && install -m 600 "$src/qr-signing-key.pem" "$qr_key"
if [ -d "$src/media/blobs" ]; then
  ( cd "$root" && FLASK_APP=${FLASK_APP:-server:create_app} PYTHONPATH=${PYTHONPATH:-$root} \
      "$flask" photo-store import "$src/media/blobs" )
fi
[ -f "$src/field-inspection.env" ] && echo "the backup's environment file is $src/field-inspection.env (not installed: compare it with yours)"
echo "restored from $src; run 'flask db upgrade' before starting the server"
