/* Tandem's C API: the small, stable interface for programs that embed the runtime (appliances,
 * other languages). Load a trained model and its weights, classify batches on the best device the
 * program allows, optionally train it further. Everything else (layer kernels, placement,
 * compression, collectives) stays behind it.
 *
 * Conventions
 * - Every function that can fail returns a tandem_status. TANDEM_OK is 0. On failure the calling
 *   thread's tandem_last_error() says what is wrong: the device, the operation and the reason.
 *   No C++ exception ever crosses this interface, and nothing here aborts the process.
 * - Handles are opaque. A null handle, null output pointer or wrong buffer size is
 *   TANDEM_ERROR_INVALID_ARGUMENT, never a crash. The destroy functions accept NULL.
 * - Sizes are element counts (not bytes) unless a name says bytes.
 * - Structs passed in begin with struct_size = sizeof(the struct), set by the *_init functions,
 *   so that later versions can add fields without breaking programs built against this one.
 *
 * Thread safety
 * - Every function may be called from any thread.
 * - A runtime may be shared by threads; creating, using and destroying models on it concurrently
 *   is safe. Destroy a runtime only after every model loaded on it is destroyed.
 * - Calls on one model are serialized by a lock inside the model: threads may share a model,
 *   but its calls run one at a time. Use one model per thread for parallel inference.
 * - tandem_last_error() is per thread.
 *
 * Versioning: TANDEM_ABI_VERSION changes only when this interface changes incompatibly, and with
 * it the shared library's SONAME (libtandem.so.<ABI>). Check tandem_abi_version() ==
 * TANDEM_ABI_VERSION at start-up to catch a program built against another ABI.
 */
#ifndef TANDEM_TANDEM_H
#define TANDEM_TANDEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TANDEM_C_BUILD) && defined(__GNUC__)
#define TANDEM_API __attribute__((visibility("default")))
#else
#define TANDEM_API
#endif

#define TANDEM_VERSION_MAJOR 0
#define TANDEM_VERSION_MINOR 1
#define TANDEM_VERSION_PATCH 0
#define TANDEM_ABI_VERSION 1

typedef enum tandem_status {
  TANDEM_OK = 0,
  TANDEM_ERROR_INVALID_ARGUMENT = 1, /* a null handle or pointer, a wrong size, a bad option */
  TANDEM_ERROR_IO = 2,               /* a file missing, unreadable, truncated or corrupt */
  TANDEM_ERROR_NO_DEVICE = 3,        /* the device asked for is not there or not allowed */
  TANDEM_ERROR_OUT_OF_MEMORY = 4,    /* over the runtime's memory limit, or the device is full */
  TANDEM_ERROR_UNSUPPORTED = 5,      /* the device cannot run this model or operation */
  TANDEM_ERROR_DEVICE = 6,           /* the device failed while running */
  TANDEM_ERROR_INTERNAL = 7          /* a bug: please report it with the message */
} tandem_status;

/* ---- Version, ABI and errors ---------------------------------------------------------------- */

/* "0.1.0" (the library's version, which may be newer than the header's). */
TANDEM_API const char* tandem_version(void);
/* The library's ABI version: equal to TANDEM_ABI_VERSION for a program that may use it. */
TANDEM_API uint32_t tandem_abi_version(void);
/* "TANDEM_OK", "TANDEM_ERROR_IO", …; "unknown status" for anything else. Never NULL. */
TANDEM_API const char* tandem_status_name(tandem_status status);
/* What the calling thread's last failed call reported ("" if none yet). Valid until that
 * thread's next call into Tandem. Never NULL. */
TANDEM_API const char* tandem_last_error(void);

/* ---- Runtime -------------------------------------------------------------------------------- */

typedef struct tandem_runtime tandem_runtime;

typedef enum tandem_log_level {
  TANDEM_LOG_TRACE = 0,
  TANDEM_LOG_DEBUG = 1,
  TANDEM_LOG_INFO = 2,
  TANDEM_LOG_WARN = 3,
  TANDEM_LOG_ERROR = 4,
  TANDEM_LOG_OFF = 5
} tandem_log_level;

/* Receives each log line at or above the level asked for (from any thread, one call at a time).
 * It must not call back into Tandem. */
typedef void (*tandem_log_fn)(tandem_log_level level, const char* message, void* user);

typedef struct tandem_runtime_options {
  uint32_t struct_size;  /* sizeof(tandem_runtime_options) */
  /* Devices models may run on, in order of preference: "cuda:0,cpu:0". NULL or "" allows every
   * device found. "best" picks, among the allowed ones, the fastest by nominal peak. */
  const char* devices;
  /* Device memory one model may hold, in bytes (its weights, activations and gradients): loading
   * or a batch that would need more fails with TANDEM_ERROR_OUT_OF_MEMORY. 0: no limit. */
  uint64_t memory_limit_bytes;
  /* Where log lines go (NULL: stderr) and from which level (default TANDEM_LOG_WARN). The log is
   * the process's: the last runtime created sets it, and destroying that runtime restores stderr. */
  tandem_log_fn log;
  void* log_user;
  tandem_log_level log_level;
} tandem_runtime_options;

