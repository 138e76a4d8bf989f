// segsam's CUDA kernels: one translation unit, compiled by nvcc into kernels/segsam.fatbin (SASS for sm_80 and
// sm_90, PTX for compute_80) and loaded by dev.segsam.kernels.JCudaGpu with cuModuleLoadData.
// Build: kernels/build-fatbin.sh (run by Maven where /usr/local/cuda/bin/nvcc exists).
#include "common.cuh"
#include "elementwise.cuh"
#include "norm.cuh"
#include "layout.cuh"
#include "gemm.cuh"
#include "attention.cuh"
#include "backward.cuh"
#include "optimizer.cuh"
