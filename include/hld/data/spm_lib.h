// Loads libhld_spm (the SentencePiece shim, see spm_shim_api.h) once per process with
// RTLD_LOCAL | RTLD_DEEPBIND and hands out its functions. The library is looked up in
// $HLD_SPM_SHIM, then beside the running executable, then in the build tree it was built in.
#pragma once

#include "hld/data/spm_shim_api.h"

namespace hld::data::spm {

struct Api {
  decltype(&hld_spm_load) load;
  decltype(&hld_spm_free) free;
  decltype(&hld_spm_piece_size) piece_size;
  decltype(&hld_spm_special_id) special_id;
  decltype(&hld_spm_encode) encode;
  decltype(&hld_spm_decode) decode;
  decltype(&hld_spm_id_to_piece) id_to_piece;
  decltype(&hld_spm_score) score;
  decltype(&hld_spm_piece_type) piece_type;
  decltype(&hld_spm_train) train;
};

/// The loaded shim; throws std::runtime_error naming the paths tried when it cannot be loaded.
const Api& api();

}  // namespace hld::data::spm
