#!/usr/bin/env bash
# The C++ sources in the style of .clang-format (../shared/STYLE.md), with Debian 12's
# clang-format 14 (scripts/setup.sh installs it): other major versions lay some constructs out
# differently, so the check names the version it needs rather than disagree with CI.
#   bash scripts/format.sh           # reformat every tracked .h/.cpp in place
#   bash scripts/format.sh --check   # list the files that deviate, exit 1 if any (the test command)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=fix
case ${1:-} in
  --check) mode=check ;;
  "") ;;
  *) echo "format.sh: unknown argument '$1' (--check or nothing)" >&2; exit 2 ;;
esac
cf=""
for c in clang-format-14 clang-format; do
  if command -v "$c" > /dev/null && "$c" --version | grep -q 'version 14\.'; then cf=$c; break; fi
done
[ -n "$cf" ] || { echo "format.sh: needs clang-format 14 (Debian 12's clang-format; scripts/setup.sh installs it)" >&2; exit 2; }
# Tracked and new (not ignored) files that exist: a deletion or a file not yet added counts as it is.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.h' '*.cpp' | grep -v '^third_party/' |
  while read -r f; do [ -f "$f" ] && echo "$f"; done | sort -u)
if [ "$mode" = fix ]; then
  "$cf" -i "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do "$cf" --dry-run --Werror "$f" > /dev/null 2>&1 || bad+=("$f"); done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'format.sh: %d file(s) deviate from .clang-format (fix: bash scripts/format.sh):\n' "${#bad[@]}" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format.sh: ${#files[@]} C++ files follow .clang-format ($($cf --version | grep -o 'version [0-9.]*'))"