/* Fills *options with the defaults (every device, no memory limit, warnings to stderr). */
TANDEM_API void tandem_runtime_options_init(tandem_runtime_options* options);
/* options may be NULL for the defaults. Fails with TANDEM_ERROR_NO_DEVICE when a listed device is
 * not there. */
TANDEM_API tandem_status tandem_runtime_create(const tandem_runtime_options* options, tandem_runtime** runtime);
TANDEM_API void tandem_runtime_destroy(tandem_runtime* runtime);
/* The devices this runtime may use, in preference order. */
TANDEM_API tandem_status tandem_runtime_device_count(const tandem_runtime* runtime, size_t* count);
/* Device i's id ("cuda:0") into name[0 … size − 1], NUL-terminated; TANDEM_ERROR_INVALID_ARGUMENT
 * if it does not fit (required, when not NULL, receives the size needed). */
TANDEM_API tandem_status tandem_runtime_device_name(const tandem_runtime* runtime, size_t index, char* name,
                                                    size_t size, size_t* required);

/* ---- Models --------------------------------------------------------------------------------- */

typedef struct tandem_model tandem_model;

/* A model file is what `tandem train --export` writes (a pruned model keeps its zeros), or a
 * training checkpoint (`tandem train --checkpoint`): the description and the weights, checked
 * (magic, version, lengths, CRC-32, every tensor's shape against the description) before use.
 * device: one of the runtime's devices ("cpu:0"), or NULL for the runtime's first device that
 * can hold the model within the memory limit. */
TANDEM_API tandem_status tandem_model_load(tandem_runtime* runtime, const char* path, const char* device,
                                           tandem_model** model);
/* The same from a file's bytes in memory (firmware images, embedded resources). */
TANDEM_API tandem_status tandem_model_load_memory(tandem_runtime* runtime, const void* data, size_t size,
                                                  const char* device, tandem_model** model);
TANDEM_API void tandem_model_destroy(tandem_model* model);

typedef struct tandem_model_info {
  uint32_t struct_size; /* sizeof(tandem_model_info), set by the caller */
  char name[64];        /* the model's name, truncated to fit */
  char device[32];      /* where it runs: "cpu:0" */
  int32_t device_modeled; /* 1 on a simulated device (fpga-sim): its speed is a performance model's,
                             and wall-clock time measures the simulator, not the hardware */
  int64_t input_channels, input_height, input_width;
  int64_t classes;
  int64_t parameters;           /* weights and biases */
  double sparsity;              /* share of prunable weights that are zero */
  float input_mean, input_scale; /* the normalization applied to inputs: (x − mean) · scale */
  uint64_t memory_bytes;        /* device memory held now */
  uint64_t memory_per_sample;   /* added by each sample of the largest batch so far */
  uint64_t memory_limit_bytes;  /* the runtime's limit (0: none) */
  int64_t max_batch;            /* the largest batch the limit allows (INT64_MAX: no limit) */
} tandem_model_info;

TANDEM_API tandem_status tandem_model_get_info(const tandem_model* model, tandem_model_info* info);

/* Forward pass on batch samples: input holds batch × C × H × W floats (input_count of them, which
 * must equal that product), row-major, each sample as the training data gave it (images: pixel /
 * 255, in [0, 1]); the model applies the normalization it was trained with, which its file
 * carries. logits receives batch × classes floats (logits_count must equal that). */
TANDEM_API tandem_status tandem_model_infer(tandem_model* model, const float* input, size_t batch, size_t input_count,
                                            float* logits, size_t logits_count);
/* infer, then the most likely class of each sample into classes[0 … batch − 1]. */
TANDEM_API tandem_status tandem_model_classify(tandem_model* model, const float* input, size_t batch,
                                               size_t input_count, int32_t* classes, size_t classes_count);

/* One step of SGD with momentum 0.9 on a batch (labels in [0, classes)): forward, softmax cross-
 * entropy, backward, update. Pruned weights stay zero. *loss (may be NULL) receives the batch's
 * mean loss before the update. A step that fails on the device (TANDEM_ERROR_DEVICE,
 * TANDEM_ERROR_OUT_OF_MEMORY) may have updated some weights and not others: load the model again,
 * or the last copy tandem_model_save wrote, before training on. */
TANDEM_API tandem_status tandem_model_train_step(tandem_model* model, const float* input, const int32_t* labels,
                                                 size_t batch, size_t input_count, float learning_rate, float* loss);
/* Writes the model (description and current weights) as `tandem train --export` does: atomically,
 * so the file at path is either the old one or the complete new one. */
TANDEM_API tandem_status tandem_model_save(tandem_model* model, const char* path);

#ifdef __cplusplus
}
#endif

#endif /* TANDEM_TANDEM_H */
