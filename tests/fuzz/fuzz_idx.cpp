// fuzz_idx: read_idx_images and read_idx_labels (raw or gzip IDX) on an arbitrary file; for
// accepted files, the statistics and batch conversions Fashion-MNIST training uses.
#include <contra/data/fashion_mnist.hpp>
#include <contra/data/idx.hpp>

#include "fuzz_common.hpp"

using namespace contra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = fuzz::write_file("data-idx-ubyte", fuzz::as_text(data, size));
    const data::IdxLimits limits{};  // the defaults: what a program reads with
    fuzz::accepts([&] {
        const auto images = data::read_idx_images(path, limits);
        if (images.pixels.size() != std::size_t(images.count * images.rows * images.cols)) std::abort();
        const auto stats = data::pixel_statistics(images);
        const std::int64_t n = std::min<std::int64_t>(images.count, 4);
        const auto batch = data::images_to_tensor(images, 0, n, stats.std > 0 ? stats : data::Normalization{});
        if (batch.numel() != n * images.rows * images.cols) std::abort();
        fuzz::accepts([&] { data::images_to_tensor(images, 0, images.count + 1, data::Normalization{}); });
    });
    fuzz::accepts([&] {
        const auto labels = data::read_idx_labels(path, limits);
        fuzz::accepts([&] { data::check_labels_below(labels, 10); });
        std::vector<std::int64_t> first{0};
        fuzz::accepts([&] { data::labels_to_tensor(labels, first); });
    });
    return 0;
}
