// The time budget sizes the schedule from the measured speed: shorter on a slow machine, longer
// on a fast one when it may grow, never longer when the schedule given is a ceiling, and not at
// all for a resumed run. The clock is simulated: every step takes `step_s` seconds.
#include <doctest/doctest.h>

#include <contra/train/policies.hpp>

#include <cstdlib>

using namespace contra;

namespace time_budget_test {

struct Run {
    std::int64_t steps = 0, total = 0;  // steps run, the schedule's final length
    double elapsed_s = 0;
};

// Runs a schedule of `total` steps under `budget`: steps take `step_s` seconds each, and
// `later_step_s` from step 26 on (when > 0). Step times are powers of two: the sums are exact.
Run run(train::TimeBudget budget, std::int64_t total, double step_s, double later_step_s = 0) {
    Run r{0, total, 0};
    while (r.steps < r.total) {
        ++r.steps;
        r.elapsed_s += (later_step_s > 0 && r.steps > 25) ? later_step_s : step_s;
        r.total = budget.after(r.steps, r.elapsed_s, r.total, nullptr);
        if (budget.spent(r.elapsed_s)) break;
    }
    return r;
}

TEST_CASE("time budget: a slow machine shortens the schedule to fill 98% of the budget") {
    // 1,000 steps of 1/8 s would take 125 s; 50 s are given: 25 + (49 − 3.125) · 8 = 392 steps.
    for (const bool grow : {false, true}) {
        const auto r = run(train::TimeBudget(50, true, grow), 1000, 0.125);
        CHECK(std::abs(r.total - 392) <= 1);
        CHECK(r.steps == r.total);  // the schedule ran to its end within the budget
        CHECK(r.elapsed_s <= 50);
    }
}

TEST_CASE("time budget: a fast machine fills the budget only when the schedule may grow") {
    // 1,000 steps of 1/8 s take 125 s; 300 s are given: 25 + (294 − 3.125) · 8 = 2,352 steps.
    const auto ceiling = run(train::TimeBudget(300, true, false), 1000, 0.125);
    CHECK(ceiling.total == 1000);
    CHECK(ceiling.steps == 1000);
    const auto grown = run(train::TimeBudget(300, true, true), 1000, 0.125);
    CHECK(std::abs(grown.total - 2352) <= 1);
    CHECK(grown.steps == grown.total);
    CHECK(grown.elapsed_s <= 300);
}

TEST_CASE("time budget: the schedule is resized when the machine slows down in its first half") {
    // Sized to 2,352 steps at 1/8 s a step; from step 26 on a step takes 1/4 s. Re-measured at
    // steps 250 and 500, the schedule shrinks to about 1,200 steps and still ends within the budget.
    const auto r = run(train::TimeBudget(300, true, true), 1000, 0.125, 0.25);
    CHECK(r.total > 1150);
    CHECK(r.total < 1250);
    CHECK(r.steps == r.total);
    CHECK(r.elapsed_s <= 300);
}

TEST_CASE("time budget: a resumed run and a run without a budget keep their length") {
    const auto resumed = run(train::TimeBudget(50, false, true), 1000, 0.125);
    CHECK(resumed.total == 1000);  // not resized; the budget still stops it
    CHECK(resumed.steps == 400);
    CHECK(run(train::TimeBudget(300, false, true), 1000, 0.125).total == 1000);
    CHECK(run(train::TimeBudget(0, true, true), 1000, 0.125).steps == 1000);
}

}  // namespace time_budget_test
