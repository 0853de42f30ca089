#!/usr/bin/env bash
# Gloo's headers for the c10d build (ProcessGroupGloo.hpp includes gloo/*.h; the PyTorch wheel
# ships neither the headers nor a libgloo: gloo is linked into libtorch_cpu.so). Debian 12's
# libgloo-dev (2022) is older than the wheel's gloo, so the matching Debian package is unpacked
# (dpkg -x, never installed) into .deps/gloo/, then checked against the wheel's own symbols: a
# mismatch stops here, never in a c10d run.
#   bash scripts/gloo_headers.sh TORCH_DIR       (site-packages/torch of the wheel)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/debian_lib.sh
torch_dir=$1
# torch 2.11's gloo: GlooStore with the store-v2 API (multi_get, append, add) and
# transport::Context::createAndConnectAllPairs(shared_ptr<IStore>) — Debian's 0.0~git20250912
# (forky); trixie's 0.0~git20231202 still takes IStore& there.
suite=forky version=0.0~git20250912.d97133a
dir=.deps/gloo
inc=$dir/root/usr/include
if [ ! -f "$inc/gloo/rendezvous/store.h" ]; then
  debian_unpack "$dir" "$suite" libgloo-dev >/dev/null
fi
got=$(awk '$0 == "Package: libgloo-dev" {f = 1} f && /^Version:/ {print $2; exit}' "$dir/Packages.$suite")
case "$got" in
  "$version"*) ;;
  *) echo "gloo_headers: Debian $suite now has libgloo-dev $got, not $version; check it against the wheel" \
       "(the two symbols below) and update scripts/gloo_headers.sh" >&2; exit 1 ;;
esac
syms=$(nm -C "$torch_dir/lib/libtorch_cpu.so" | grep -E "GlooStore::has_v2_support|transport::Context::createAndConnectAllPairs" || true)
grep -q "has_v2_support" <<<"$syms" && grep -q "GLOO_STORE_HAS_STORE_V2" "$inc/gloo/rendezvous/store.h" ||
  { echo "gloo_headers: the wheel's GlooStore and $inc/gloo/rendezvous/store.h disagree on the store-v2 API" >&2; exit 1; }
grep -q "createAndConnectAllPairs(std::shared_ptr<gloo::IStore>)" <<<"$syms" &&
  grep -q "createAndConnectAllPairs(std::shared_ptr<IStore>" "$inc/gloo/transport/context.h" ||
  { echo "gloo_headers: the wheel's transport::Context and $inc/gloo/transport/context.h disagree" >&2; exit 1; }
echo "$(cd "$inc" && pwd)"
