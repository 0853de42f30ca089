/* The C interface of libhld_spm, the small shared library that holds every call into
 * SentencePiece. Why a separate library: Debian's libsentencepiece embeds its own copy of
 * protobuf-lite (3.14) with default symbol visibility, while LibTorch loads libprotobuf 3.21. In
 * one symbol namespace each would call into the other's copy and crash at start-up. hld-train
 * therefore dlopen()s libhld_spm with RTLD_LOCAL | RTLD_DEEPBIND (see spm_lib.h), which keeps
 * SentencePiece bound to its own protobuf and out of LibTorch's way. */
#ifndef HLD_DATA_SPM_SHIM_API_H_
#define HLD_DATA_SPM_SHIM_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hld_spm hld_spm; /* an opaque SentencePieceProcessor */

/* Receives bytes (a model, a decoded text, an error message) or ids (an encoding). */
typedef void (*hld_spm_bytes_fn)(void* ctx, const char* data, size_t len);
typedef void (*hld_spm_ids_fn)(void* ctx, const int32_t* ids, size_t n);
/* Yields the next training sentence; returns 0 when there are no more. */
typedef int (*hld_spm_next_fn)(void* ctx, const char** data, size_t* len);

/* Loads a serialised model; NULL on failure with the reason sent to `err`. */
hld_spm* hld_spm_load(const char* bytes, size_t len, hld_spm_bytes_fn err, void* err_ctx);
void hld_spm_free(hld_spm* sp);
int hld_spm_piece_size(const hld_spm* sp);
/* which: 0 pad, 1 eos, 2 bos, 3 unk. */
int hld_spm_special_id(const hld_spm* sp, int which);
/* Returns 0 on success; the ids (or the error text) go to the callbacks. */
int hld_spm_encode(const hld_spm* sp, const char* text, size_t len, hld_spm_ids_fn out, void* ctx, hld_spm_bytes_fn err,
                   void* err_ctx);
int hld_spm_decode(const hld_spm* sp, const int32_t* ids, size_t n, hld_spm_bytes_fn out, void* ctx,
                   hld_spm_bytes_fn err, void* err_ctx);
void hld_spm_id_to_piece(const hld_spm* sp, int id, hld_spm_bytes_fn out, void* ctx);
float hld_spm_score(const hld_spm* sp, int id);
/* The piece's reserved type, as ModelProto.SentencePiece.Type numbers it: 2 unknown, 3 control,
 * 5 unused, 6 byte; 1 for every other piece (normal and user-defined alike). */
int hld_spm_piece_type(const hld_spm* sp, int id);

/* Trains a model. `args`: "key=value" lines (SentencePieceTrainer flags without dashes). The
 * serialised model goes to `model`. Returns 0 on success. */
int hld_spm_train(const char* args, hld_spm_next_fn next, void* next_ctx, unsigned seed, int min_log_level,
                  hld_spm_bytes_fn model, void* model_ctx, hld_spm_bytes_fn err, void* err_ctx);

#ifdef __cplusplus
}
#endif

#endif /* HLD_DATA_SPM_SHIM_API_H_ */
