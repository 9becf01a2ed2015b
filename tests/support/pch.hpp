// tests/support/pch.hpp — the headers nearly every test program includes, precompiled once
// (CMake option CONTRA_PCH) and reused by every test program.
#pragma once
#include <doctest/doctest.h>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <contra/contra.hpp>
#include <contra/nn/nn.hpp>
#include <contra/optim/optim.hpp>
