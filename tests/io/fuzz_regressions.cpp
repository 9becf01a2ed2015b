// Regression tests for the failures the libFuzzer targets in tests/fuzz found (docs/robustness.md).
// Each input here once crashed, hit undefined behaviour or let a non-contra exception escape; each
// must now be refused with a contra::Error that names the file and the problem.
#include <doctest/doctest.h>
#include <unistd.h>

#include <contra/contra.hpp>
#include <contra/data/idx.hpp>
#include <contra/data/image_decode.hpp>
#include <contra/io/checkpoint.hpp>
#include <contra/io/config_json.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/io/safetensors.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "../support/temp_dir.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

fs::path fuzz_scratch(const std::string& name) {
    const auto dir = fs::temp_directory_path() / ("contra_fuzz_regressions_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}
fs::path write_bytes(const std::string& name, const std::string& bytes) {
    const auto path = fuzz_scratch(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}
// The expression throws a contra::Error whose message holds every part (any other exception
// fails the test).
#define CHECK_ERROR(expression, ...)                                  \
    do {                                                              \
        const std::string why_ = test::error_of([&] { (void)(expression); }); \
        INFO("message: ", why_.empty() ? "(accepted)" : why_);        \
        for (const char* part_ : {__VA_ARGS__}) CHECK(why_.find(part_) != std::string::npos); \
    } while (0)

std::string be32(std::uint32_t v) { return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)}; }

}  // namespace

// fuzz_idx: an images file with count 0 passed the payload cap whatever rows and cols said, and
// rows·cols (pixels_per_image) then overflowed int64 in images_to_tensor.
TEST_CASE("fuzz regression: IDX images with no images but huge rows x cols") {
    const auto path = write_bytes("huge.idx3", be32(data::kIdxImagesMagic) + be32(0) + be32(0xa60000ff) + be32(0xf100001c));
    CHECK_ERROR(data::read_idx_images(path), "huge.idx3", "images of 2785018111 x 4043309084 pixels are larger than the limit");
    // An empty file of sensible images is still fine.
    const auto empty = write_bytes("empty.idx3", be32(data::kIdxImagesMagic) + be32(0) + be32(28) + be32(28));
    const auto images = data::read_idx_images(empty);
    CHECK(images.count == 0);
    CHECK(data::images_to_tensor(images, 0, 0, {}).numel() == 0);
}

// fuzz_image: a JPEG Huffman table (DHT) declaring more than 256 codes. stb_image 2.27 copies its
// symbols past the end of a 256-entry array (an assertion, or memory corruption, inside
// libstb); it is now refused before stb_image sees it.
TEST_CASE("fuzz regression: a JPEG Huffman table with more than 256 codes") {
    std::string dht = "\xFF\xC4";
    const std::size_t codes = 8 * 255;  // 255 codes of each length 9..16: a valid prefix code, but too many
    const std::size_t length = 2 + 17 + codes;
    dht += char(length >> 8), dht += char(length & 0xFF);
    dht += '\x00';  // DC table 0
    for (int j = 1; j <= 16; ++j) dht += char(j >= 9 ? 255 : 0);
    dht += std::string(codes, '\x01');
    const std::string jpeg = "\xFF\xD8" + dht + "\xFF\xD9";
    const std::vector<std::uint8_t> bytes(jpeg.begin(), jpeg.end());
    data::DecodeOptions stb;
    stb.jpeg = data::JpegDecoder::stb;
    CHECK_ERROR(data::image_info(bytes, "many_codes.jpg", stb), "image 'many_codes.jpg'",
                "a Huffman table (DHT) declares 2040 codes (at most 256)");
    CHECK_ERROR(data::decode_image(bytes, "many_codes.jpg", stb), "image 'many_codes.jpg'", "2040 codes");
    CHECK_ERROR(data::decode_image(bytes, "many_codes.jpg"), "image 'many_codes.jpg'");  // either decoder

    // Over-subscribed code lengths (3 codes of length 1) are refused the same way.
    std::string over = "\xFF\xC4";
    over += char(0), over += char(2 + 17 + 3), over += '\x10';
    for (int j = 1; j <= 16; ++j) over += char(j == 1 ? 3 : 0);
    over += "abc";
    const std::string bad = "\xFF\xD8" + over + "\xFF\xD9";
    CHECK_ERROR(data::image_info(std::vector<std::uint8_t>(bad.begin(), bad.end()), "over.jpg", stb), "over.jpg",
                "over-subscribes its code lengths");
}

