// contra/core/tensor.hpp — Tensor<T, Device>: a handle to contiguous row-major storage.
// defines: contra::Tensor, contra::TensorOn, contra::copy, contra::to_device
#pragma once
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <type_traits>
#include <vector>

#include "arena.hpp"
#include "device.hpp"
#include "dtype.hpp"
#include "memory.hpp"
#include "shape.hpp"

namespace contra {

// Tensor<T, D>: a shape and a pointer into shared Storage on device D.
//   - Copying a Tensor copies the handle (both see the same elements); clone() copies elements.
//   - Always contiguous and row-major; reshape() and rows() are views into the same storage.
//   - Host storage is 64-byte aligned at offset 0.
//   - Element access (operator[], at) exists for host tensors only; device tensors move with
//     copy()/to_device().
template <class T, class D = cpu>
class Tensor {
public:
    using value_type = T;
    using device = D;

    Tensor() = default;
    Tensor(Shape shape, std::shared_ptr<Storage<D>> storage, std::int64_t offset = 0)
        : storage_(std::move(storage)), offset_(offset), shape_(shape) {
        CONTRA_CHECK(storage_ || shape_.numel() == 0, "a tensor of shape ", shape_, " needs storage");
        CONTRA_CHECK(!storage_ || std::size_t(offset_ + shape_.numel()) * sizeof(T) <= storage_->bytes(),
                     "a view of shape ", shape_, " at offset ", offset_, " does not fit its storage");
    }

    // A new tensor with uninitialised elements, on the heap or from an arena.
    static Tensor empty(Shape shape) {
        return Tensor(shape, std::make_shared<Storage<D>>(bytes_for(shape)));
    }
    static Tensor empty(Shape shape, Arena<D>& arena) { return Tensor(shape, arena.allocate(bytes_for(shape))); }
    static Tensor zeros(Shape shape) {
        Tensor t = empty(shape);
        t.zero_();
        return t;
    }
    static Tensor full(Shape shape, T value)
        requires std::same_as<D, cpu>
    {
        Tensor t = empty(shape);
        std::fill(t.data(), t.data() + t.numel(), value);
        return t;
    }
    static Tensor from(Shape shape, const std::vector<T>& values)
        requires std::same_as<D, cpu>
    {
        CONTRA_CHECK(std::int64_t(values.size()) == shape.numel(), "Tensor::from: ", values.size(),
                     " values do not fill shape ", shape);
        Tensor t = empty(shape);
        std::copy(values.begin(), values.end(), t.data());
        return t;
    }
    static Tensor from(Shape shape, std::initializer_list<T> values)
        requires std::same_as<D, cpu>
    {
        return from(shape, std::vector<T>(values));
    }

    bool defined() const { return storage_ != nullptr || shape_.rank() > 0; }
    const Shape& shape() const { return shape_; }
    int rank() const { return shape_.rank(); }
    std::int64_t numel() const { return shape_.numel(); }
    std::int64_t size(int axis) const { return shape_[axis]; }
    std::int64_t rows() const { return shape_.rows(); }
    std::int64_t cols() const { return shape_.cols(); }
    std::size_t bytes() const { return std::size_t(numel()) * sizeof(T); }

    T* data() { return storage_ ? static_cast<T*>(storage_->data()) + offset_ : nullptr; }
    const T* data() const { return storage_ ? static_cast<const T*>(storage_->data()) + offset_ : nullptr; }
    const std::shared_ptr<Storage<D>>& storage() const { return storage_; }
    bool shares_storage_with(const Tensor& other) const { return storage_ && storage_ == other.storage_; }

    // View with another shape of the same element count.
    Tensor reshape(Shape shape) const {
        CONTRA_CHECK(shape.numel() == numel(), "cannot reshape ", shape_, " (", numel(), " elements) to ", shape);
        return Tensor(shape, storage_, offset_);
    }
    // View of rows [begin, end) along the first axis.
    Tensor rows(std::int64_t begin, std::int64_t end) const {
        CONTRA_CHECK(rank() >= 1 && 0 <= begin && begin <= end && end <= shape_[0], "rows [", begin, ",", end,
                     ") out of range for shape ", shape_);
        Shape s = shape_;
        s[0] = end - begin;
        const std::int64_t stride = shape_[0] ? numel() / shape_[0] : 0;
        return Tensor(s, storage_, offset_ + begin * stride);
    }
    Tensor row(std::int64_t i) const {
        Shape s;
        for (int a = 1; a < rank(); ++a) s.push(shape_[a]);
        return rows(i, i + 1).reshape(s);
    }

