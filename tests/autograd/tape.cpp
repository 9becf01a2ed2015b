// Tape semantics: recording only when active and needed, no_grad, accumulation, reset.
#include <doctest/doctest.h>

#include "../support/compare.hpp"

using namespace contra;

TEST_CASE("ops record only under an active tape, and only when an input needs a gradient") {
    auto x = leaf<cpu>(Tensor<double>::from({2}, {1, 2}));
    auto y = ad::exp(x);
    CHECK_FALSE(y.requires_grad());  // no tape
    Tape tape;
    Tape::Active active(tape);
    auto constant = Var<double, cpu>(Tensor<double>::from({2}, {3, 4}));
    CHECK_FALSE(ad::exp(constant).requires_grad());
    CHECK(tape.size() == 0);
    auto z = ad::exp(x);
    CHECK(z.requires_grad());
    CHECK(tape.size() == 1);
    {
        NoGrad off;
        CHECK_FALSE(ad::exp(x).requires_grad());
    }
    CHECK(tape.size() == 1);
}

TEST_CASE("backward accumulates into leaves across two backward passes until zero_grad") {
    auto x = leaf<cpu>(Tensor<double>::from({3}, {1, 2, 3}));
    Tape tape;
    Tape::Active active(tape);
    backward(ad::sum(ad::square(x)));
    CHECK(x.grad().to_vector() == std::vector<double>{2, 4, 6});
    tape.reset();
    backward(ad::sum(x));
    CHECK(x.grad().to_vector() == std::vector<double>{3, 5, 7});
    tape.reset();
    x.slot()->zero_grad();
    CHECK_FALSE(x.has_grad());
    backward(ad::sum(x));
    CHECK(x.grad().to_vector() == std::vector<double>{1, 1, 1});
}

TEST_CASE("a gradient passed through by handle is never written twice") {
    // y = a + b sends the same gradient tensor to a and b; a's second use must not corrupt b.
    Tape tape;
    Tape::Active active(tape);
    auto a = leaf<cpu>(Tensor<double>::from({2}, {1, 1}));
    auto b = leaf<cpu>(Tensor<double>::from({2}, {1, 1}));
    auto mid = ad::add(a, b);             // dmid flows to a and b
    auto out = ad::add(ad::mul(mid, mid), mid);
    backward(ad::sum(out));
    CHECK(a.grad().to_vector() == std::vector<double>{5, 5});  // 2·mid + 1 with mid = 2
    CHECK(b.grad().to_vector() == std::vector<double>{5, 5});
}

TEST_CASE("backward needs a tape and a one-element loss; errors say so") {
    auto x = leaf<cpu>(Tensor<double>::from({2}, {1, 2}));
    CHECK_THROWS_WITH_AS(backward(ad::sum(x)), doctest::Contains("no active tape"), Error);
    Tape tape;
    Tape::Active active(tape);
    CHECK_THROWS_WITH_AS(backward(ad::exp(x)), doctest::Contains("one element"), Error);
}

TEST_CASE("after reset, step tensors are gone but leaf gradients stay") {
    auto x = leaf<cpu>(Tensor<double>::from({2}, {1, 2}));
    Tape tape;
    Tape::Active active(tape);
    auto y = ad::exp(x);
    backward(ad::sum(y));
    tape.reset();
    CHECK_THROWS_AS(y.value().data(), Error);
    CHECK(x.grad()[1] == doctest::Approx(std::exp(2.0)));
}
