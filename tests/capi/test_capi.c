/* The C API end to end, from C: versions and ABI, runtimes and their options, loading a pruned
 * CNN (file and memory), inference, training steps that keep pruned weights at zero, saving, the
 * memory limit, threads sharing a model, and every kind of bad input, each of which must give a
 * status and a message, never a crash.
 *   test_capi <pruned model file> <scratch directory>
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tandem/tandem.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* The call must return `want`, with a message that contains `part` (NULL: any message). */
#define EXPECT_STATUS(call, want, part)                                                                         \
  do {                                                                                                          \
    tandem_status got_ = (call);                                                                                \
    const char* msg_ = tandem_last_error();                                                                     \
    if (got_ != (want) || ((want) != TANDEM_OK && (msg_ == NULL || msg_[0] == '\0')) ||                         \
        ((part) != NULL && strstr(msg_, (part) ? (part) : "") == NULL)) {                                       \
      fprintf(stderr, "%s:%d: %s gave %s (want %s): %s\n", __FILE__, __LINE__, #call, tandem_status_name(got_), \
              tandem_status_name(want), msg_);                                                                  \
      ++failures;                                                                                               \
    }                                                                                                           \
  } while (0)

#define OK(call) EXPECT_STATUS(call, TANDEM_OK, NULL)

enum { N = 8, C = 1, H = 28, W = 28, K = 10, PIXELS = C * H * W };

static void fill(float* x, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    x[i] = (float)((seed >> 8) & 0xffff) / 65536.0f;
  }
}

static unsigned char* read_all(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char* b = malloc((size_t)n);
  if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *size = (size_t)n;
  return b;
}

static void write_all(const char* path, const void* data, size_t n) {
  FILE* f = fopen(path, "wb");
  if (f == NULL) return;
  fwrite(data, 1, n, f);
  fclose(f);
}

static void test_versions(void) {
  CHECK(tandem_abi_version() == TANDEM_ABI_VERSION);
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", TANDEM_VERSION_MAJOR, TANDEM_VERSION_MINOR, TANDEM_VERSION_PATCH);
  CHECK(strcmp(tandem_version(), want) == 0);
  CHECK(strcmp(tandem_status_name(TANDEM_OK), "TANDEM_OK") == 0);
  CHECK(strcmp(tandem_status_name(TANDEM_ERROR_IO), "TANDEM_ERROR_IO") == 0);
  CHECK(strcmp(tandem_status_name((tandem_status)99), "unknown status") == 0);
  CHECK(tandem_last_error() != NULL);
}

static int log_lines = 0;
static void count_log(tandem_log_level level, const char* message, void* user) {
  (void)level;
  if (strstr(message, "loaded") != NULL) ++*(int*)user;
}

static void test_runtime(void) {
  tandem_runtime* rt = NULL;
  OK(tandem_runtime_create(NULL, &rt));
  size_t count = 0;
  OK(tandem_runtime_device_count(rt, &count));
  CHECK(count >= 1);
  char name[32];
  size_t need = 0;
  OK(tandem_runtime_device_name(rt, 0, name, sizeof name, &need));
  CHECK(strcmp(name, "cpu:0") == 0 && need == 6);
  EXPECT_STATUS(tandem_runtime_device_name(rt, 0, name, 3, &need), TANDEM_ERROR_INVALID_ARGUMENT, "needs 6 bytes");
  EXPECT_STATUS(tandem_runtime_device_name(rt, count, name, sizeof name, NULL), TANDEM_ERROR_INVALID_ARGUMENT,
                "past the runtime");
  tandem_runtime_destroy(rt);

  tandem_runtime_options o;
  tandem_runtime_options_init(&o);
  o.devices = "cpu:0";
  OK(tandem_runtime_create(&o, &rt));
  OK(tandem_runtime_device_count(rt, &count));
  CHECK(count == 1);
  tandem_runtime_destroy(rt);

  o.devices = "cpu:0, gpu:7";
  rt = (tandem_runtime*)1;
  EXPECT_STATUS(tandem_runtime_create(&o, &rt), TANDEM_ERROR_NO_DEVICE, "gpu:7");
  CHECK(rt == NULL);
  o.devices = NULL;
  o.struct_size = 0;
  EXPECT_STATUS(tandem_runtime_create(&o, &rt), TANDEM_ERROR_INVALID_ARGUMENT, "struct_size");
  tandem_runtime_options_init(&o);
  o.log_level = (tandem_log_level)42;
  EXPECT_STATUS(tandem_runtime_create(&o, &rt), TANDEM_ERROR_INVALID_ARGUMENT, "log_level");
  EXPECT_STATUS(tandem_runtime_create(NULL, NULL), TANDEM_ERROR_INVALID_ARGUMENT, "is NULL");
  EXPECT_STATUS(tandem_runtime_device_count(NULL, &count), TANDEM_ERROR_INVALID_ARGUMENT, "runtime is NULL");
  tandem_runtime_destroy(NULL);
}

