// contra/data/fashion_mnist.hpp — Fashion-MNIST (Xiao et al., 2017): 70 000 grey 28×28 images
// of clothing in 10 classes, in the four IDX files of the Debian package dataset-fashion-mnist.
// defines: contra::data::Split, FashionMnist, FashionMnistFiles, kFashionMnistDir,
//          kFashionMnistClasses, kFashionMnistNormalization, find_fashion_mnist,
//          fashion_mnist_available, load_fashion_mnist
#pragma once
#include <array>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "idx.hpp"

namespace contra::data {

enum class Split { train, test };

inline constexpr std::string_view kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
inline constexpr int kFashionMnistImageSize = 28;

// Class names in label order (label 0 = t-shirt ... 9 = ankle boot), written as a caption says them.
inline constexpr std::array<std::string_view, 10> kFashionMnistClasses = {
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot"};

// Pixel statistics of the 60 000 training images on [0, 1] (pixel_statistics gives mean 0.28604,
// std 0.35302); every split is normalised with these, never with its own.
inline constexpr Normalization kFashionMnistNormalization{0.2860f, 0.3530f};

// FashionMnist: one split, images and labels checked against each other.
struct FashionMnist {
    IdxImages images;  // [size(), 28, 28]
    IdxLabels labels;  // values in [0, 10)

    std::int64_t size() const { return images.count; }
    int label(std::int64_t i) const {
        CONTRA_CHECK(0 <= i && i < size(), "Fashion-MNIST sample ", i, " out of range [0, ", size(), ")");
        return labels.values[std::size_t(i)];
    }
    std::string_view class_name(std::int64_t i) const { return kFashionMnistClasses[std::size_t(label(i))]; }

    // images_batch(indices): normalised images [B, 1, 28, 28]; labels_batch(indices): labels [B].
    Tensor<float, cpu> images_batch(std::span<const std::int64_t> indices,
                                    Normalization norm = kFashionMnistNormalization) const {
        return images_to_tensor(images, indices, norm);
    }
    Tensor<std::int32_t, cpu> labels_batch(std::span<const std::int64_t> indices) const {
        return labels_to_tensor(labels, indices);
    }
};

struct FashionMnistFiles {
    std::filesystem::path images, labels;
};

namespace detail {

// fashion_mnist_file(dir, stem): dir/stem.gz, else dir/stem (uncompressed), else nothing.
inline std::optional<std::filesystem::path> fashion_mnist_file(const std::filesystem::path& dir, std::string_view stem) {
    std::error_code ec;
    for (const auto& candidate : {dir / (std::string(stem) + ".gz"), dir / std::string(stem)})
        if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
    return std::nullopt;
}

inline std::string_view fashion_mnist_stem(Split split, bool labels) {
    if (split == Split::train) return labels ? "train-labels-idx1-ubyte" : "train-images-idx3-ubyte";
    return labels ? "t10k-labels-idx1-ubyte" : "t10k-images-idx3-ubyte";
}

}  // namespace detail

// find_fashion_mnist(split, dir): the split's two files, or nothing when either is missing.
inline std::optional<FashionMnistFiles> find_fashion_mnist(Split split,
                                                           const std::filesystem::path& dir = kFashionMnistDir) {
    auto images = detail::fashion_mnist_file(dir, detail::fashion_mnist_stem(split, false));
    auto labels = detail::fashion_mnist_file(dir, detail::fashion_mnist_stem(split, true));
    if (!images || !labels) return std::nullopt;
    return FashionMnistFiles{*images, *labels};
}

// fashion_mnist_available(dir): both splits are present (a test's reason to run or skip).
inline bool fashion_mnist_available(const std::filesystem::path& dir = kFashionMnistDir) {
    return find_fashion_mnist(Split::train, dir) && find_fashion_mnist(Split::test, dir);
}

// load_fashion_mnist(split, dir): read and check one split.
//   throws: Error saying which file is missing and that the Debian package
//           dataset-fashion-mnist installs them; any IDX error; images not 28×28; labels ≥ 10;
//           image and label counts that differ.
inline FashionMnist load_fashion_mnist(Split split, const std::filesystem::path& dir = kFashionMnistDir) {
    std::error_code ec;
    CONTRA_CHECK(std::filesystem::is_directory(dir, ec), "Fashion-MNIST directory '", dir.string(),
                 "' not found; install the Debian package dataset-fashion-mnist (it puts the files in ",
                 kFashionMnistDir, ") or pass the directory that holds the four IDX files");
    for (bool labels : {false, true}) {
        const auto stem = detail::fashion_mnist_stem(split, labels);
        CONTRA_CHECK(detail::fashion_mnist_file(dir, stem).has_value(), "Fashion-MNIST file ", stem, ".gz (or ", stem,
                     ") not found in '", dir.string(), "'; install the Debian package dataset-fashion-mnist (it puts the files in ",
                     kFashionMnistDir, ")");
    }
    const auto files = *find_fashion_mnist(split, dir);
    FashionMnist data{read_idx_images(files.images), read_idx_labels(files.labels)};
    CONTRA_CHECK(data.images.rows == kFashionMnistImageSize && data.images.cols == kFashionMnistImageSize,
                 "Fashion-MNIST file '", data.images.source, "': expected 28 x 28 images, found ", data.images.rows, " x ",
                 data.images.cols);
    check_same_count(data.images, data.labels);
    check_labels_below(data.labels, int(kFashionMnistClasses.size()));
    return data;
}

}  // namespace contra::data
