// Build identity: the hld-train version and the git revision it was configured from.
#pragma once

namespace hld::util {

const char* version();        ///< "0.1.0"
const char* git_revision();   ///< short hash, or "unknown" outside a git checkout
const char* spm_shim_path();  ///< where the build put libhld_spm.so (a fallback for spm_lib.h)

}  // namespace hld::util
