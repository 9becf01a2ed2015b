// fuzz_image: decode_image (PNG/JPEG from memory) with each JPEG decoder, then the CLIP eval
// transform and the training transform (random resized crop) of what decoded. Limits are lowered from the defaults (25 M pixels) to 1 M so a
// header that is allowed to ask for a big picture costs milliseconds, not seconds, per input.
#include <contra/data/image.hpp>
#include <contra/data/image_decode.hpp>

#include "fuzz_common.hpp"

using namespace contra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    data::DecodeOptions options;
    options.max_side = 4096;
    options.max_pixels = 1 << 20;
    for (auto decoder : {data::JpegDecoder::automatic, data::JpegDecoder::stb}) {
        options.jpeg = decoder;
        fuzz::accepts([&] {
            const auto info = data::image_info(bytes, "fuzz", options);
            const auto image = data::decode_image(bytes, "fuzz", options);
            data::check_image(image, "fuzz");  // a decoded image is always consistent
            if (image.width != info.width || image.height != info.height) std::abort();
            const auto rgb = data::to_rgb(image);
            const auto t = data::preprocess<float>(rgb, 8);
            if (t.numel() != 3 * 8 * 8) std::abort();
            const auto train = data::preprocess_train<float>(image, 8, RandomStream{1, 2}, size);
            if (train.numel() != 3 * 8 * 8) std::abort();
        });
        if (size < 3 || data[0] != 0xFF) break;  // the decoder choice matters only for JPEG
    }
    return 0;
}
