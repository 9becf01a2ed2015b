// fuzz_tar_shard: WebDatasetReader over one arbitrary file as its only shard (tar, or a
// compressed tar: libarchive's filters). Every sample must be complete; a bad shard is counted,
// and next() throws (a contra::Error) only when the shard could not be opened at all.
#include <contra/data/webdataset.hpp>

#include "fuzz_common.hpp"

using namespace contra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto path = fuzz::write_file("shard.tar", fuzz::as_text(data, size));
    data::WebDatasetOptions options;
    options.max_member_bytes = 4096;  // small, so the oversized-member path is reached too
    options.shuffle_buffer = size % 3;
    fuzz::accepts([&] {
        data::WebDatasetReader reader({path}, options);
        data::WebDatasetSample sample;
        std::uint64_t n = 0;
        while (reader.next(sample)) {
            if (sample.image_extension.empty() || !data::is_image_extension(sample.image_extension)) std::abort();
            if (sample.image.size() > options.max_member_bytes || sample.caption.size() > options.max_member_bytes)
                std::abort();
            ++n;
        }
        const auto& stats = reader.stats();
        if (stats.samples != n || stats.shards_completed + stats.shard_errors != 1) std::abort();
    });
    return 0;
}
