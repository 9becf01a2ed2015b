// tests/support/pch.hpp — the headers nearly every test program includes, precompiled once
// (CMake option CONTRA_PCH) and reused by every test program; without CONTRA_PCH it is included
// first in every test source all the same, since it declares the models compiled once.
#pragma once
#include <doctest/doctest.h>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <contra/contra.hpp>

#include "models.hpp"  // the models compiled once, in contra_test_models