    // Host element access (flat index, or one index per axis).
    T& operator[](std::int64_t i)
        requires std::same_as<D, cpu>
    {
        return data()[i];
    }
    const T& operator[](std::int64_t i) const
        requires std::same_as<D, cpu>
    {
        return data()[i];
    }
    template <class... I>
    T& at(I... index)
        requires std::same_as<D, cpu>
    {
        return data()[flat_index(index...)];
    }
    template <class... I>
    const T& at(I... index) const
        requires std::same_as<D, cpu>
    {
        return data()[flat_index(index...)];
    }
    T item() const {
        CONTRA_CHECK(numel() == 1, "item() needs exactly one element, shape is ", shape_);
        return to_vector()[0];
    }

    void zero_() {
        if (numel()) memory_resource<D>::zero(data(), bytes());
    }
    Tensor clone() const {
        Tensor t = empty(shape_);
        if (numel()) memory_resource<D>::copy_within(t.data(), data(), bytes());
        return t;
    }
    std::vector<T> to_vector() const;

private:
    static std::size_t bytes_for(const Shape& s) { return std::size_t(s.numel()) * sizeof(T); }

    template <class... I>
    std::int64_t flat_index(I... index) const {
        CONTRA_CHECK(int(sizeof...(I)) == rank(), "at() takes ", rank(), " indices for shape ", shape_);
        const std::int64_t idx[] = {std::int64_t(index)...};
        std::int64_t flat = 0;
        for (int a = 0; a < rank(); ++a) {
            CONTRA_CHECK(idx[a] >= 0 && idx[a] < shape_[a], "index ", idx[a], " out of range on axis ", a,
                         " of shape ", shape_);
            flat = flat * shape_[a] + idx[a];
        }
        return flat;
    }

    std::shared_ptr<Storage<D>> storage_;
    std::int64_t offset_ = 0;
    Shape shape_;
};

// TensorOn<T, B>: a tensor in the memory of backend B's device (host memory for the reference
// and cpu backends, GPU memory for cuda): the one name for "a tensor B computes on".
template <class T, class B>
using TensorOn = Tensor<T, device_of<B>>;

// copy(src, dst): elements from src to dst, across devices if need be.
//   requires: equal element counts (shapes may differ, as with reshape).
template <class T, class Ds, class Dd>
void copy(const Tensor<T, Ds>& src, Tensor<T, Dd>& dst) {
    CONTRA_CHECK(src.numel() == dst.numel(), "copy: source ", src.shape(), " and destination ", dst.shape(),
                 " differ in size");
    if (src.numel() == 0) return;
    if constexpr (std::same_as<Ds, cpu> && std::same_as<Dd, cpu>)
        memory_resource<cpu>::copy_within(dst.data(), src.data(), src.bytes());
    else if constexpr (std::same_as<Ds, cpu>)
        memory_resource<Dd>::copy_from_host(dst.data(), src.data(), src.bytes());
    else if constexpr (std::same_as<Dd, cpu>)
        memory_resource<Ds>::copy_to_host(dst.data(), src.data(), src.bytes());
    else
        memory_resource<Dd>::copy_within(dst.data(), src.data(), src.bytes());
}

// to_device<D2>(t): a new tensor on D2 with t's shape and elements.
template <class D2, class T, class D>
Tensor<T, D2> to_device(const Tensor<T, D>& t) {
    auto out = Tensor<T, D2>::empty(t.shape());
    copy(t, out);
    return out;
}

template <class T, class D>
std::vector<T> Tensor<T, D>::to_vector() const {
    std::vector<T> values(static_cast<std::size_t>(numel()));
    if (values.empty()) return values;
    Tensor<T, cpu> host(shape_, std::make_shared<Storage<cpu>>(values.data(), bytes(), nullptr,
                                                               std::shared_ptr<void>(values.data(), [](void*) {}),
                                                               nullptr, 0));
    copy(*this, host);
    return values;
}

// cast<U>(t): host tensor converted element by element (f64 <-> f32 <-> bf16 <-> f16).
template <class U, class T>
Tensor<U, cpu> cast(const Tensor<T, cpu>& t) {
    auto out = Tensor<U, cpu>::empty(t.shape());
    const T* in = t.data();
    U* o = out.data();
    for (std::int64_t i = 0; i < t.numel(); ++i) o[i] = U(static_cast<acc_t<T>>(in[i]));
    return out;
}

}  // namespace contra
