// contra/backend/cuda/context.cuh — the per-thread CUDA context: current stream, cuBLAS handle,
// cuBLAS workspace; whether a GPU is there at all.
// defines: contra::cu::{device_count, cuda_available, current_stream, set_current_stream,
//          StreamGuard, Stream, synchronize, cublas_handle, lt_context, kCublasWorkspaceBytes,
//          FloatMath, float_math, set_float_math, FloatMathGuard}
//
// How the CUDA backend is organised (and the rules later kernels follow)
//
//   Streams. Every launcher queues its work on current_stream(), a per-thread setting that starts
//     as the default stream; StreamGuard switches it for a scope. No launcher synchronises: the
//     host only waits where a value comes back to it (a copy to host, a reduction returning a
//     double). Device-to-host and host-to-device copies return once the copy is done, so host
//     buffers may be reused or freed right away.
//
//   Memory. Device tensors come from a caching allocator (memory.cuh): freed blocks go back to a
//     free list of their size class and stream, and are handed out again on that same stream only,
//     which stream order makes safe without any event. A tensor that is used on a stream other
//     than the one it was allocated on must be synchronised before it is dropped.
//
//   Workspaces. cuBLAS gets a fixed workspace per thread (kCublasWorkspaceBytes), attached again
//     (after a device synchronisation) whenever the thread's handle moves to another stream.
//     Activations, gradients and the scratch tensors of a training step come from the tape's
//     per-step device arena (Tape::arena<cuda>(), which step_tensor<T, cuda> uses), so a steady
//     training loop calls no allocator after its first step. Launchers whose op signature has no
//     room for scratch memory (partial sums, the attention backward's ds, im2col columns, sort
//     buffers) take it with cu::scratch from the caching allocator on the current stream: after
//     the first step of a steady loop those requests are all cache hits.
//
//   Precision. Kernels read float, double or bf16 and compute in acc_t<T>: bf16 tensors are
//     computed on in float and rounded to bf16 once, on store; cuBLAS GEMMs on bf16 accumulate in
//     fp32 (CUBLAS_COMPUTE_32F), float GEMMs in strict fp32 (no TF32) unless the process asks for
//     TF32 (set_float_math), double in fp64.
//
//   Devices. One GPU per process: the device current when a thread first uses contra (select it
//     with cudaSetDevice before that).
#pragma once
#include <atomic>
#include <cstddef>

#include "common.cuh"
#include "faults.cuh"

namespace contra::cu {

// How float GEMMs compute: strict fp32 (the default, and the checking path), or TF32 tensor cores
// (inputs rounded to 10 mantissa bits, fp32 accumulation: PyTorch's allow_tf32). Process-wide;
// double and bf16 GEMMs are not affected.
enum class FloatMath { strict, tf32 };

namespace detail {
inline std::atomic<FloatMath>& float_math_setting() {
    static std::atomic<FloatMath> setting{FloatMath::strict};
    return setting;
}
}  // namespace detail

inline FloatMath float_math() { return detail::float_math_setting().load(std::memory_order_relaxed); }
inline void set_float_math(FloatMath math) { detail::float_math_setting().store(math, std::memory_order_relaxed); }

// FloatMathGuard: `math` for the guard's scope, then the previous setting.
class FloatMathGuard {
public:
    explicit FloatMathGuard(FloatMath math) : previous_(float_math()) { set_float_math(math); }
    ~FloatMathGuard() { set_float_math(previous_); }
    FloatMathGuard(const FloatMathGuard&) = delete;
    FloatMathGuard& operator=(const FloatMathGuard&) = delete;

private:
    FloatMath previous_;
};

// device_count(): how many CUDA devices this process can use; 0 when there are none, when no
// driver is installed, or when the driver is too old for this runtime.
inline int device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();  // "no device" is an answer here, not an error to report later
        return 0;
    }
    return count;
}

inline bool cuda_available() { return device_count() > 0; }

// 32 MiB: what the cuBLAS documentation recommends for Hopper (4 MiB suffices before it).
inline constexpr std::size_t kCublasWorkspaceBytes = std::size_t(32) << 20;

