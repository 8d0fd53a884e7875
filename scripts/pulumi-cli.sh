# Sourced by lib.sh: the pinned Pulumi CLI, installed when a machine has none.
# shellcheck shell=bash
#
# The official release archive of exactly PULUMI_CLI_VERSION (never a moving "latest"), from
# Pulumi's GitHub release, checked against the sha256 the same release publishes
# (pulumi-<version>-checksums.txt in sha256sum format: the goreleaser `checksum` section and
# the signing workflow of pulumi/pulumi), unpacked into the user's data folder. A
# mismatch or a missing entry installs nothing. VOS_PULUMI_RELEASES points elsewhere (a
# mirror; the tests' local server); VOS_PULUMI_HOME is where versions are kept.
# Proven against a local server with a stand-in archive (tests/program/test_pulumi_install.py);
# the names follow pulumi/pulumi's release configuration, but GitHub is not reachable from the
# machines the tests run on, so the real download has not been run here.

PULUMI_CLI_VERSION=3.272.0
# The lower bound of the SDK in pyproject.toml (min_pulumi_version): the engine the project
# is tested with (tests/program/test_pulumi_install.py holds them together).

pulumi_cli_dir() {
  printf '%s/pulumi-v%s\n' "${VOS_PULUMI_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/vos-infra}" "$PULUMI_CLI_VERSION"
}

# Puts an installed pinned CLI on PATH when none is there; true when `pulumi` then runs.
use_installed_pulumi_cli() {
  command -v pulumi >/dev/null 2>&1 && return 0
  local dir
  dir="$(pulumi_cli_dir)/pulumi"
  [ -x "$dir/pulumi" ] || return 1
  PATH="$dir:$PATH"
  export PATH
}

# Why the CLI cannot be installed here (empty when it can).
pulumi_cli_install_problem() {
  local tool
  for tool in curl tar sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || {
      echo "the Pulumi CLI is not installed, and installing it needs $tool: apt-get install $tool (or install the CLI yourself: https://www.pulumi.com/docs/iac/download-install/)"
      return 0
    }
  done
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64 | Linux-aarch64) ;;
    *) echo "the Pulumi CLI is not installed and this script installs it on Linux x86_64 or aarch64 only: https://www.pulumi.com/docs/iac/download-install/" ;;
  esac
}

# A subshell, so that its exit trap removes the download folder whatever happens.
install_pulumi_cli() (
  local version="$PULUMI_CLI_VERSION" arch base target work archive sums expected actual
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) die "no Pulumi CLI build for $(uname -m)" ;;
  esac
  base="${VOS_PULUMI_RELEASES:-https://github.com/pulumi/pulumi/releases/download}/v$version"
  archive="pulumi-v$version-linux-$arch.tar.gz"
  sums="pulumi-$version-checksums.txt"
  target="$(pulumi_cli_dir)"
  work="$(mktemp -d)"
  # Single quotes: expanded when the trap runs, so any path (quotes in it too) is removed.
  trap 'rm -rf "$work" "$target.partial"' EXIT
  say "installing the Pulumi CLI $version into $target"
  local proto=(--proto '=https')
  case "$base" in http://127.0.0.1:* | http://localhost:*) proto=() ;; esac
  curl -fsSL "${proto[@]}" --retry 2 -o "$work/$archive" "$base/$archive" ||
    die "could not download $base/$archive"
  curl -fsSL "${proto[@]}" --retry 2 -o "$work/$sums" "$base/$sums" ||
    die "could not download $base/$sums"
  expected="$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1 }' "$work/$sums")"
  [ -n "$expected" ] || die "$sums lists no checksum for $archive: nothing installed"
  actual="$(sha256sum "$work/$archive" | cut -d' ' -f1)"
  [ "$actual" = "$expected" ] ||
    die "checksum mismatch for $archive (expected $expected, got $actual): nothing installed"
  mkdir -p "$work/unpacked"
  tar -xzf "$work/$archive" -C "$work/unpacked" || die "could not unpack $archive"
  [ -x "$work/unpacked/pulumi/pulumi" ] || die "$archive has no pulumi/pulumi: nothing installed"
  mkdir -p "$(dirname "$target")"
  # An earlier install that does not run (use_installed_pulumi_cli found none) is replaced.
  rm -rf "$target.partial" "$target"
  mv "$work/unpacked" "$target.partial" && mv -T "$target.partial" "$target"
  say "Pulumi CLI $version installed; for your shell: eval \"\$(scripts/env.sh)\" puts it on PATH"
)
