// contra/core/config.hpp — version, host/device function marker, checks.
// defines: CONTRA_VERSION_*, CONTRA_HOST_DEVICE, CONTRA_CHECK, CONTRA_ASSERT
#pragma once

#define CONTRA_VERSION_MAJOR 0
#define CONTRA_VERSION_MINOR 1
#define CONTRA_VERSION_PATCH 0

#if defined(__CUDACC__)
#define CONTRA_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define CONTRA_HOST_DEVICE inline
#endif

#include "error.hpp"

// CONTRA_CHECK(cond, message parts...): always on; throws contra::Error naming the failed
// condition, the place, and the message (parts are streamed, so shapes print themselves).
#define CONTRA_CHECK(cond, ...)                                                             \
    do {                                                                                    \
        if (!(cond)) [[unlikely]]                                                           \
            ::contra::detail::fail(__FILE__, __LINE__, #cond, ::contra::detail::concat(__VA_ARGS__)); \
    } while (0)

// CONTRA_ASSERT: internal invariants, compiled out with NDEBUG.
#if defined(NDEBUG)
#define CONTRA_ASSERT(cond, ...) ((void)0)
#else
#define CONTRA_ASSERT(cond, ...) CONTRA_CHECK(cond, "internal: " __VA_OPT__(, ) __VA_ARGS__)
#endif