static void argmax_all(const float* logits, int n, int32_t* out) {
  for (int i = 0; i < n; ++i) {
    int best = 0;
    for (int k = 1; k < K; ++k)
      if (logits[i * K + k] > logits[i * K + best]) best = k;
    out[i] = best;
  }
}

struct shared_model {
  tandem_model* model;
  const float* input;
  int32_t classes[N];
  tandem_status status;
};

static void* classify_in_thread(void* arg) {
  struct shared_model* s = arg;
  for (int r = 0; r < 20 && s->status == TANDEM_OK; ++r)
    s->status = tandem_model_classify(s->model, s->input, N, N * PIXELS, s->classes, N);
  return NULL;
}

static void test_model(const char* path, const char* dir) {
  tandem_runtime_options o;
  tandem_runtime_options_init(&o);
  o.devices = "cpu:0";
  o.log = count_log;
  o.log_user = &log_lines;
  o.log_level = TANDEM_LOG_INFO;
  tandem_runtime* rt = NULL;
  OK(tandem_runtime_create(&o, &rt));
  tandem_model* m = NULL;
  OK(tandem_model_load(rt, path, NULL, &m));
  if (m == NULL) return;
  CHECK(log_lines == 1); /* "C API: loaded cnn on cpu:0 …" through the callback */

  tandem_model_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  OK(tandem_model_get_info(m, &info));
  CHECK(strcmp(info.name, "cnn") == 0 && strcmp(info.device, "cpu:0") == 0);
  CHECK(info.input_channels == C && info.input_height == H && info.input_width == W && info.classes == K);
  CHECK(info.parameters > 0 && info.sparsity > 0.5 && info.sparsity < 0.95);
  CHECK(info.memory_bytes > 0 && info.memory_per_sample > 0 && info.memory_limit_bytes == 0);
  printf("model: %s on %s, %lld parameters, sparsity %.3f, %llu bytes + %llu per sample\n", info.name, info.device,
         (long long)info.parameters, info.sparsity, (unsigned long long)info.memory_bytes,
         (unsigned long long)info.memory_per_sample);

  /* Inference: a batch and its samples one by one agree; classify is infer's argmax. */
  float x[N * PIXELS], logits[N * K], one[K];
  fill(x, N * PIXELS, 7);
  OK(tandem_model_infer(m, x, N, N * PIXELS, logits, N * K));
  for (int i = 0; i < N; ++i) {
    OK(tandem_model_infer(m, x + i * PIXELS, 1, PIXELS, one, K));
    for (int k = 0; k < K; ++k) CHECK(fabsf(one[k] - logits[i * K + k]) <= 1e-4f * (1.0f + fabsf(one[k])));
  }
  int32_t classes[N], want[N];
  OK(tandem_model_classify(m, x, N, N * PIXELS, classes, N));
  argmax_all(logits, N, want);
  for (int i = 0; i < N; ++i) CHECK(classes[i] == want[i]);

  /* Threads sharing the model: each gets what a lone call gets. */
  struct shared_model s[4];
  pthread_t t[4];
  for (int i = 0; i < 4; ++i) {
    s[i].model = m, s[i].input = x, s[i].status = TANDEM_OK;
    CHECK(pthread_create(&t[i], NULL, classify_in_thread, &s[i]) == 0);
  }
  for (int i = 0; i < 4; ++i) {
    pthread_join(t[i], NULL);
    CHECK(s[i].status == TANDEM_OK);
    for (int j = 0; j < N; ++j) CHECK(s[i].classes[j] == want[j]);
  }

  /* Training: the loss of a fixed batch falls, and pruned weights stay zero (sparsity kept). */
  int32_t labels[N];
  for (int i = 0; i < N; ++i) labels[i] = i % K;
  float first = 0, loss = 0;
  OK(tandem_model_train_step(m, x, labels, N, N * PIXELS, 0.05f, &first));
  for (int step = 0; step < 10; ++step) OK(tandem_model_train_step(m, x, labels, N, N * PIXELS, 0.05f, &loss));
  CHECK(isfinite(first) && loss < first);
  tandem_model_info after;
  memset(&after, 0, sizeof after);
  after.struct_size = sizeof after;
  OK(tandem_model_get_info(m, &after));
  CHECK(after.sparsity >= info.sparsity - 1e-9);
  printf("training: loss %.4f -> %.4f, sparsity %.3f -> %.3f\n", first, loss, info.sparsity, after.sparsity);

  /* Save, then load the saved model from memory: the same logits. */
  char saved[1024];
  snprintf(saved, sizeof saved, "%s/capi-saved.tdm", dir);
  OK(tandem_model_save(m, saved));
  OK(tandem_model_infer(m, x, N, N * PIXELS, logits, N * K));
  size_t size = 0;
  unsigned char* bytes = read_all(saved, &size);
  CHECK(bytes != NULL);
  tandem_model* back = NULL;
  OK(tandem_model_load_memory(rt, bytes, size, "cpu:0", &back));
  float again[N * K];
  OK(tandem_model_infer(back, x, N, N * PIXELS, again, N * K));
  for (int i = 0; i < N * K; ++i) CHECK(again[i] == logits[i]);
  tandem_model_destroy(back);

  /* Corrupt and truncated files, a missing file, bytes that are not a model. */
  char bad[1024];
  snprintf(bad, sizeof bad, "%s/capi-bad.tdm", dir);
  write_all(bad, bytes, size / 2);
  EXPECT_STATUS(tandem_model_load(rt, bad, NULL, &back), TANDEM_ERROR_IO, "corrupt or truncated");
  CHECK(back == NULL);
  bytes[size / 3] ^= 0x40;
  write_all(bad, bytes, size);
  EXPECT_STATUS(tandem_model_load(rt, bad, NULL, &back), TANDEM_ERROR_IO, "checksum mismatch");
  EXPECT_STATUS(tandem_model_load_memory(rt, bytes, size, NULL, &back), TANDEM_ERROR_IO, "checksum mismatch");
  EXPECT_STATUS(tandem_model_load_memory(rt, "TNDMCKPT", 8, NULL, &back), TANDEM_ERROR_IO, "too short");
  EXPECT_STATUS(tandem_model_load_memory(rt, x, sizeof x, NULL, &back), TANDEM_ERROR_IO, "not a Tandem");
  EXPECT_STATUS(tandem_model_load_memory(rt, bytes, 0, NULL, &back), TANDEM_ERROR_IO, NULL);
  EXPECT_STATUS(tandem_model_load(rt, "/no/such/model.tdm", NULL, &back), TANDEM_ERROR_IO, "cannot open");
  free(bytes);

  /* Devices: one that is not there, one not allowed. */
  EXPECT_STATUS(tandem_model_load(rt, path, "cuda:7", &back), TANDEM_ERROR_NO_DEVICE, "cuda:7");
  EXPECT_STATUS(tandem_model_load(rt, path, "fpga-sim:0", &back), TANDEM_ERROR_NO_DEVICE, "not among");

  /* Null handles and pointers, wrong sizes, bad labels and rates. */
  EXPECT_STATUS(tandem_model_load(NULL, path, NULL, &back), TANDEM_ERROR_INVALID_ARGUMENT, "runtime is NULL");
  EXPECT_STATUS(tandem_model_load(rt, NULL, NULL, &back), TANDEM_ERROR_INVALID_ARGUMENT, "path is NULL");
  EXPECT_STATUS(tandem_model_load(rt, path, NULL, NULL), TANDEM_ERROR_INVALID_ARGUMENT, "model (the output)");
  EXPECT_STATUS(tandem_model_load_memory(rt, NULL, 10, NULL, &back), TANDEM_ERROR_INVALID_ARGUMENT, "data is NULL");
  EXPECT_STATUS(tandem_model_infer(NULL, x, N, N * PIXELS, logits, N * K), TANDEM_ERROR_INVALID_ARGUMENT, "model");
  EXPECT_STATUS(tandem_model_infer(m, NULL, N, N * PIXELS, logits, N * K), TANDEM_ERROR_INVALID_ARGUMENT, "input");
  EXPECT_STATUS(tandem_model_infer(m, x, N, N * PIXELS, NULL, N * K), TANDEM_ERROR_INVALID_ARGUMENT, "logits");
  EXPECT_STATUS(tandem_model_infer(m, x, N, N * PIXELS - 1, logits, N * K), TANDEM_ERROR_INVALID_ARGUMENT,
                "input_count is 6271");
  EXPECT_STATUS(tandem_model_infer(m, x, N, N * PIXELS, logits, N * K + 1), TANDEM_ERROR_INVALID_ARGUMENT,
                "logits_count");
  EXPECT_STATUS(tandem_model_infer(m, x, 0, 0, logits, 0), TANDEM_ERROR_INVALID_ARGUMENT, "batch is 0");
  EXPECT_STATUS(tandem_model_infer(m, x, (size_t)-1, N * PIXELS, logits, N * K), TANDEM_ERROR_INVALID_ARGUMENT,
                "input_count");
  EXPECT_STATUS(tandem_model_classify(m, x, N, N * PIXELS, classes, N - 1), TANDEM_ERROR_INVALID_ARGUMENT,
                "classes_count");
  labels[3] = K;
  EXPECT_STATUS(tandem_model_train_step(m, x, labels, N, N * PIXELS, 0.05f, NULL), TANDEM_ERROR_INVALID_ARGUMENT,
                "labels[3] is 10");
  labels[3] = 3;
  EXPECT_STATUS(tandem_model_train_step(m, x, labels, N, N * PIXELS, NAN, NULL), TANDEM_ERROR_INVALID_ARGUMENT,
                "learning_rate");
  EXPECT_STATUS(tandem_model_train_step(m, x, NULL, N, N * PIXELS, 0.05f, NULL), TANDEM_ERROR_INVALID_ARGUMENT,
                "labels is NULL");
  EXPECT_STATUS(tandem_model_save(m, NULL), TANDEM_ERROR_INVALID_ARGUMENT, "path is NULL");
  EXPECT_STATUS(tandem_model_save(m, "/no/such/dir/m.tdm"), TANDEM_ERROR_IO, "/no/such/dir");
  info.struct_size = 3;
  EXPECT_STATUS(tandem_model_get_info(m, &info), TANDEM_ERROR_INVALID_ARGUMENT, "struct_size");
  EXPECT_STATUS(tandem_model_get_info(NULL, &info), TANDEM_ERROR_INVALID_ARGUMENT, "model is NULL");
  /* The model still works after all that. */
  OK(tandem_model_classify(m, x, N, N * PIXELS, classes, N));
  tandem_model_destroy(m);
  tandem_model_destroy(NULL);
  tandem_runtime_destroy(rt);
}

