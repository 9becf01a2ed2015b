// contra/backend/cuda/optim.cuh — the AdamW update (torch.optim.AdamW), one thread per element,
// computed in double whatever T is and rounded once on store, as the reference does; and its
// mixed-precision form, fp32 master weights for a bf16 parameter.
// adamw_group: every parameter of a model in one launch. Its blocks walk a table of chunks (a
// tensor and a first element) over a table of tensors; both tables stay on the device while the
// same tensors come back, as they do every step of a training loop, so a step copies nothing.
// The gated form (ops::gate_step, count_update, the gated adamw_group) reads whether to update, the
// gradient factor and the step count on the device, so a training step need not wait for it.
// defines: contra::cu::Optim (the optim part of Kernels<cuda>)
#pragma once
#include <cmath>
#include <cstring>
#include <list>
#include <mutex>
#include <vector>

#include "../ops.hpp"
#include "../scalar_math.hpp"
#include "common.cuh"
#include "context.cuh"
#include "memory.cuh"

namespace contra::cu {

// ─── kernels ──────────────────────────────────────────────────────────────────────────────────

// The step's constants, formed once on the host.
struct AdamWConstants {
    double decay;      // 1 − lr·weight_decay
    double beta1, beta2;
    double step_size;  // lr / (1 − β1^t)
    double bc2_sqrt;   // sqrt(1 − β2^t)
    double eps;
};

// One element's update: g the gradient, p the parameter (in: before, out: after), m and v its moments.
__device__ inline void adamw_element(const AdamWConstants& k, double g, double& p, double& m, double& v) {
    p *= k.decay;
    m = k.beta1 * m + (1.0 - k.beta1) * g;
    v = k.beta2 * v + (1.0 - k.beta2) * g * g;
    p -= k.step_size * m / (sqrt(v) / k.bc2_sqrt + k.eps);
}

// Element i of a parameter that is its own master: read, update, round once on store.
template <class T>
__device__ __forceinline__ void adamw_at(Index64 i, const AdamWConstants& k, double g, T* param, T* m, T* v) {
    double p = double(acc_t<T>(param[i])), mi = double(acc_t<T>(m[i])), vi = double(acc_t<T>(v[i]));
    adamw_element(k, g, p, mi, vi);
    param[i] = T(acc_t<T>(p));
    m[i] = T(acc_t<T>(mi));
    v[i] = T(acc_t<T>(vi));
}

// Element i of a 16-bit parameter T with its master A = acc_t<T> (float) and moments in A. A
// parameter that no longer is its master rounded was changed outside the optimizer: the master
// takes its value first.
template <class A, class T>
__device__ __forceinline__ void adamw_master_at(Index64 i, const AdamWConstants& k, T grad, A* master, T* param, A* m,
                                                A* v) {
    const T current = param[i];
    A start = master[i];
    if (T(start).bits != current.bits) start = A(current);
    double p = double(start), mi = double(m[i]), vi = double(v[i]);
    adamw_element(k, double(A(grad)), p, mi, vi);
    const A updated = A(p);
    master[i] = updated;
    param[i] = T(updated);
    m[i] = A(mi);
    v[i] = A(vi);
}

template <class T>
__global__ void adamw_kernel(Index64 n, AdamWConstants k, T* param, const T* grad, T* m, T* v) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) adamw_at(i, k, double(acc_t<T>(grad[i])), param, m, v);
}

template <class A, class T>
__global__ void adamw_master_kernel(Index64 n, AdamWConstants k, A* master, T* param, const T* grad, A* m, A* v) {
    for (Index64 i = first_index(); i < n; i += grid_stride()) adamw_master_at(i, k, grad[i], master, param, m, v);
}

// A tensor of a group update as the kernel reads it (master null: the parameter is its own master).
struct AdamWGroupTensor {
    void* param;
    const void* grad;
    void* m;
    void* v;
    void* master;
    Index64 n;
    Index64 decays;  // 1: the step's weight decay applies; 0: none (an integer: the table has no padding)
};
// kAdamWChunk elements of one tensor, from `start`: what a block takes at a time.
struct AdamWGroupChunk {
    Index64 tensor, start;
};
inline constexpr Index64 kAdamWChunk = 8 * kBlock;

