#!/bin/sh
# Loki's size guard, then Loki: the store container's entrypoint, run by the image's busybox
# sh (grafana/loki is built FROM gcr.io/distroless/static:debug: cmd/loki/Dockerfile).
# Why and how: components/loki/size_guard.py. Arguments: Loki's own command line.
#
# Loki deletes logs by age only. Every round this finds the longest retention, in whole days
# up to the configured one, whose logs fit in the budget, and hands it to Loki as the
# tenant's retention_period in its runtime configuration file; Loki's compactor deletes what
# is older at its next pass. While everything fits, the file overrides nothing.
set -u

: "${VOS_LOKI_DATA:?}" "${VOS_LOKI_BUDGET_KIB:?}" "${VOS_LOKI_RETENTION_DAYS:?}"
: "${VOS_LOKI_GUARD_PERIOD:?}" "${VOS_LOKI_RUNTIME_FILE:?}" "${VOS_LOKI_TENANT:?}"

log() {
  # logfmt on stderr, as Loki writes its own lines; Alloy counts size_guard=capped|over.
  echo "level=$1 ts=$(date -u +%Y-%m-%dT%H:%M:%SZ) caller=size-guard $2" >&2
}

# "<days> <state>" for `used` KiB on the volume: the largest number of days up to the
# configured retention whose chunks, with everything that is not a chunk (index, WAL,
# compactor), fit in 90 % of the budget (room for the logs that arrive before the compactor
# deletes); state ok (all fits: nothing to cap), capped, or over (not even one day fits).
retention() {
  used=$1
  if [ "$used" -le "$VOS_LOKI_BUDGET_KIB" ]; then
    echo "$VOS_LOKI_RETENTION_DAYS ok"
    return
  fi
  # A chunk is deleted once its newest line is older than the retention; a chunk file is
  # written when the chunk is flushed, after its newest line, so its age by mtime never
  # overstates what a retention keeps. Files the compactor removes meanwhile are skipped.
  # shellcheck disable=SC2017 # budget*9 could overflow a shell's 32-bit arithmetic
  find "$VOS_LOKI_DATA/chunks" -type f -exec stat -c '%Y %b %B' {} + 2>/dev/null |
    awk -v now="$(date +%s)" -v used="$used" -v days="$VOS_LOKI_RETENTION_DAYS" \
      -v target="$((VOS_LOKI_BUDGET_KIB / 10 * 9))" '
      {
        age = int((now - $1) / 86400)
        if (age > days) age = days
        if (age < 0) age = 0
        kib[age] += $2 * $3 / 1024
      }
      END {
        dropped = 0
        for (d = days; d >= 1; d--) {
          dropped += kib[d]
          if (used - dropped <= target) {
            print d, (d == days ? "ok" : "capped")
            exit
          }
        }
        print 1, "over"
      }'
}

# Writes the runtime configuration for `days` (none: the configured retention stands),
# whole or not at all: Loki reads it every period and refuses a file it cannot parse.
write_overrides() {
  mkdir -p "$(dirname "$VOS_LOKI_RUNTIME_FILE")" || return 1
  {
    echo "# Written by Loki's size guard every ${VOS_LOKI_GUARD_PERIOD} s (vos-infra); not for editing."
    if [ "$1" -lt "$VOS_LOKI_RETENTION_DAYS" ]; then
      echo "overrides:"
      echo "  \"$VOS_LOKI_TENANT\":"
      echo "    retention_period: $(($1 * 24))h"
    else
      echo "overrides: {}"
    fi
  } >"$VOS_LOKI_RUNTIME_FILE.tmp" && mv -f "$VOS_LOKI_RUNTIME_FILE.tmp" "$VOS_LOKI_RUNTIME_FILE"
}

round() {
  # du reports what it could read when files vanish under it (the compactor at work).
  used=$(du -sk "$VOS_LOKI_DATA" 2>/dev/null | awk 'NR == 1 { print $1 }')
  case "$used" in
    '' | *[!0-9]*)
      log error "msg=\"cannot measure $VOS_LOKI_DATA; the retention stays as it was\""
      return 1
      ;;
  esac
  decision=$(retention "$used")
  days=${decision% *}
  state=${decision#* }
  case "$days" in
    '' | *[!0-9]*)
      log error "msg=\"cannot size the chunks; the retention stays as it was\" used_kib=$used"
      return 1
      ;;
  esac
  if ! write_overrides "$days"; then
    log error "msg=\"cannot write $VOS_LOKI_RUNTIME_FILE\" used_kib=$used"
    return 1
  fi
  level=info
  [ "$state" = ok ] || level=warn
  log "$level" "size_guard=$state used_kib=$used budget_kib=$VOS_LOKI_BUDGET_KIB retention=$((days * 24))h"
}

# Loki will not start without its runtime configuration file: one round first, and an empty
# override if that round could not decide.
round || write_overrides "$VOS_LOKI_RETENTION_DAYS" || exit 1
while sleep "$VOS_LOKI_GUARD_PERIOD"; do round; done &
exec "$@"
