// contra/cuda.hpp — the umbrella header for CUDA translation units (.cu files, compiled by nvcc):
// everything contra/contra.hpp has, plus the cuda backend. Link with contra::cuda.
#pragma once
#if !defined(__CUDACC__)
#error "contra/cuda.hpp is for CUDA sources compiled by nvcc; CPU programs include contra/contra.hpp"
#endif

// Eigen 3.4 marks defaulted special members __host__ __device__, which nvcc reports (20012) but
// handles correctly; the pragma keeps that noise out of every CUDA build.
#pragma nv_diagnostic push
#pragma nv_diag_suppress 20012
#include "contra.hpp"  // defines: Tensor, ops::*, Kernels<reference>, Kernels<cpu>, autograd
#pragma nv_diagnostic pop

#include "backend/cuda/common.cuh"   // defines: CONTRA_CUDA_CHECK, CONTRA_CUBLAS_CHECK, launch geometry
#include "backend/cuda/context.cuh"  // defines: cu::current_stream, StreamGuard, Stream, cublas_handle
#include "backend/cuda/memory.cuh"   // defines: memory_resource<cuda>, cu::memory_stats, cu::empty_cache
#include "backend/cuda/backend.cuh"  // defines: Kernels<cuda>
