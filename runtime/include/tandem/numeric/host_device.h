// TANDEM_HD: __host__ __device__ under nvcc, so CUDA kernels run the very functions the CPU does;
// nothing elsewhere (the CPU build and HLS see plain C++).
#pragma once

#ifndef TANDEM_HD
#if defined(__CUDACC__)
#define TANDEM_HD __host__ __device__
#else
#define TANDEM_HD
#endif
#endif
