// contra/core/device.hpp — where memory lives and which backend computes.
// defines: contra::cpu, contra::cuda, contra::reference, device_of<Backend>, the Backend concept
#pragma once
#include <concepts>
#include <type_traits>

namespace contra {

// Device tags name memory. Backend tags name an implementation of the op contract
// (backend/ops.hpp). The two fast backends share their device's name:
//   reference  plain loops over host memory: the oracle every other backend is tested against
//   cpu        Eigen over host memory, multithreaded with OpenMP
//   cuda       CUDA kernels, cuBLAS(Lt) over device memory (nvcc translation units only)
struct cpu {};
struct cuda {};
struct reference {};

template <class B> struct backend_traits;
template <> struct backend_traits<reference> { using device = cpu; static constexpr const char* name = "reference"; };
template <> struct backend_traits<cpu> { using device = cpu; static constexpr const char* name = "cpu"; };
template <> struct backend_traits<cuda> { using device = cuda; static constexpr const char* name = "cuda"; };

template <class B> using device_of = typename backend_traits<B>::device;

template <class B>
concept Backend = requires { typename backend_traits<B>::device; };

template <class D>
concept Device = std::same_as<D, cpu> || std::same_as<D, cuda>;

}  // namespace contra
