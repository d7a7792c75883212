// Prepended to every program. Tensors arrive as (buffer, element offset) pairs: views into a
// larger buffer need no sub-buffer (whose offsets OpenCL requires to be aligned).
// No contraction into fused multiply-adds: results must round as the CPU's do.
#pragma OPENCL FP_CONTRACT OFF
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double acc_t;  // long sums, as the CPU sums them in double
#else
typedef float acc_t;  // devices without doubles sum in float
#endif
#define IN(T, n) global const T *n##_base, const ulong n##_off
#define OUT(T, n) global T *n##_base, const ulong n##_off
#define VIEW(n) (n##_base + n##_off)