// fuzz_image: a JPEG whose scan uses Huffman tables it never defines. stb_image 2.27 decodes with
// the uninitialised memory of those tables and fails an assertion in stbi__jpeg_huff_decode
// (abort); the stb path now refuses such a scan. (libjpeg-turbo substitutes the standard
// tables, as for Motion-JPEG frames, so the automatic decoder may still read it.)
TEST_CASE("fuzz regression: a JPEG scan using undefined Huffman tables, with stb_image") {
    std::ifstream in(CONTRA_SOURCE_DIR "/tests/golden/image_g.jpg", std::ios::binary);
    const std::string good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(good.size() > 4);
    std::string stripped = good.substr(0, 2);  // every DHT segment removed
    std::size_t at = 2;
    while (at + 4 <= good.size() && std::uint8_t(good[at]) == 0xFF && std::uint8_t(good[at + 1]) != 0xDA) {
        const std::size_t length = (std::size_t(std::uint8_t(good[at + 2])) << 8) | std::uint8_t(good[at + 3]);
        if (std::uint8_t(good[at + 1]) != 0xC4) stripped += good.substr(at, 2 + length);
        at += 2 + length;
    }
    stripped += good.substr(at);
    REQUIRE(stripped.size() < good.size());
    data::DecodeOptions stb;
    stb.jpeg = data::JpegDecoder::stb;
    const std::vector<std::uint8_t> bytes(stripped.begin(), stripped.end()), original(good.begin(), good.end());
    CHECK_ERROR(data::decode_image(bytes, "no_tables.jpg", stb), "image 'no_tables.jpg'",
                "a scan uses DC Huffman table 0, which is not defined");
    CHECK(data::decode_image(original, "image_g.jpg", stb).width > 0);  // the file with its tables decodes
}

// fuzz_image: a PNG cut inside its IHDR chunk (25 bytes: no colour type byte). stb_image reads
// zeros past the end and reports a 13x9 grey image, and png_raw_limit then read bytes 24 and 25
// (a heap-buffer-overflow read of 1 byte).
TEST_CASE("fuzz regression: a PNG cut inside IHDR") {
    const std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x0d\0\0\0\x09\x08", 25);
    REQUIRE(png.size() == 25);
    const std::vector<std::uint8_t> bytes(png.begin(), png.end());
    CHECK_ERROR(data::decode_image(bytes, "cut.png"), "image 'cut.png'", "truncated PNG header (no complete IHDR chunk)");
    CHECK_ERROR(data::image_info(bytes, "cut.png"), "no complete IHDR chunk");
}

