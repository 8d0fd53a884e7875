#!/bin/sh
# Loki's size guard, then Loki: the store container's entrypoint, run by the image's busybox
# sh (grafana/loki is built FROM gcr.io/distroless/static:debug: cmd/loki/Dockerfile).
# Why and how: components/loki/size_guard.py. Arguments: Loki's own command line.
#
# Loki deletes logs by age only. Every round this decides how many whole days of logs Loki
# keeps so that its volume stays within the budget, and hands that to Loki as the tenant's
# retention_period in its runtime configuration file; Loki's compactor deletes what is
# older at its next pass. While everything fits, the file overrides nothing.
set -u

: "${VOS_LOKI_DATA:?}" "${VOS_LOKI_CHUNKS:?}" "${VOS_LOKI_TENANT:?}" "${VOS_LOKI_RUNTIME_FILE:?}"
: "${VOS_LOKI_BUDGET_KIB:?}" "${VOS_LOKI_RETENTION_DAYS:?}" "${VOS_LOKI_GUARD_PERIOD:?}"
SCRATCH=$(dirname "$VOS_LOKI_RUNTIME_FILE")

log() {
  # logfmt on stderr, as Loki writes its own lines; Alloy counts size_guard=capped|over|error.
  echo "level=$1 ts=$(date -u +%Y-%m-%dT%H:%M:%SZ) caller=size-guard $2" >&2
}

failed() {
  log error "size_guard=error msg=\"$1; the retention stays as it was\""
}

whole() {
  case "$2" in
    '' | *[!0-9]* | 0*)
      log error "size_guard=error msg=\"$1 must be a whole number above 0, not '$2'\""
      exit 2
      ;;
  esac
}
whole VOS_LOKI_BUDGET_KIB "$VOS_LOKI_BUDGET_KIB"
whole VOS_LOKI_RETENTION_DAYS "$VOS_LOKI_RETENTION_DAYS"
whole VOS_LOKI_GUARD_PERIOD "$VOS_LOKI_GUARD_PERIOD"

