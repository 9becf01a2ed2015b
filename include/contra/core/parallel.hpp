// contra/core/parallel.hpp — how the CPU backend splits work over the machine's cores.
// defines: contra::num_threads, contra::set_num_threads, contra::parallel_for
#pragma once
#include <algorithm>
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace contra {

inline int num_threads() {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
}

// set_num_threads(n): the threads the cpu backend (and Eigen's GEMM) may use.
inline void set_num_threads(int n) {
#if defined(_OPENMP)
    omp_set_num_threads(std::max(1, n));
#else
    (void)n;
#endif
}

// parallel_for(n, cost, f): f(begin, end) over [0, n) split into contiguous ranges, one per
// thread, when the total work (n * cost_per_item, in rough element-operations) is worth it.
template <class F>
void parallel_for(std::int64_t n, std::int64_t cost_per_item, F&& f) {
    constexpr std::int64_t kMinWorkPerThread = 32768;
#if defined(_OPENMP)
    const int threads = int(std::min<std::int64_t>(num_threads(), std::max<std::int64_t>(1, n * cost_per_item / kMinWorkPerThread)));
    if (threads > 1 && n > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
        {
            const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
            const std::int64_t begin = n * t / nt, end = n * (t + 1) / nt;
            if (begin < end) f(begin, end);
        }
        return;
    }
#else
    (void)cost_per_item;
#endif
    if (n > 0) f(std::int64_t(0), n);
}

}  // namespace contra