/* The memory limit: what fits loads, larger batches are refused with the largest that fits, and a
 * limit below the weights refuses the model. */
static void test_memory_limit(const char* path) {
  tandem_runtime* rt = NULL;
  OK(tandem_runtime_create(NULL, &rt));
  tandem_model* m = NULL;
  OK(tandem_model_load(rt, path, "cpu:0", &m));
  if (m == NULL) return;
  tandem_model_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  OK(tandem_model_get_info(m, &info));
  tandem_model_destroy(m);
  tandem_runtime_destroy(rt);
  const uint64_t fixed = info.memory_bytes - 2 * info.memory_per_sample; /* it holds a batch of 2 */

  tandem_runtime_options o;
  tandem_runtime_options_init(&o);
  o.memory_limit_bytes = fixed + 3 * info.memory_per_sample;
  OK(tandem_runtime_create(&o, &rt));
  OK(tandem_model_load(rt, path, NULL, &m));
  if (m != NULL) {
    OK(tandem_model_get_info(m, &info));
    CHECK(info.max_batch == 3 && info.memory_bytes <= o.memory_limit_bytes);
    float x[4 * PIXELS], logits[4 * K];
    fill(x, 4 * PIXELS, 3);
    OK(tandem_model_infer(m, x, 3, 3 * PIXELS, logits, 3 * K));
    EXPECT_STATUS(tandem_model_infer(m, x, 4, 4 * PIXELS, logits, 4 * K), TANDEM_ERROR_OUT_OF_MEMORY,
                  "the largest batch that fits: 3");
    OK(tandem_model_infer(m, x, 1, PIXELS, logits, K));
    tandem_model_destroy(m);
  }
  tandem_runtime_destroy(rt);

  o.memory_limit_bytes = fixed / 2;
  OK(tandem_runtime_create(&o, &rt));
  EXPECT_STATUS(tandem_model_load(rt, path, NULL, &m), TANDEM_ERROR_OUT_OF_MEMORY, "limit");
  CHECK(m == NULL);
  tandem_runtime_destroy(rt);
}

