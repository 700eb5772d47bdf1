#!/usr/bin/env bash
# Back up everything the server keeps: the database (SQLite or PostgreSQL), every recorded photo (from the local
# folder or the S3 bucket), the secret key, the QR signing key and the environment file.
# Usage: deploy/backup.sh DEST_DIR        (restore with deploy/restore.sh; see deploy/README.md)
#
# Everything is written readable by the owner only (mode 0600 files, 0700 folders): the dump holds password
# hashes, the keys sign sessions and QR codes. KEEP_BACKUPS (default 14) backups are kept in DEST_DIR, the
# oldest removed beyond that. ENV_FILE (default /etc/field-inspection.env) is copied when readable.
set -euo pipefail
umask 077
dest=${1:?usage: backup.sh DEST_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
instance=${INSTANCE_PATH:-$root/instance}
media=${MEDIA_ROOT:-$instance/media}
db_url=${DATABASE_URL:-sqlite:///$instance/app.db}
qr_key=${QR_SIGNING_KEY_FILE:-$instance/qr-signing-key.pem}
env_file=${ENV_FILE:-/etc/field-inspection.env}
keep=${KEEP_BACKUPS:-14}
flask=${FLASK:-$root/.venv/bin/flask}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dest/field-inspection-$stamp"
mkdir -p "$dest"
chmod 700 "$dest"
latest=$(ls -1d "$dest"/field-inspection-* 2>/dev/null | tail -n 1 || true)
mkdir "$out"

# 1. The database first: every photo recorded in this snapshot is already in the store, so copying the
#    photos afterwards gives each of its photo rows its file (photos are write-once and never deleted).
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

# 2. Every photo the database records, hash-checked, from whichever store is configured (PHOTO_STORE=local or
#    s3); files the previous backup holds are hard-linked, so daily backups cost only the new photos.
link=()
[ -n "$latest" ] && [ -d "$latest/media/blobs" ] && link=(--link-dest "$latest/media/blobs")
if ! ( cd "$root" && FLASK_APP=${FLASK_APP:-server:create_app} PYTHONPATH=${PYTHONPATH:-$root} \
        "$flask" photo-store export "$out/media/blobs" "${link[@]}" ) >"$out/photos.txt"; then
  cat "$out/photos.txt" >&2
  echo "backup incomplete: some recorded photos could not be copied (see above); $out kept for inspection" >&2
  exit 1
fi

# 3. Keys and configuration (mode 0600).
# The audit chain's key and anchor live outside the database on purpose: without them a keyed chain cannot be
# verified, and a truncated log cannot be told from a whole one.
for secret in secret_key audit-key audit-anchor.log; do
  [ -f "$instance/$secret" ] && install -m 600 "$instance/$secret" "$out/$secret"
done
[ -f "$qr_key" ] && install -m 600 "$qr_key" "$out/qr-signing-key.pem"
if [ -r "$env_file" ]; then
  install -m 600 "$env_file" "$out/field-inspection.env"
else
  echo "warning: $env_file not readable: the environment file is not in this backup" >&2
fi

( cd "$out" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum > SHA256SUMS )
chmod 600 "$out/SHA256SUMS"

# 4. Retention: keep the newest $keep backups.
ls -1d "$dest"/field-inspection-* | head -n "-$keep" | while read -r old; do rm -rf -- "$old"; done
echo "$out"