// Every chunk of every tensor: g = T(grad_scale·grad) when `scale` (ops::affine's arithmetic),
// then the tensor's update; k.decay is the step's 1 − lr·weight_decay, for the tensors that decay.
// kGated: the step is decided on the device (ops::gate_step): nothing changes when gate[0] is 0;
// otherwise grad_scale is gate[1], and the bias corrections come from steps[0] (k then holds
// step_size = lr and bc2_sqrt = 1).
template <class T, bool kGated = false>
__global__ void adamw_group_kernel(const AdamWGroupTensor* tensors, const AdamWGroupChunk* chunks, Index64 chunk_count,
                                   AdamWConstants k, acc_t<T> grad_scale, bool scale, const double* gate,
                                   const double* steps) {
    using A = acc_t<T>;
    if constexpr (kGated) {
        if (gate[0] == 0.0) return;
        const double t = steps[0];
        k.step_size /= 1.0 - pow(k.beta1, t);
        k.bc2_sqrt = sqrt(1.0 - pow(k.beta2, t));
        grad_scale = A(gate[1]);
        scale = grad_scale != A(1);
    }
    for (Index64 c = blockIdx.x; c < chunk_count; c += gridDim.x) {
        const AdamWGroupChunk chunk = chunks[c];
        const AdamWGroupTensor t = tensors[chunk.tensor];
        AdamWConstants own = k;
        if (!t.decays) own.decay = 1.0;  // 1 − lr·0
        const Index64 end = min(t.n, chunk.start + kAdamWChunk);
        const T* grad = static_cast<const T*>(t.grad);
        for (Index64 i = chunk.start + threadIdx.x; i < end; i += blockDim.x) {
            const T g = scale ? T(grad_scale * A(grad[i]) + A(0)) : grad[i];
            if constexpr (std::is_same_v<T, A>)
                adamw_at(i, own, double(g), static_cast<T*>(t.param), static_cast<T*>(t.m), static_cast<T*>(t.v));
            else
                adamw_master_at(i, own, g, static_cast<A*>(t.master), static_cast<T*>(t.param), static_cast<A*>(t.m),
                                static_cast<A*>(t.v));
        }
    }
}

// ops::gate_step on one thread.
template <class L>
__global__ void gate_step_kernel(const L* loss, const double* sum_squares, double max_norm, double* gate) {
    scalar::gate_step(double(acc_t<L>(loss[0])), sum_squares[0], max_norm, gate);
}

// steps[0] += gate[0], on one thread.
__global__ inline void count_update_kernel(const double* gate, double* steps) { steps[0] += gate[0]; }

// ─── launchers ────────────────────────────────────────────────────────────────────────────────

inline AdamWConstants adamw_constants(const ops::AdamWStep& h) {
    const double bc1 = 1.0 - std::pow(h.beta1, double(h.step)), bc2 = 1.0 - std::pow(h.beta2, double(h.step));
    return {1.0 - h.lr * h.weight_decay, h.beta1, h.beta2, h.lr / bc1, std::sqrt(bc2), h.eps};
}

template <class T>
void launch_adamw(cudaStream_t stream, Index64 n, const ops::AdamWStep& h, T* param, const T* grad, T* m, T* v) {
    if (n == 0) return;
    adamw_kernel<T><<<grid_for(n), kBlock, 0, stream>>>(n, adamw_constants(h), param, grad, m, v);
    CONTRA_CUDA_CHECK_LAUNCH();
}

template <class A, class T>
void launch_adamw_master(cudaStream_t stream, Index64 n, const ops::AdamWStep& h, A* master, T* param, const T* grad, A* m,
                         A* v) {
    if (n == 0) return;
    adamw_master_kernel<A, T><<<grid_for(n), kBlock, 0, stream>>>(n, adamw_constants(h), master, param, grad, m, v);
    CONTRA_CUDA_CHECK_LAUNCH();
}

// The device copies of a group's tables. A training loop passes the same tensors every step, so the
// last few groups are kept, keyed by their tensor table, and a copy is made only when a group is new.
class AdamWGroupTables {
public:
    struct OnDevice {
        Tensor<AdamWGroupTensor, cuda> tensors;
        Tensor<AdamWGroupChunk, cuda> chunks;
    };
    static AdamWGroupTables& instance() {
        static AdamWGroupTables tables;
        return tables;
    }
    // The device tables for `tensors` (their chunks derived from the sizes).
    const OnDevice& find(const std::vector<AdamWGroupTensor>& tensors) {
        std::lock_guard lock(mutex_);
        for (auto it = kept_.begin(); it != kept_.end(); ++it)
            if (it->key.size() == tensors.size() &&
                std::memcmp(it->key.data(), tensors.data(), tensors.size() * sizeof(AdamWGroupTensor)) == 0) {
                kept_.splice(kept_.begin(), kept_, it);  // most recently used first
                return kept_.front().on_device;
            }
        std::vector<AdamWGroupChunk> chunks;
        for (std::size_t t = 0; t < tensors.size(); ++t)
            for (Index64 start = 0; start < tensors[t].n; start += kAdamWChunk) chunks.push_back({Index64(t), start});
        kept_.push_front({tensors, {device_copy(std::span<const AdamWGroupTensor>(tensors)),
                                    device_copy(std::span<const AdamWGroupChunk>(chunks))}});
        if (kept_.size() > kKept) kept_.pop_back();
        return kept_.front().on_device;
    }

private:
    static constexpr std::size_t kKept = 8;
    struct Kept {
        std::vector<AdamWGroupTensor> key;
        OnDevice on_device;
    };
    std::mutex mutex_;
    std::list<Kept> kept_;
};

