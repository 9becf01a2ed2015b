// search::top_k against a brute-force sort of every score (integer-valued vectors, so every
// summation order gives the same floats), ties, k > n, an empty index, several queries at once;
// int8 quantisation bounds; and the recall@10 of int8 against fp32 on random unit vectors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include <contra/search/top_k.hpp>

using namespace contra;

namespace {

// brute_force(v, query, k): every row scored in double, all sorted by search::better.
std::vector<search::Hit> brute_force(const search::Vectors& v, const std::vector<float>& query, std::int64_t k) {
    std::vector<search::Hit> all;
    std::vector<float> row(static_cast<std::size_t>(v.dim()));
    for (std::int64_t r = 0; r < v.size(); ++r) {
        v.row(r, row.data());
        double dot = 0;
        for (std::int64_t j = 0; j < v.dim(); ++j) dot += double(row[std::size_t(j)]) * query[std::size_t(j)];
        all.push_back({r, float(dot)});
    }
    std::sort(all.begin(), all.end(), search::better);
    all.resize(std::size_t(std::min<std::int64_t>(k, v.size())));
    return all;
}

// Rows of small integers (−3..3): many equal scores, all exact in float.
search::Vectors integer_rows(std::int64_t n, std::int64_t dim, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> value(-3, 3);
    search::Vectors v(search::Encoding::f32, dim);
    std::vector<float> row(static_cast<std::size_t>(dim));
    for (std::int64_t i = 0; i < n; ++i) {
        for (auto& x : row) x = float(value(rng));
        v.push_back(row.data());
    }
    return v;
}

std::vector<float> random_unit(std::mt19937& rng, std::int64_t dim) {
    std::normal_distribution<float> normal;
    std::vector<float> x(static_cast<std::size_t>(dim));
    double sum = 0;
    for (auto& e : x) {
        e = normal(rng);
        sum += double(e) * e;
    }
    for (auto& e : x) e = float(e / std::sqrt(sum));
    return x;
}

}  // namespace

TEST_CASE("search::top_k: the hits of a full sort, ties broken by row, for any k and several queries at once") {
    const auto v = integer_rows(1000, 8, 1);  // 1000 rows: many blocks, both threads
    std::mt19937 rng(2);
    std::uniform_int_distribution<int> value(-2, 2);
    std::vector<float> queries(3 * 8);
    for (auto& x : queries) x = float(value(rng));
    for (const std::int64_t k : {1, 7, 64, 999, 1000, 5000}) {
        CAPTURE(k);
        const auto hits = search::top_k(v, queries.data(), 3, k);
        REQUIRE(hits.size() == 3);
        for (std::size_t q = 0; q < 3; ++q) {
            const std::vector<float> query(queries.begin() + long(8 * q), queries.begin() + long(8 * q + 8));
            CHECK(hits[q] == brute_force(v, query, k));
        }
    }
    // Equal rows: equal scores, listed in row order.
    search::Vectors same(search::Encoding::f32, 2);
    const float row[2] = {1, 0};
    for (int i = 0; i < 5; ++i) same.push_back(row);
    const auto tied = search::top_k(same, row, 1, 3);
    REQUIRE(tied[0].size() == 3);
    for (std::int64_t i = 0; i < 3; ++i) CHECK(tied[0][std::size_t(i)] == search::Hit{i, 1.0f});
}

TEST_CASE("search::top_k: an empty index gives empty lists; bad k, queries are errors") {
    const search::Vectors empty(search::Encoding::int8, 4);
    const float q[4] = {1, 0, 0, 0};
    const auto hits = search::top_k(empty, q, 1, 10);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].empty());
    CHECK(search::top_k(empty, q, 0, 10).empty());
    CHECK_THROWS_WITH_AS(search::top_k(empty, q, 1, 0), doctest::Contains("k must be ≥ 1"), Error);
    const float nan[4] = {1, std::nanf(""), 0, 0};
    CHECK_THROWS_WITH_AS(search::top_k(integer_rows(3, 4, 1), nan, 1, 1), doctest::Contains("non-finite"), Error);
    CHECK_THROWS_AS(search::Vectors(search::Encoding::f32, 0), Error);
}

