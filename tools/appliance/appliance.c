/* An appliance's use of Tandem, in C through tandem.h alone: load a pruned Fashion-MNIST CNN on the
 * best device allowed within a fixed memory budget, then classify images one at a time as they
 * would arrive from a camera, reporting start-up time, per-image latency and accuracy.
 *   appliance MODEL [--data DIR] [--images N] [--devices LIST] [--memory-mib M]
 *   MODEL         a model file (`tandem train --export`)
 *   --data DIR    Fashion-MNIST's t10k files (default /usr/share/datasets/fashion-mnist)
 *   --images N    how many test images to classify (default 1000)
 *   --devices L   devices allowed, in order of preference (default "best": fastest first)
 *   --memory-mib  the model's memory budget on its device (default 16)
 * Exit status 0 when every call succeeded; the last line is a JSON summary.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, getrusage under strict C11 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "tandem/tandem.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* An IDX file of unsigned bytes (gzip or plain): its dimensions and data, or NULL with a reason.
 * Only a regular file is read (a FIFO would block, a device never end), and no more than its
 * header promises, which must be at most 1 GiB. */
static unsigned char* read_idx(const char* path, int rank, long dims[3], const char** why) {
  const int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return *why = "cannot open", NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return *why = "not a regular file", NULL;
  }
  gzFile f = gzdopen(fd, "rb");
  if (f == NULL) {
    close(fd);
    return *why = "cannot open", NULL;
  }
  unsigned char head[16];
  const int want = 4 + 4 * rank;
  unsigned char* data = NULL;
  if (gzread(f, head, want) != want || head[0] != 0 || head[1] != 0 || head[2] != 8 || head[3] != rank) {
    *why = "not an IDX file of unsigned bytes of the expected rank";
  } else {
    long long total = 1;
    for (int i = 0; i < rank; ++i) {
      dims[i] =
          (long)head[4 + 4 * i] << 24 | (long)head[5 + 4 * i] << 16 | (long)head[6 + 4 * i] << 8 | head[7 + 4 * i];
      total *= dims[i];
      if (total > (1LL << 30)) break;
    }
    if (total > (1LL << 30)) {
      *why = "its header promises more than 1 GiB";
    } else if ((data = malloc(total > 0 ? (size_t)total : 1)) == NULL) {
      *why = "out of memory";
    } else if (gzread(f, data, (unsigned)total) != (int)total) {
      *why = "truncated";
      free(data);
      data = NULL;
    }
  }
  gzclose(f);
  return data;
}

