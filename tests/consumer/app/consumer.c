/* A program that embeds Tandem through its C API only, built against an installed Tandem:
 * checks the library's ABI and version against the header it was compiled with, loads a model
 * on the CPU, prints what it is, and classifies a small batch (zeros, then random pixels).
 * Every call's status is checked; any failure prints tandem_last_error() and exits 1.
 *   consumer <model file>
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tandem/tandem.h>

#define CALL(call)                                                                                    \
  do {                                                                                                \
    tandem_status s_ = (call);                                                                        \
    if (s_ != TANDEM_OK) {                                                                            \
      fprintf(stderr, "consumer: %s: %s: %s\n", #call, tandem_status_name(s_), tandem_last_error()); \
      goto done;                                                                                      \
    }                                                                                                 \
  } while (0)

#define FAIL_IF(cond, ...)                         \
  do {                                             \
    if (cond) {                                    \
      fprintf(stderr, "consumer: " __VA_ARGS__);   \
      goto done;                                   \
    }                                              \
  } while (0)

enum { BATCH = 4, ZEROS = 2 }; /* the first ZEROS samples are all zero, the others random */

int main(int argc, char** argv) {
  int status = 1;
  tandem_runtime* runtime = NULL;
  tandem_model* model = NULL;
  float* input = NULL;
  char want[32];

  if (argc != 2) {
    fprintf(stderr, "usage: consumer <model file>\n");
    return 2;
  }
  FAIL_IF(tandem_abi_version() != TANDEM_ABI_VERSION, "library ABI %u, header ABI %d\n",
          (unsigned)tandem_abi_version(), TANDEM_ABI_VERSION);
  snprintf(want, sizeof want, "%d.%d.%d", TANDEM_VERSION_MAJOR, TANDEM_VERSION_MINOR, TANDEM_VERSION_PATCH);
  FAIL_IF(strcmp(tandem_version(), want) != 0, "library version %s, header %s\n", tandem_version(), want);
  printf("tandem %s, ABI %u\n", tandem_version(), (unsigned)tandem_abi_version());

  tandem_runtime_options options;
  tandem_runtime_options_init(&options);
  options.devices = "cpu:0";
  CALL(tandem_runtime_create(&options, &runtime));
  size_t devices = 0;
  char name[32];
  CALL(tandem_runtime_device_count(runtime, &devices));
  FAIL_IF(devices != 1, "%zu devices allowed, want 1 (cpu:0)\n", devices);
  CALL(tandem_runtime_device_name(runtime, 0, name, sizeof name, NULL));
  FAIL_IF(strcmp(name, "cpu:0") != 0, "device %s, want cpu:0\n", name);

  CALL(tandem_model_load(runtime, argv[1], NULL, &model));
  tandem_model_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  CALL(tandem_model_get_info(model, &info));
  printf("model %s on %s: input %lldx%lldx%lld, %lld classes, %lld parameters, sparsity %.2f, %llu bytes\n",
         info.name, info.device, (long long)info.input_channels, (long long)info.input_height,
         (long long)info.input_width, (long long)info.classes, (long long)info.parameters, info.sparsity,
         (unsigned long long)info.memory_bytes);
  FAIL_IF(strcmp(info.device, "cpu:0") != 0 || info.classes < 1, "unexpected model info\n");

  size_t pixels = (size_t)(info.input_channels * info.input_height * info.input_width);
  input = calloc(BATCH * pixels, sizeof *input);
  FAIL_IF(input == NULL, "out of memory\n");
  srand(42);
  for (size_t i = ZEROS * pixels; i < BATCH * pixels; ++i) input[i] = (float)rand() / (float)RAND_MAX;
  int32_t classes[BATCH];
  CALL(tandem_model_classify(model, input, BATCH, BATCH * pixels, classes, BATCH));
  printf("classes:");
  for (int i = 0; i < BATCH; ++i) {
    printf(" %d", (int)classes[i]);
    FAIL_IF(classes[i] < 0 || classes[i] >= info.classes, "\nclass %d out of range\n", (int)classes[i]);
  }
  printf("\n");
  FAIL_IF(classes[0] != classes[1], "two zero inputs classified differently\n");
  status = 0;
  printf("consumer: ok\n");

done:
  free(input);
  tandem_model_destroy(model);
  tandem_runtime_destroy(runtime);
  return status;
}