TEST_CASE("search::quantize_int8: every element within half a step, the largest at ±127, zero stays zero") {
    std::mt19937 rng(3);
    for (int trial = 0; trial < 50; ++trial) {
        const auto x = random_unit(rng, 512);
        std::vector<std::int8_t> codes(512);
        const float scale = search::quantize_int8(x.data(), 512, codes.data());
        float largest = 0;
        for (std::size_t j = 0; j < 512; ++j) {
            largest = std::max(largest, std::abs(x[j]));
            CHECK(std::abs(x[j] - scale * codes[j]) <= scale / 2 * (1 + 1e-5f));
            CHECK(std::abs(int(codes[j])) <= 127);
        }
        CHECK(scale == doctest::Approx(largest / 127));
        CHECK(std::any_of(codes.begin(), codes.end(), [](std::int8_t c) { return std::abs(int(c)) == 127; }));
    }
    const std::vector<float> zero(16, 0.0f);
    std::vector<std::int8_t> codes(16, 5);
    CHECK(search::quantize_int8(zero.data(), 16, codes.data()) == 0.0f);
    CHECK(std::all_of(codes.begin(), codes.end(), [](std::int8_t c) { return c == 0; }));

    // The stored row reads back as scale·codes; an int8 index searched is exact on its own values.
    search::Vectors v(search::Encoding::int8, 512);
    const auto x = random_unit(rng, 512);
    v.push_back(x.data());
    std::vector<float> back(512);
    v.row(0, back.data());
    for (std::size_t j = 0; j < 512; ++j) CHECK(back[j] == v.scales()[0] * float(v.codes()[j]));
    CHECK(v.row_bytes() == 516);
}

TEST_CASE("search::top_k on int8: exact on the stored values, and recall@10 against fp32 on random unit vectors") {
    std::mt19937 rng(4);
    constexpr std::int64_t n = 20000, dim = 128, queries = 20;
    search::Vectors f32(search::Encoding::f32, dim), int8(search::Encoding::int8, dim);
    for (std::int64_t i = 0; i < n; ++i) {
        const auto x = random_unit(rng, dim);
        f32.push_back(x.data());
        int8.push_back(x.data());
    }
    std::vector<float> q;
    for (std::int64_t i = 0; i < queries; ++i) {
        // A query near a stored vector (as a real query is near its matches), not an isolated one.
        std::vector<float> row(dim);
        f32.row(i * 997, row.data());
        const auto noise = random_unit(rng, dim);
        for (std::int64_t j = 0; j < dim; ++j) q.push_back(row[std::size_t(j)] + 0.5f * noise[std::size_t(j)]);
    }
    const auto exact = search::top_k(f32, q.data(), queries, 10), approx = search::top_k(int8, q.data(), queries, 10);
    std::int64_t found = 0;
    for (std::int64_t i = 0; i < queries; ++i) {
        const std::vector<float> query(q.begin() + i * dim, q.begin() + (i + 1) * dim);
        const auto brute = brute_force(int8, query, 10);
        for (std::size_t k = 0; k < 10; ++k) {  // the same rows; scores agree to float rounding
            CHECK(approx[std::size_t(i)][k].row == brute[k].row);
            CHECK(approx[std::size_t(i)][k].score == doctest::Approx(brute[k].score).epsilon(1e-5));
        }
        for (const auto& h : approx[std::size_t(i)])
            found += std::count_if(exact[std::size_t(i)].begin(), exact[std::size_t(i)].end(), [&](const search::Hit& e) { return e.row == h.row; });
    }
    const double recall = double(found) / double(10 * queries);
    MESSAGE("int8 recall@10 against fp32 (20,000 random unit vectors of 128): ", recall);
    CHECK(recall >= 0.9);
}