static int by_value(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* A failed call says why and ends the run through `done`, which releases what is held. */
#define TRY(call)                                                                          \
  do {                                                                                     \
    tandem_status s_ = (call);                                                             \
    if (s_ != TANDEM_OK) {                                                                 \
      fprintf(stderr, "appliance: %s: %s\n", tandem_status_name(s_), tandem_last_error()); \
      goto done;                                                                           \
    }                                                                                      \
  } while (0)

int main(int argc, char** argv) {
  const double start = now();
  const char *model_path = NULL, *dir = "/usr/share/datasets/fashion-mnist", *devices = "best";
  long images = 1000;
  double budget_mib = 16;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
      dir = argv[++i];
    else if (strcmp(argv[i], "--images") == 0 && i + 1 < argc) {
      char* end = NULL;
      const char* text = argv[++i];
      errno = 0;
      images = strtol(text, &end, 10);
      if (*text == '\0' || *end != '\0' || errno != 0 || images < 1 || images > 100000000) {
        fprintf(stderr, "appliance: --images %s: expected a whole number in [1, 100000000]\n", text);
        return 2;
      }
    }
    else if (strcmp(argv[i], "--devices") == 0 && i + 1 < argc)
      devices = argv[++i];
    else if (strcmp(argv[i], "--memory-mib") == 0 && i + 1 < argc) {
      char* end = NULL;
      const char* text = argv[++i];
      budget_mib = strtod(text, &end);
      /* isfinite and the bound first: the conversion to bytes below is undefined past uint64_t's range. */
      if (*text == '\0' || *end != '\0' || !isfinite(budget_mib) || budget_mib <= 0 || budget_mib > 1048576) {
        fprintf(stderr, "appliance: --memory-mib %s: expected a finite number in (0, 1048576]\n", text);
        return 2;
      }
    }
    else if (argv[i][0] != '-' && model_path == NULL)
      model_path = argv[i];
    else {
      fprintf(stderr, "usage: appliance MODEL [--data DIR] [--images N] [--devices LIST] [--memory-mib M]\n");
      return 2;
    }
  }
  if (model_path == NULL || images <= 0 || budget_mib <= 0) {
    fprintf(stderr, "usage: appliance MODEL [--data DIR] [--images N] [--devices LIST] [--memory-mib M]\n");
    return 2;
  }
  if (tandem_abi_version() != TANDEM_ABI_VERSION) {
    fprintf(stderr, "appliance: built for Tandem ABI %d, the library is ABI %u\n", TANDEM_ABI_VERSION,
            tandem_abi_version());
    return 1;
  }

  /* Start-up: the runtime, then the model on the first allowed device that holds it. */
  int status = 1;
  tandem_runtime* rt = NULL;
  tandem_model* model = NULL;
  unsigned char *pixels = NULL, *labels = NULL;
  float* x = NULL;
  double* latency = NULL;
  tandem_runtime_options options;
  tandem_runtime_options_init(&options);
  options.devices = devices;
  options.memory_limit_bytes = (uint64_t)(budget_mib * 1024 * 1024);
  TRY(tandem_runtime_create(&options, &rt));
  TRY(tandem_model_load(rt, model_path, NULL, &model));
  const double ready = now();
  tandem_model_info info;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  TRY(tandem_model_get_info(model, &info));
  printf("Tandem %s: %s on %s, %lld parameters (%.0f%% zero), %.2f MiB of %.0f MiB budget\n", tandem_version(),
         info.name, info.device, (long long)info.parameters, 100 * info.sparsity,
         (double)info.memory_bytes / (1024.0 * 1024.0), budget_mib);
  printf("start-up: %.1f ms (runtime, devices, model load and checks)\n", 1e3 * (ready - start));

  /* The images, as a camera would deliver them: bytes, scaled to [0, 1]. */
  char path[4096];
  long dims[3], ldims[3];
  const char* why = "";
  snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
  pixels = read_idx(path, 3, dims, &why);
  if (pixels == NULL) {
    fprintf(stderr, "appliance: %s: %s\n", path, why);
    goto done;
  }
  snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", dir);
  labels = read_idx(path, 1, ldims, &why);
  if (labels == NULL) {
    fprintf(stderr, "appliance: %s: %s\n", path, why);
    goto done;
  }
  const long size = info.input_channels * info.input_height * info.input_width;
  if (dims[1] * dims[2] != size || ldims[0] != dims[0]) {
    fprintf(stderr, "appliance: the images are %ldx%ld, the model takes %ld values\n", dims[1], dims[2], size);
    goto done;
  }
  if (dims[0] == 0) {
    fprintf(stderr, "appliance: %s/t10k-images-idx3-ubyte.gz holds no images\n", dir);
    goto done;
  }
  if (images > dims[0]) images = dims[0];

  x = malloc(sizeof(float) * (size_t)size);
  latency = malloc(sizeof(double) * (size_t)images);
  if (x == NULL || latency == NULL) {
    fprintf(stderr, "appliance: out of memory\n");
    goto done;
  }
  long correct = 0;
  for (long i = 0; i < images; ++i) {
    for (long k = 0; k < size; ++k) x[k] = pixels[i * size + k] * (1.0f / 255.0f);
    int32_t cls = -1;
    const double t0 = now();
    TRY(tandem_model_classify(model, x, 1, (size_t)size, &cls, 1));
    latency[i] = now() - t0;
    correct += cls == labels[i];
  }
  qsort(latency, (size_t)images, sizeof *latency, by_value);
  const double p50 = latency[images / 2], p99 = latency[(images * 99) / 100], best = latency[0];
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  /* On a simulated device the clock measures the simulator: say so, never pass it off as the device's. */
  const char* clock = info.device_modeled ? " (wall time of the C simulation, not device latency)" : "";
  printf("classified %ld images: accuracy %.2f%%, latency per image median %.1f µs, p99 %.1f µs, min %.1f µs%s\n",
         images, 100.0 * (double)correct / (double)images, 1e6 * p50, 1e6 * p99, 1e6 * best, clock);
  printf("peak resident memory: %.1f MiB\n", usage.ru_maxrss / 1024.0);
  printf(
      "{\"device\": \"%s\", \"simulated\": %s, \"startup_ms\": %.3f, \"images\": %ld, \"accuracy\": %.4f, "
      "\"latency_us\": {\"p50\": %.2f, "
      "\"p99\": %.2f, \"min\": %.2f}, \"model_bytes\": %llu, \"budget_bytes\": %llu, \"max_rss_kib\": %ld}\n",
      info.device, info.device_modeled ? "true" : "false", 1e3 * (ready - start), images,
      (double)correct / (double)images, 1e6 * p50, 1e6 * p99, 1e6 * best, (unsigned long long)info.memory_bytes,
      (unsigned long long)options.memory_limit_bytes, usage.ru_maxrss);
  status = 0;
done:
  free(x);
  free(latency);
  free(pixels);
  free(labels);
  tandem_model_destroy(model);
  tandem_runtime_destroy(rt);
  return status;
}
