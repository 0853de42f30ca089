# Sourced by scripts/gloo_headers.sh: finds the Debian archive this machine's
# apt already uses and unpacks packages of another suite from it (dpkg -x, never installed), so
# that no archive address is written into the repository.
#   source scripts/debian_lib.sh; debian_unpack DIR SUITE PACKAGE...

# The archive of this machine's apt sources (deb822 *.sources first, else the one-line *.list /
# sources.list), security archives left out; empty when there is none.
debian_archive() {
  local m
  m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i !~ /security/) {print $i; exit}}')
  if [ -z "$m" ]; then
    m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i !~ /security/) {print $i; exit}}')
  fi
  echo "${m%/}"
}

# Downloads the named packages of SUITE (looked up in its main, contrib and non-free Packages
# indexes, cached in DIR) and unpacks each into DIR/root; a package already unpacked is skipped.
debian_unpack() {
  local dir=$1 suite=$2 archive c pkg deb
  shift 2
  archive=$(debian_archive)
  [ -n "$archive" ] || { echo "debian_unpack: no Debian archive in /etc/apt/sources.list*" >&2; return 2; }
  mkdir -p "$dir/root" "$dir/debs"
  if [ ! -s "$dir/Packages.$suite" ]; then
    for c in main contrib non-free; do
      curl -sf "$archive/dists/$suite/$c/binary-amd64/Packages.xz" | xz -dc
    done > "$dir/Packages.$suite.tmp"
    mv "$dir/Packages.$suite.tmp" "$dir/Packages.$suite"
  fi
  for pkg in "$@"; do
    [ -f "$dir/root/.unpacked.$pkg" ] && continue
    deb=$(awk -v p="$pkg" '$0 == "Package: " p {f = 1} f && /^Filename:/ {print $2; exit}' "$dir/Packages.$suite")
    [ -n "$deb" ] || { echo "debian_unpack: no $pkg in $suite" >&2; return 2; }
    echo "unpacking $pkg ($(basename "$deb"))"
    curl -sf "$archive/$deb" -o "$dir/debs/$pkg.deb"
    dpkg -x "$dir/debs/$pkg.deb" "$dir/root"
    rm -f "$dir/debs/$pkg.deb"
    touch "$dir/root/.unpacked.$pkg"
  done
}