/* The training checkpoint written with the exported model holds the same weights: loading either
 * gives the same logits. */
static void test_checkpoint(const char* exported, const char* checkpoint) {
  tandem_runtime* rt = NULL;
  OK(tandem_runtime_create(NULL, &rt));
  tandem_model *a = NULL, *b = NULL;
  OK(tandem_model_load(rt, exported, "cpu:0", &a));
  OK(tandem_model_load(rt, checkpoint, "cpu:0", &b));
  if (a != NULL && b != NULL) {
    float x[N * PIXELS], la[N * K], lb[N * K];
    fill(x, N * PIXELS, 11);
    OK(tandem_model_infer(a, x, N, N * PIXELS, la, N * K));
    OK(tandem_model_infer(b, x, N, N * PIXELS, lb, N * K));
    for (int i = 0; i < N * K; ++i) CHECK(la[i] == lb[i]);
    tandem_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    OK(tandem_model_get_info(b, &info));
    CHECK(info.sparsity > 0.75 && info.input_scale != 1.0f); /* pruned, normalization carried */
  }
  tandem_model_destroy(a);
  tandem_model_destroy(b);
  tandem_runtime_destroy(rt);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: test_capi <model file> <scratch directory> <checkpoint of the same run>\n");
    return 2;
  }
  test_versions();
  test_runtime();
  test_model(argv[1], argv[2]);
  test_memory_limit(argv[1]);
  test_checkpoint(argv[1], argv[3]);
  if (failures != 0) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("C API: all checks passed\n");
  return 0;
}