// gate and steps null: the ungated update (h.step and grad_scale from the host).
template <class T>
void launch_adamw_group(cudaStream_t stream, const std::vector<AdamWGroupTensor>& tensors, const ops::AdamWStep& h,
                        acc_t<T> grad_scale, const double* gate = nullptr, const double* steps = nullptr) {
    if (tensors.empty()) return;
    const auto& tables = AdamWGroupTables::instance().find(tensors);
    const Index64 chunks = tables.chunks.numel();
    if (chunks == 0) return;
    const unsigned blocks = unsigned(std::min<Index64>(chunks, 65535));
    if (gate) {
        ops::AdamWStep first = h;  // step 1's constants have β^1 in them; the kernel puts in β^t
        first.step = 1;
        AdamWConstants k = adamw_constants(first);
        k.step_size = h.lr;
        k.bc2_sqrt = 1.0;
        adamw_group_kernel<T, true><<<blocks, kBlock, 0, stream>>>(tables.tensors.data(), tables.chunks.data(), chunks, k,
                                                                   acc_t<T>(1), false, gate, steps);
    } else {
        adamw_group_kernel<T><<<blocks, kBlock, 0, stream>>>(tables.tensors.data(), tables.chunks.data(), chunks,
                                                             adamw_constants(h), grad_scale, grad_scale != acc_t<T>(1),
                                                             nullptr, nullptr);
    }
    CONTRA_CUDA_CHECK_LAUNCH();
}

// ─── Kernels<cuda>: optimisation ──────────────────────────────────────────────────────────────

struct Optim {
    template <class T>
    static void adamw(Tensor<T, cuda>& param, const Tensor<T, cuda>& grad, Tensor<T, cuda>& m, Tensor<T, cuda>& v, ops::AdamWStep h) {
        require_cuda_type<T>();
        launch_adamw(current_stream(), param.numel(), h, param.data(), grad.data(), m.data(), v.data());
    }
    template <class A, class T>
    static void adamw_master(Tensor<A, cuda>& master, Tensor<T, cuda>& param, const Tensor<T, cuda>& grad, Tensor<A, cuda>& m,
                             Tensor<A, cuda>& v, ops::AdamWStep h) {
        require_cuda_type<T>();
        launch_adamw_master(current_stream(), param.numel(), h, master.data(), param.data(), grad.data(), m.data(), v.data());
    }
    template <class T>
    static void adamw_group(std::span<const ops::AdamWTensor<T, cuda>> group, ops::AdamWStep h, acc_t<T> grad_scale) {
        require_cuda_type<T>();
        launch_adamw_group<T>(current_stream(), group_table(group), h, grad_scale);
    }
    template <class T>
    static void adamw_group_gated(std::span<const ops::AdamWTensor<T, cuda>> group, ops::AdamWStep h,
                                  const Tensor<double, cuda>& gate, const Tensor<double, cuda>& steps) {
        require_cuda_type<T>();
        launch_adamw_group<T>(current_stream(), group_table(group), h, acc_t<T>(1), gate.data(), steps.data());
    }
    template <class L>
    static void gate_step(const Tensor<L, cuda>& loss, const Tensor<double, cuda>& sum_squares, double max_norm,
                          Tensor<double, cuda>& gate) {
        gate_step_kernel<L><<<1, 1, 0, current_stream()>>>(loss.data(), sum_squares.data(), max_norm, gate.data());
        CONTRA_CUDA_CHECK_LAUNCH();
    }
    static void count_update(const Tensor<double, cuda>& gate, Tensor<double, cuda>& steps) {
        count_update_kernel<<<1, 1, 0, current_stream()>>>(gate.data(), steps.data());
        CONTRA_CUDA_CHECK_LAUNCH();
    }

private:
    template <class T>
    static std::vector<AdamWGroupTensor> group_table(std::span<const ops::AdamWTensor<T, cuda>> group) {
        std::vector<AdamWGroupTensor> tensors;
        tensors.reserve(group.size());
        for (const auto& t : group)
            tensors.push_back({t.param->data(), t.grad->data(), t.m->data(), t.v->data(),
                               t.master ? t.master->data() : nullptr, t.param->numel(), t.decay ? 1 : 0});
        return tensors;
    }
};

}  // namespace contra::cu
