// contra/core/shape.hpp — the extents of a tensor, rank 0 to 5, row-major.
// defines: contra::Shape
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>

#include "config.hpp"

namespace contra {

// Shape: extents of a row-major tensor. Rank 0 (a scalar, one element) up to kMaxRank.
// Negative indices count from the end: shape[-1] is the innermost extent.
class Shape {
public:
    static constexpr int kMaxRank = 5;

    Shape() = default;
    Shape(std::initializer_list<std::int64_t> extents) {
        CONTRA_CHECK(extents.size() <= kMaxRank, "a shape has at most ", kMaxRank, " dimensions, got ", extents.size());
        for (auto e : extents) push(e);
    }
    template <class It>
    static Shape from_range(It first, It last) {
        Shape s;
        for (; first != last; ++first) s.push(std::int64_t(*first));
        return s;
    }

    int rank() const { return rank_; }
    std::int64_t operator[](int axis) const { return extents_[index(axis)]; }
    std::int64_t& operator[](int axis) { return extents_[index(axis)]; }

    std::int64_t numel() const {
        std::int64_t n = 1;
        for (int i = 0; i < rank_; ++i) n *= extents_[i];
        return n;
    }
    // rows()/cols(): the 2-D view every row-wise primitive uses: cols is the innermost extent,
    // rows the product of all others (1 for rank 0 and 1).
    std::int64_t cols() const { return rank_ == 0 ? 1 : extents_[rank_ - 1]; }
    std::int64_t rows() const {
        std::int64_t n = 1;
        for (int i = 0; i + 1 < rank_; ++i) n *= extents_[i];
        return n;
    }

    void push(std::int64_t extent) {
        CONTRA_CHECK(rank_ < kMaxRank, "a shape has at most ", kMaxRank, " dimensions");
        CONTRA_CHECK(extent >= 0, "shape extents must be non-negative, got ", extent);
        extents_[rank_++] = extent;
    }
    // Shape with the first `count` extents multiplied into one.
    Shape merged_front(int count) const {
        Shape s;
        std::int64_t n = 1;
        for (int i = 0; i < count; ++i) n *= extents_[i];
        s.push(n);
        for (int i = count; i < rank_; ++i) s.push(extents_[i]);
        return s;
    }

    const std::int64_t* begin() const { return extents_.data(); }
    const std::int64_t* end() const { return extents_.data() + rank_; }

    friend bool operator==(const Shape& a, const Shape& b) {
        if (a.rank_ != b.rank_) return false;
        for (int i = 0; i < a.rank_; ++i)
            if (a.extents_[i] != b.extents_[i]) return false;
        return true;
    }

    std::string str() const {
        std::string s = "[";
        for (int i = 0; i < rank_; ++i) s += (i ? "," : "") + std::to_string(extents_[i]);
        return s + "]";
    }
    friend std::ostream& operator<<(std::ostream& out, const Shape& s) { return out << s.str(); }

private:
    int index(int axis) const {
        const int i = axis < 0 ? axis + rank_ : axis;
        CONTRA_CHECK(i >= 0 && i < rank_, "axis ", axis, " out of range for shape of rank ", rank_);
        return i;
    }
    std::array<std::int64_t, kMaxRank> extents_{};
    int rank_ = 0;
};

}  // namespace contra