namespace detail {

// What one host thread holds. Destroyed when the thread ends (for the main thread: at exit, before
// the CUDA runtime shuts down); failures while tearing down are ignored on purpose.
struct ThreadContext {
    cudaStream_t stream = nullptr;       // the current stream; nullptr is the default stream
    cublasHandle_t blas = nullptr;       // created on first use
    cudaStream_t blas_stream = nullptr;  // the stream `blas` is bound to
    void* workspace = nullptr;           // kCublasWorkspaceBytes of device memory, for cuBLAS and cuBLASLt
    cublasLtHandle_t lt = nullptr;       // cuBLASLt, created on first use (it keeps no stream)

    ThreadContext() = default;
    ThreadContext(const ThreadContext&) = delete;
    ThreadContext& operator=(const ThreadContext&) = delete;
    ~ThreadContext() {
        if (blas) (void)cublasDestroy(blas);
        if (lt) (void)cublasLtDestroy(lt);
        if (workspace) (void)cudaFree(workspace);
    }
};

inline ThreadContext& thread_context() {
    thread_local ThreadContext context;
    return context;
}

}  // namespace detail

// The stream this thread's launchers queue on.
inline cudaStream_t current_stream() { return detail::thread_context().stream; }
inline void set_current_stream(cudaStream_t stream) { detail::thread_context().stream = stream; }

// StreamGuard: makes `stream` current for the guard's scope, then restores the previous one.
class StreamGuard {
public:
    explicit StreamGuard(cudaStream_t stream) : previous_(current_stream()) { set_current_stream(stream); }
    ~StreamGuard() { set_current_stream(previous_); }
    StreamGuard(const StreamGuard&) = delete;
    StreamGuard& operator=(const StreamGuard&) = delete;

private:
    cudaStream_t previous_;
};

// Stream: an owned, non-blocking CUDA stream (it does not wait for the default stream).
//   requires: no tensor allocated on this stream outlives it.
class Stream {
public:
    Stream() { CONTRA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
    ~Stream() {
        if (stream_) (void)cudaStreamDestroy(stream_);
    }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    cudaStream_t get() const { return stream_; }
    void synchronize() const {
        CONTRA_CUDA_CHECK(cudaStreamSynchronize(stream_));
        raise_device_fault(stream_);
    }

private:
    cudaStream_t stream_ = nullptr;
};

// synchronize(): waits until everything queued on the current stream has finished, then raises
// a fault a kernel recorded (faults.cuh).
inline void synchronize() {
    CONTRA_CUDA_CHECK(cudaStreamSynchronize(current_stream()));
    raise_device_fault(current_stream());
}

// cublas_handle(): this thread's cuBLAS handle, bound to the current stream, with its workspace.
inline cublasHandle_t cublas_handle() {
    detail::ThreadContext& c = detail::thread_context();
    if (c.blas && c.blas_stream == c.stream) return c.blas;
    if (!c.blas) {
        if (!c.workspace) CONTRA_CUDA_CHECK(cudaMalloc(&c.workspace, kCublasWorkspaceBytes));
        CONTRA_CUBLAS_CHECK(cublasCreate(&c.blas));
    } else {
        // One workspace serves every stream this thread uses, so work queued on the old stream
        // must finish before the new stream may write into it. The old stream may already be
        // destroyed, hence the whole device is waited for. Switching is rare (a StreamGuard per
        // phase); to overlap GEMMs on two streams, drive each stream from its own thread, which
        // has its own handle and workspace.
        CONTRA_CUDA_CHECK(cudaDeviceSynchronize());
    }
    // Setting the stream also detaches the workspace, so it is attached again after.
    CONTRA_CUBLAS_CHECK(cublasSetStream(c.blas, c.stream));
    CONTRA_CUBLAS_CHECK(cublasSetWorkspace(c.blas, c.workspace, kCublasWorkspaceBytes));
    c.blas_stream = c.stream;
    return c.blas;
}

// A cuBLASLt matmul's context: this thread's cuBLASLt handle and the workspace it shares with the
// cuBLAS handle, safe to use on the current stream (the same rule as cublas_handle's).
struct LtContext {
    cublasLtHandle_t handle;
    void* workspace;
    std::size_t workspace_bytes;
};
inline LtContext lt_context() {
    (void)cublas_handle();  // the workspace exists and belongs to the current stream
    detail::ThreadContext& c = detail::thread_context();
    if (!c.lt) CONTRA_CUBLAS_CHECK(cublasLtCreate(&c.lt));
    return {c.lt, c.workspace, kCublasWorkspaceBytes};
}

}  // namespace contra::cu
