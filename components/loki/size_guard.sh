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

# "<days> <state> <chunks KiB> <other KiB>": the retention in whole days to hand Loki now,
# given the volume's use in KiB and the retention in force. A chunk is deleted once its
# newest line is older than the retention (pkg/compactor/retention/expiration.go), and that
# time is in its file's name: base64 of "<from>:<through>:<checksum>", hex milliseconds
# (schema v12 on: pkg/storage/chunk/client/object_client.go FSEncoder); the file's mtime
# (its flush, after its newest line) stands in for a name that does not read so. What is
# not a chunk (index, WAL, compactor) is no retention's to cut. States:
#   ok      nothing cut: all fits, or what does not is past the retention already;
#   capped  fewer days than configured; lifted a day at a time once one more average day
#           fits in the target (90 % of the budget), so the volume settles in the band
#           between target and budget instead of swinging through it;
#   over    not even one day fits in the budget (one day kept), or what is not chunks
#           alone passes the target (nothing cut: cutting logs would not help).
decide() {
  # shellcheck disable=SC2017 # budget*9 could overflow a shell's 32-bit arithmetic
  find "$VOS_LOKI_CHUNKS/$VOS_LOKI_TENANT" -type f -exec stat -c '%Y %b %B %n' {} + 2>/dev/null |
    awk -v now="$(date +%s)" -v used="$1" -v cap="$2" -v days="$VOS_LOKI_RETENTION_DAYS" \
      -v budget="$VOS_LOKI_BUDGET_KIB" -v target="$((VOS_LOKI_BUDGET_KIB / 10 * 9))" '
      function hex(text,   n, i) {
        n = 0
        for (i = 1; i <= length(text); i++) n = n * 16 + index("0123456789abcdef", substr(text, i, 1)) - 1
        return n
      }
      # In fours: four letters, 24 bits, three bytes (no ^ or %: a busybox awk may have
      # no math support compiled in).
      function unbase64(text,   alphabet, out, i, j, v, c, n) {
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        out = ""
        for (i = 1; i <= length(text); i += 4) {
          v = 0; n = 0
          for (j = 0; j < 4; j++) {
            c = substr(text, i + j, 1)
            if (c == "=" || c == "") { v = v * 64; continue }
            c = index(alphabet, c) - 1
            if (c < 0) return ""
            v = v * 64 + c; n++
          }
          out = out sprintf("%c", int(v / 65536))
          if (n > 2) out = out sprintf("%c", int(v / 256) - int(v / 65536) * 256)
          if (n > 3) out = out sprintf("%c", v - int(v / 256) * 256)
        }
        return out
      }
      {
        name = $0; sub(/^.*\//, "", name)
        newest = $1
        if (split(unbase64(name), key, ":") == 3 && key[2] ~ /^[0-9a-f]+$/) newest = hex(key[2]) / 1000
        age = int((now - newest) / 86400)
        if (age < 0) age = 0
        if (age > days) age = days
        size = $2 * $3 / 1024
        kib[age] += size; chunks += size
      }
      END {
        other = used - chunks
        if (other < 0) other = 0
        fit = 0; kept = other
        for (d = 1; d <= days; d++) {
          kept += kib[d - 1]
          if (d == 1) first = kept
          if (kept <= target) fit = d
          if (d == cap) at_cap = kept
        }
        if (other > target) { days_now = cap; state = "over" }
        else if (fit == 0) { days_now = 1; state = (first > budget ? "over" : "capped") }
        else if (cap >= days) {
          days_now = (used <= budget || fit == days) ? days : fit
        } else if (used > budget) {
          days_now = (fit < cap ? fit : cap)
        } else if (used + (at_cap - other) / cap <= target) {
          days_now = cap + 1
        } else days_now = cap
        if (state == "") state = (days_now < days ? "capped" : "ok")
        printf "%d %s %.0f %.0f\n", days_now, state, chunks, other
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
  mkdir -p "$SCRATCH" &&
    printf '# Written by Loki'"'"'s size guard every %s s (vos-infra); not for editing.\n%s\n' \
      "$VOS_LOKI_GUARD_PERIOD" "$text" >"$VOS_LOKI_RUNTIME_FILE.new" &&
    mv -f "$VOS_LOKI_RUNTIME_FILE.new" "$VOS_LOKI_RUNTIME_FILE" && return 0
  rm -f "$VOS_LOKI_RUNTIME_FILE.new"
  return 1
}

cap=$VOS_LOKI_RETENTION_DAYS

round() {
  # A file the compactor removes while du walks is no error; anything else it says is.
  used=$(du -sk "$VOS_LOKI_DATA" 2>"$SCRATCH/du.err" | awk 'NR == 1 { print $1 }')
  if grep -qv 'No such file or directory' "$SCRATCH/du.err" 2>/dev/null; then
    failed "cannot measure $VOS_LOKI_DATA: $(head -n 1 "$SCRATCH/du.err" | tr -d '"')"
    return 1
  fi
  case "$used" in '' | *[!0-9]*)
    failed "cannot measure $VOS_LOKI_DATA"
    return 1
    ;;
  esac
  decision=$(decide "$used" "$cap")
  # shellcheck disable=SC2086 # four words, split on purpose
  set -- $decision
  if [ "$#" -ne 4 ]; then
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
  log "$level" "size_guard=$2 used_kib=$used chunks_kib=$3 other_kib=$4 budget_kib=$VOS_LOKI_BUDGET_KIB retention=$(($1 * 24))h"
}

# Loki will not start without its runtime configuration file (dskit runtimeconfig: "failed
# to load runtime config"): one round first, the configured retention if that round could
# not decide. The file is on the container's own tmpfs, so a full volume cannot stop it.
if ! { mkdir -p "$SCRATCH" && { round || write_overrides "$VOS_LOKI_RETENTION_DAYS"; }; }; then
  log error "size_guard=error msg=\"cannot write $VOS_LOKI_RUNTIME_FILE, without which Loki does not start\""
  exit 1
fi
while sleep "$VOS_LOKI_GUARD_PERIOD"; do round; done &
exec "$@"