# "<days> <state> <used KiB> <chunks KiB> <other KiB>": the retention in whole days to hand
# Loki now, given the retention in force, from one walk of Loki's volume (one walk, so a
# file the compactor deletes meanwhile is simply not counted, in neither part). A chunk is
# deleted once its newest line is older than the retention (pkg/compactor/retention/
# expiration.go), and that time is in its file's name: base64 of "<from>:<through>:
# <checksum>", hex milliseconds (schema v12 on: pkg/storage/chunk/client/object_client.go
# FSEncoder); the file's mtime (its flush, after its newest line) stands in for a name that
# does not read so, and spares decoding a chunk already past the retention by it. Only the
# tenant's chunks are logs; the rest (index, WAL, compactor) is no retention's to cut.
# Whether the volume is over the budget is judged on what stays once the compactor has
# deleted what is past the retention in force (it keeps such chunks 2 h). States:
#   ok      nothing cut: all fits;
#   capped  fewer days than configured: cut to the longest retention that fits in the
#           target (90 % of the budget) when over the budget; a day given back a round once
#           one more average day fits in the target, so the volume settles in the band
#           between target and budget instead of swinging through it;
#   over    over the budget and no cut brings it under: one day of logs with the rest passes
#           the budget (one day kept), or what is not logs alone passes the target (nothing
#           cut: it would not help).
decide() {
  # shellcheck disable=SC2017 # budget*9 could overflow a shell's 32-bit arithmetic
  find "$VOS_LOKI_DATA" -type f -exec stat -c '%Y %b %B %n' {} + 2>"$SCRATCH/walk.err" |
    awk -v now="$(date +%s)" -v cap="$1" -v days="$VOS_LOKI_RETENTION_DAYS" \
      -v logs="$VOS_LOKI_CHUNKS/$VOS_LOKI_TENANT/" \
      -v budget="$VOS_LOKI_BUDGET_KIB" -v target="$((VOS_LOKI_BUDGET_KIB / 10 * 9))" '
      BEGIN {
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        for (i = 0; i < 64; i++) letter[substr(letters, i + 1, 1)] = i
      }
      # The key'"'"'s <through> in milliseconds, or -1 when the name is no key. Four letters
      # are 24 bits, three bytes; decoded only as far as the second ":" (no ^ or %: a
      # busybox awk may have no math support compiled in).
      function through(name,   i, j, k, c, v, b, field, value, digits) {
        field = 0; value = 0; digits = 0
        for (i = 1; i <= length(name); i += 4) {
          v = 0
          for (j = 0; j < 4; j++) {
            c = substr(name, i + j, 1)
            if (c == "=" || c == "") v = v * 64
            else if (c in letter) v = v * 64 + letter[c]
            else return -1
          }
          b[1] = int(v / 65536); b[2] = int(v / 256) - b[1] * 256; b[3] = v - int(v / 256) * 256
          for (k = 1; k <= 3; k++) {
            if (b[k] == 58) {
              if (++field == 2) return (digits ? value : -1)
            } else if (b[k] >= 48 && b[k] <= 57) {
              if (field == 1) { value = value * 16 + b[k] - 48; digits++ }
            } else if (b[k] >= 97 && b[k] <= 102) {
              if (field == 1) { value = value * 16 + b[k] - 87; digits++ }
            } else return -1
          }
        }
        return -1
      }
      {
        size = $2 * $3 / 1024
        path = substr($0, length($1) + length($2) + length($3) + 4)
        if (index(path, logs) != 1) { other += size; next }
        age = int((now - $1) / 86400)
        if (age < days) {
          name = path; sub(/^.*\//, "", name)
          newest = through(name)
          if (newest >= 0) age = int((now - newest / 1000) / 86400)
        }
        if (age < 0) age = 0
        if (age > days) age = days
        kib[age] += size; chunks += size
      }
      END {
        fit = 0; kept = other
        for (d = 1; d <= days; d++) {
          kept += kib[d - 1]
          if (d == 1) first = kept
          if (kept <= target) fit = d
          if (d == cap) stays = kept
        }
        days_now = cap
        if (stays <= budget) {
          if (cap < days && stays + (stays - other) / cap <= target) days_now = cap + 1
        } else if (other > target) state = "over"
        else if (fit == 0) { days_now = 1; if (first > budget) state = "over" }
        else if (fit < cap) days_now = fit
        if (state == "") state = (days_now < days ? "capped" : "ok")
        printf "%d %s %.0f %.0f %.0f\n", days_now, state, other + chunks, chunks, other
      }'
}

# The runtime configuration for `days` (the configured retention: no override), whole or not
# at all: Loki reads it every period and keeps the last one it could parse.
write_overrides() {
  if [ "$1" -lt "$VOS_LOKI_RETENTION_DAYS" ]; then
    text="overrides:
  \"$VOS_LOKI_TENANT\":
    retention_period: $(($1 * 24))h"
  else
    text="overrides: {}"
  fi
  printf '# Written by Loki'"'"'s size guard every %s s (vos-infra); not for editing.\n%s\n' \
    "$VOS_LOKI_GUARD_PERIOD" "$text" >"$VOS_LOKI_RUNTIME_FILE.new" &&
    mv -f "$VOS_LOKI_RUNTIME_FILE.new" "$VOS_LOKI_RUNTIME_FILE" && return 0
  rm -f "$VOS_LOKI_RUNTIME_FILE.new"
  return 1
}

cap=$VOS_LOKI_RETENTION_DAYS

round() {
  # Its file and the walk's errors go there: made again before the walk if it went, or the
  # walk's errors would have nowhere to go and an empty walk would pass for a whole one.
  if ! mkdir -p "$SCRATCH"; then
    failed "cannot write $SCRATCH"
    return 1
  fi
  if [ ! -d "$VOS_LOKI_DATA" ]; then
    failed "cannot measure $VOS_LOKI_DATA: no such folder"
    return 1
  fi
  decision=$(decide "$cap")
  # A file the compactor removes during the walk is no error; anything else said is.
  if grep -qv 'No such file or directory' "$SCRATCH/walk.err" 2>/dev/null; then
    failed "cannot measure $VOS_LOKI_DATA: $(head -n 1 "$SCRATCH/walk.err" | tr -d '"')"
    return 1
  fi
  # shellcheck disable=SC2086 # five words, split on purpose
  set -- $decision
  if [ "$#" -ne 5 ]; then
    failed "cannot size the chunks"
    return 1
  fi
  if ! write_overrides "$1"; then
    failed "cannot write $VOS_LOKI_RUNTIME_FILE"
    return 1
  fi
  cap=$1
  level=info
  [ "$2" = ok ] || level=warn
  log "$level" "size_guard=$2 used_kib=$3 chunks_kib=$4 other_kib=$5 budget_kib=$VOS_LOKI_BUDGET_KIB retention=$(($1 * 24))h"
}

# Loki will not start without its runtime configuration file (dskit runtimeconfig: "failed
# to load runtime config"): one round first, the configured retention if that round could
# not decide. The file is on the container's own tmpfs, so a full volume cannot stop it.
if ! { round || write_overrides "$VOS_LOKI_RETENTION_DAYS"; }; then
  log error "size_guard=error msg=\"cannot write $VOS_LOKI_RUNTIME_FILE, without which Loki does not start\""
  exit 1
fi
while sleep "$VOS_LOKI_GUARD_PERIOD"; do round; done &
exec "$@"
