// contra/backend/cuda/backend.cuh — Kernels<cuda>: the CUDA backend, assembled.
// defines: contra::ops::Kernels<cuda>
//
// What runs on the GPU so far: gemm, gemm_batched (cuBLAS), binary, unary, affine, axpy, fill.
// Every other primitive of the op contract is declared below as not yet written: calling it on
// cuda tensors stops the build with a static_assert naming the primitive, never a silent fallback.
#pragma once
#include "common.cuh"
#include "context.cuh"
#include "elementwise.cuh"
#include "linalg.cuh"
#include "memory.cuh"

namespace contra::cu {

template <class... Args>
inline constexpr bool not_written_yet = false;  // false, but only once the call's arguments are known

#define CONTRA_CUDA_NOT_WRITTEN_YET(name)                                                          \
    template <class... Args>                                                                       \
    static void name(Args&&...) {                                                                  \
        static_assert(not_written_yet<Args...>,                                                    \
                      "ops::" #name " has no CUDA kernel yet (see contra/backend/cuda/backend.cuh)"); \
    }

// The primitives of backend/ops.hpp with no CUDA kernel yet.
struct NotWrittenYet {
    CONTRA_CUDA_NOT_WRITTEN_YET(sum)
    CONTRA_CUDA_NOT_WRITTEN_YET(transpose)
    CONTRA_CUDA_NOT_WRITTEN_YET(permute_0213)
    CONTRA_CUDA_NOT_WRITTEN_YET(concat_cols)
    CONTRA_CUDA_NOT_WRITTEN_YET(split_cols)
    CONTRA_CUDA_NOT_WRITTEN_YET(gather_rows)
    CONTRA_CUDA_NOT_WRITTEN_YET(scatter_add_rows)
    CONTRA_CUDA_NOT_WRITTEN_YET(im2patch)
    CONTRA_CUDA_NOT_WRITTEN_YET(patch2im)
    CONTRA_CUDA_NOT_WRITTEN_YET(softmax)
    CONTRA_CUDA_NOT_WRITTEN_YET(softmax_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(log_softmax)
    CONTRA_CUDA_NOT_WRITTEN_YET(log_softmax_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(attention)
    CONTRA_CUDA_NOT_WRITTEN_YET(attention_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(layer_norm)
    CONTRA_CUDA_NOT_WRITTEN_YET(layer_norm_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(l2_normalize)
    CONTRA_CUDA_NOT_WRITTEN_YET(l2_normalize_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(activation)
    CONTRA_CUDA_NOT_WRITTEN_YET(activation_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(cross_entropy)
    CONTRA_CUDA_NOT_WRITTEN_YET(cross_entropy_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(conv2d)
    CONTRA_CUDA_NOT_WRITTEN_YET(conv2d_backward_data)
    CONTRA_CUDA_NOT_WRITTEN_YET(conv2d_backward_weight)
    CONTRA_CUDA_NOT_WRITTEN_YET(batch_norm2d_statistics)
    CONTRA_CUDA_NOT_WRITTEN_YET(batch_norm2d)
    CONTRA_CUDA_NOT_WRITTEN_YET(batch_norm2d_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(avg_pool2d)
    CONTRA_CUDA_NOT_WRITTEN_YET(avg_pool2d_backward)
    CONTRA_CUDA_NOT_WRITTEN_YET(adamw)

    // reduce_all returns its value to the host.
    template <class... Args>
    static double reduce_all(Args&&...) {
        static_assert(not_written_yet<Args...>,
                      "ops::reduce_all has no CUDA kernel yet (see contra/backend/cuda/backend.cuh)");
        return 0;
    }
};

#undef CONTRA_CUDA_NOT_WRITTEN_YET

}  // namespace contra::cu

namespace contra::ops {
template <>
struct Kernels<cuda> : cu::Linalg, cu::Elementwise, cu::NotWrittenYet {};
}  // namespace contra::ops
