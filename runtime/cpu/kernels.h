// CPU kernels, one file per op family under ops/ (named like the descriptors in runtime/src/ops).
#pragma once

#include "tandem/backend.h"
#include "tandem/ops.h"

namespace tandem::cpu {

void gemm(const OpCall& c);
void conv2d_forward(const OpCall& c);
void conv2d_backward_data(const OpCall& c);
void conv2d_backward_weights(const OpCall& c);
void bias_add(const OpCall& c);
void bias_backward(const OpCall& c);
void relu_forward(const OpCall& c);
void relu_backward(const OpCall& c);
void maxpool2d_forward(const OpCall& c);
void maxpool2d_backward(const OpCall& c);
void softmax_xent_forward(const OpCall& c);
void softmax_xent_backward(const OpCall& c);
void axpy(const OpCall& c);
void scale(const OpCall& c);
void add(const OpCall& c);
void cast(const OpCall& c);

/// Registers every kernel above on the device.
void register_kernels(DeviceImpl& device);

/// Loops shorter than this run on one thread: waking the team costs more than it saves.
inline constexpr int64_t parallel_threshold = 1 << 15;

}  // namespace tandem::cpu