// fuzz_safetensors: describe_pretrained parsed the JSON of a file's "contra_config" (and a
// checkpoint's "config") metadata with nlohmann::json::parse, so a parse_error escaped.
TEST_CASE("fuzz regression: config metadata that is not JSON") {
    io::SafetensorsWriter openai;
    openai.set_metadata("contra_config", "{\"name\": ");
    openai.write(fuzz_scratch("bad_contra_config.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("bad_contra_config.safetensors")), "bad_contra_config.safetensors",
                "metadata 'contra_config' is not valid JSON");
    io::SafetensorsWriter checkpoint;
    checkpoint.set_metadata("format", io::kCheckpointFormat);
    checkpoint.set_metadata("config", "[1, 2");
    checkpoint.write(fuzz_scratch("bad_config.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("bad_config.safetensors")), "bad_config.safetensors",
                "metadata 'config' is not valid JSON");
    checkpoint.set_metadata("config", "{\"name\": \"x\"}");  // JSON, but not a model config
    checkpoint.write(fuzz_scratch("bad_config.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("bad_config.safetensors")), "bad_config.safetensors",
                "metadata 'config': model config");
}

// Sizes in JSON configs: nlohmann's get<int64_t>() of 1e300 is undefined behaviour (a float to
// integer conversion out of range), 1.5 silently became 1, and an INT64_MIN vocab_size overflowed
// in the eos_token_id check.
TEST_CASE("fuzz regression: config sizes that are not integers in range") {
    auto config = io::to_json(model::preset("tiny"));
    config["vision"]["width"] = 1e300;
    CHECK_ERROR(io::config_from_json(config), "model config", "\"width\" must be an integer in [0, 2^31), got 1e+300");
    config["vision"]["width"] = 1.5;
    CHECK_ERROR(io::config_from_json(config), "\"width\" must be an integer");
    config["vision"]["width"] = -3;
    CHECK_ERROR(io::config_from_json(config), "\"width\" must be an integer in [0, 2^31), got -3");
    config["vision"]["width"] = std::numeric_limits<std::uint64_t>::max();
    CHECK_ERROR(io::config_from_json(config), "got 18446744073709551615");

    const auto folder = fuzz_scratch("hf_sizes");
    fs::create_directories(folder);
    io::SafetensorsWriter().write(folder / "model.safetensors");
    const auto with_config = [&](const std::string& text) {
        std::ofstream(folder / "config.json") << text;
        return folder;
    };
    CHECK_ERROR(io::describe_pretrained(with_config(R"({"projection_dim": 1e300})")), "config.json",
                "\"projection_dim\" must be an integer in [0, 2^31), got 1e+300");
    CHECK_ERROR(io::describe_pretrained(with_config(R"({"text_config": {"vocab_size": -9223372036854775808}})")),
                "config.json text_config", "\"vocab_size\" must be an integer");
    CHECK_ERROR(io::describe_pretrained(with_config(R"({"vision_config": {"patch_size": "32"}})")),
                "config.json vision_config", "\"patch_size\" must be an integer in [0, 2^31), got \"32\"");
    CHECK_ERROR(io::describe_pretrained(with_config(R"({"text_config": 5})")), "text_config and vision_config must be JSON objects");
    CHECK(io::describe_pretrained(with_config(R"({"projection_dim": 8})")).config.embed_dim == 8);
}

// describe_pretrained infers sizes from tensor shapes, and a zero-size tensor may claim any
// extents: a [0, W] positional embedding made sqrt(-1) and then grid·grid overflow, extents near
// 2^63 overflowed 2·width; "resnet_heads" went through std::stoll (std::invalid_argument escaped).
TEST_CASE("fuzz regression: OpenAI-layout shapes and metadata describe_pretrained cannot use") {
    const auto vit = [](Shape vpos, Shape tok) {
        io::SafetensorsWriter w;
        w.add("token_embedding.weight", Tensor<std::uint8_t, cpu>::zeros(tok));
        w.add("positional_embedding", Tensor<std::uint8_t, cpu>::zeros(Shape{6, 0}));
        w.add("transformer.resblocks.0.mlp.c_fc.weight", Tensor<std::uint8_t, cpu>::zeros(Shape{256, 0}));
        w.add("text_projection", Tensor<std::uint8_t, cpu>::zeros(Shape{64, 0}));
        w.add("visual.conv1.weight", Tensor<std::uint8_t, cpu>::zeros(Shape{64, 3, 4, 4}));
        w.add("visual.positional_embedding", Tensor<std::uint8_t, cpu>::zeros(vpos));
        w.add("visual.transformer.resblocks.0.mlp.c_fc.weight", Tensor<std::uint8_t, cpu>::zeros(Shape{256, 0}));
        return w;
    };
    const std::int64_t huge = std::numeric_limits<std::int64_t>::max();
    vit(Shape{0, 64}, Shape{10, 64}).write(fuzz_scratch("vpos0.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("vpos0.safetensors")), "vpos0.safetensors",
                "visual.positional_embedding has 0 rows, not a square grid");
    vit(Shape{5, 0}, Shape{huge, 0}).write(fuzz_scratch("huge_vocab.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("huge_vocab.safetensors")), "huge_vocab.safetensors",
                "tensor token_embedding.weight has shape [9223372036854775807,0], an extent above 16777216");
    vit(Shape{5, 0}, Shape{10}).write(fuzz_scratch("rank1.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("rank1.safetensors")), "rank1.safetensors",
                "token_embedding.weight has shape [10], expected 2 dimensions");

    const auto resnet = [](Shape stem) {
        io::SafetensorsWriter w;
        w.add("token_embedding.weight", Tensor<std::uint8_t, cpu>::zeros(Shape{10, 64}));
        w.add("positional_embedding", Tensor<std::uint8_t, cpu>::zeros(Shape{6, 0}));
        w.add("transformer.resblocks.0.mlp.c_fc.weight", Tensor<std::uint8_t, cpu>::zeros(Shape{256, 0}));
        w.add("text_projection", Tensor<std::uint8_t, cpu>::zeros(Shape{64, 0}));
        w.add("visual.conv1.weight", Tensor<std::uint8_t, cpu>::zeros(stem));
        w.add("visual.layer1.0.conv1.weight", Tensor<std::uint8_t, cpu>::zeros(Shape{8, 0}));
        w.add("visual.attnpool.positional_embedding", Tensor<std::uint8_t, cpu>::zeros(Shape{50, 0}));
        return w;
    };
    resnet(Shape{huge, 1, 1, 0}).write(fuzz_scratch("rn_huge.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("rn_huge.safetensors")), "rn_huge.safetensors",
                "tensor visual.conv1.weight has shape [9223372036854775807,1,1,0], an extent above");
    auto heads = resnet(Shape{32, 3, 3, 0});
    heads.write(fuzz_scratch("rn.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("rn.safetensors")), "rn.safetensors",
                "--vision-heads 32 --text-heads 1");  // OpenAI's rule, width / 64, suggested: pool 2048, text 64
    io::PretrainedOptions given;
    given.vision_heads = 32;
    given.text_heads = 1;
    given.activation = ops::Activation::quick_gelu;
    CHECK(io::describe_pretrained(fuzz_scratch("rn.safetensors"), given).resnet->heads == 32);
    heads.set_metadata("resnet_heads", "four");
    heads.write(fuzz_scratch("rn_heads.safetensors"));
    CHECK_ERROR(io::describe_pretrained(fuzz_scratch("rn_heads.safetensors")), "rn_heads.safetensors",
                "metadata 'resnet_heads' is 'four', expected a positive integer");
}
