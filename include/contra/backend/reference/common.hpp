// contra/backend/reference/common.hpp — what the reference kernels share.
// The reference backend is the oracle: plain loops, one output element at a time, every sum in
// double. It is never fast and always obvious; every other backend is tested against it.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../ops.hpp"
#include "../scalar_math.hpp"

namespace contra::ref {
using R = double;  // what every reference kernel computes in
template <class T> using HTensor = Tensor<T, cpu>;
using std::int64_t;
}  // namespace contra::ref
