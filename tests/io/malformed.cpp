// safetensors: hand-built malformed files (robustness.md §2). Each must be refused with a
// contra::Error naming the file and the problem; nothing else may escape, nothing may crash.
#include <doctest/doctest.h>

#include <contra/contra.hpp>
#include <contra/io/safetensors.hpp>
#include <cstdint>
#include <string>
#include <string_view>

using namespace contra;
using io::SafetensorsFile;

namespace {

std::string le64(std::uint64_t n) {
    std::string out;
    for (int i = 0; i < 8; ++i) out += char((n >> (8 * i)) & 0xff);
    return out;
}
// The file [N][header][data] with N = header.size().
std::string file(std::string_view header, std::string_view data = "") {
    return le64(header.size()) + std::string(header) + std::string(data);
}
// One tensor entry: "name":{"dtype":..,"shape":..,"data_offsets":..}
std::string entry(std::string_view name, std::string_view dtype, std::string_view shape, std::string_view offsets) {
    return "\"" + std::string(name) + "\":{\"dtype\":\"" + std::string(dtype) + "\",\"shape\":" + std::string(shape) +
           ",\"data_offsets\":" + std::string(offsets) + "}";
}
std::string deep(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

// The message of the Error that reading `bytes` raises, or "(accepted)".
std::string rejection(std::string bytes) {
    try {
        SafetensorsFile::from_bytes(std::move(bytes), "bad.safetensors");
    } catch (const Error& e) {
        return e.what();
    }
    return "(accepted)";
}

}  // namespace

#define CHECK_REJECTED(bytes, expected)                                                  \
    do {                                                                                 \
        const std::string why_ = rejection(bytes);                                       \
        INFO("message: ", why_);                                                         \
        CHECK(why_.find("safetensors file 'bad.safetensors': ") == 0);                   \
        CHECK(why_.find(expected) != std::string::npos);                                 \
    } while (0)

TEST_CASE("malformed: the length prefix") {
    CHECK_REJECTED(std::string(), "the file has 0 bytes");
    CHECK_REJECTED(std::string(7, '\0'), "the file has 7 bytes");
    CHECK_REJECTED(le64(~std::uint64_t(0)) + "{}", "header length 18446744073709551615 exceeds the limit of 100000000");
    CHECK_REJECTED(le64(100'000'001) + "{}", "exceeds the limit");
    CHECK_REJECTED(le64(100'000'000) + "{}", "header length 100000000 runs past the end of the file (2 bytes follow");
    CHECK_REJECTED(le64(10) + "{}", "header length 10 runs past the end");  // N = file length
    CHECK_REJECTED(le64(3) + "{}", "header length 3 runs past the end");    // one byte short
    CHECK_REJECTED(le64(0), "not valid JSON");
}

TEST_CASE("malformed: the header text") {
    CHECK_REJECTED(file("{\"a\xff\":1}"), "not valid UTF-8 (byte 3 of the header)");
    CHECK_REJECTED(file("{\"\xc0\xaf\":1}"), "not valid UTF-8 (byte 2");          // overlong '/'
    CHECK_REJECTED(file("{\"\xed\xa0\x80\":1}"), "not valid UTF-8 (byte 2");      // surrogate
    CHECK_REJECTED(file("{\"\xf4\x90\x80\x80\":1}"), "not valid UTF-8 (byte 2");  // above U+10FFFF
    CHECK_REJECTED(file("{}\xe2\x82"), "not valid UTF-8 (byte 2");                // cut sequence
    CHECK_REJECTED(file("{\"a\":{\"dtype\":\"F32\""), "the header is not valid JSON");
    CHECK_REJECTED(file("{} {}"), "the header is not valid JSON");
    CHECK_REJECTED(file("[]"), "the header must be a JSON object, got an array");
    CHECK_REJECTED(file("\"x\""), "the header must be a JSON object, got a string x");
    CHECK_REJECTED(file(deep(10000)), "the header must be a JSON object, got an array");
}

TEST_CASE("malformed: metadata") {
    CHECK_REJECTED(file(R"({"__metadata__":{"k":1}})"), "__metadata__ value for key \"k\" must be a string, got a number 1");
    CHECK_REJECTED(file(R"({"__metadata__":{"k":null}})"), "value for key \"k\" must be a string, got null");
    CHECK_REJECTED(file(R"({"__metadata__":{"k":{}}})"), "must be a string, got an object");
    CHECK_REJECTED(file("{\"__metadata__\":{\"k\":" + deep(10000) + "}}"), "must be a string, got an array");
    CHECK_REJECTED(file(R"({"__metadata__":["a"]})"), "__metadata__ must be an object of strings, got an array");
    CHECK_REJECTED(file(R"({"__metadata__":"a"})"), "__metadata__ must be an object of strings, got a string a");
    CHECK_REJECTED(file(R"({"__metadata__":{"k":"1","k":"2"}})"), "duplicate key \"k\" in __metadata__");
    CHECK_REJECTED(file(R"({"__metadata__":{},"__metadata__":{}})"), "duplicate entry \"__metadata__\"");
}

TEST_CASE("malformed: tensor entries") {
    CHECK_REJECTED(file(R"({"a":3})"), "tensor \"a\": expected an object {dtype, shape, data_offsets}, got a number 3");
    CHECK_REJECTED(file(R"({"a":[]})"), "tensor \"a\": expected an object");
    CHECK_REJECTED(file("{" + entry("a", "F33", "[1]", "[0,4]") + "}", std::string(4, 'x')),
                   "tensor \"a\": unknown dtype \"F33\" (expected F64, F32, BF16, F16, I64, I32 or U8)");
    CHECK_REJECTED(file("{" + entry("a", "BOOL", "[1]", "[0,1]") + "}", "x"), "tensor \"a\": dtype BOOL is not supported");
    CHECK_REJECTED(file(R"({"a":{"dtype":3,"shape":[],"data_offsets":[0,1]}})", "x"), "\"dtype\" must be a string, got a number 3");
    CHECK_REJECTED(file(R"({"a":{"dtype":"U8","shape":3,"data_offsets":[0,1]}})", "x"),
                   "tensor \"a\": \"shape\" must be an array of integers, got a number 3");
    CHECK_REJECTED(file(R"({"a":{"dtype":"U8","shape":[],"data_offsets":{}}})", "x"),
                   "\"data_offsets\" must be an array of integers, got an object");
    CHECK_REJECTED(file(R"({"a":{"shape":[],"data_offsets":[0,1]}})", "x"), "tensor \"a\": the entry has no \"dtype\" field");
    CHECK_REJECTED(file(R"({"a":{"dtype":"U8","data_offsets":[0,1]}})", "x"), "the entry has no \"shape\" field");
    CHECK_REJECTED(file(R"({"a":{"dtype":"U8","shape":[]}})", "x"), "the entry has no \"data_offsets\" field");
    CHECK_REJECTED(file(R"({"a":{"dtype":"U8","dtype":"U8","shape":[],"data_offsets":[0,1]}})", "x"),
                   "field \"dtype\" appears twice");
    CHECK_REJECTED(file("{" + entry("a", "U8", "[1]", "[0]") + "}", "x"), "data_offsets must hold exactly 2 integers");
    CHECK_REJECTED(file("{" + entry("a", "U8", "[1]", "[0,1,1]") + "}", "x"), "data_offsets must hold exactly 2 integers");
    CHECK_REJECTED(file("{" + entry("a", "U8", "[1]", "[0,-1]") + "}", "x"),
                   "data_offsets entries must be integers in [0, 2^63), got a number -1");
    CHECK_REJECTED(file("{" + entry("a", "U8", "[1]", "[0,1]") + "," + entry("a", "U8", "[1]", "[1,2]") + "}", "xx"),
                   "duplicate entry \"a\" in the header");
}

TEST_CASE("malformed: shapes") {
    const auto with_shape = [](std::string_view shape) { return file("{" + entry("a", "U8", shape, "[0,1]") + "}", "x"); };
    CHECK_REJECTED(with_shape("[-1]"), "tensor \"a\": shape entries must be integers in [0, 2^63), got a number -1");
    CHECK_REJECTED(with_shape("[1.5]"), "shape entries must be integers in [0, 2^63), got a number 1.5");
    CHECK_REJECTED(with_shape("[1e0]"), "got a number 1e0");
    CHECK_REJECTED(with_shape("[9223372036854775808]"), "got a number 9223372036854775808");     // 2^63
    CHECK_REJECTED(with_shape("[18446744073709551616]"), "got a number 18446744073709551616");   // 2^64
    CHECK_REJECTED(with_shape("[2,18446744073709551614]"), "got a number 18446744073709551614");  // upstream's case
    CHECK_REJECTED(with_shape("[\"1\"]"), "shape entries must be integers in [0, 2^63), got a string 1");
    CHECK_REJECTED(with_shape("[[1]]"), "got an array");
    CHECK_REJECTED(with_shape("[1,1,1,1,1,1]"), "tensor \"a\": shape has more than 5 dimensions");
    // Products that overflow even though every extent is in range.
    CHECK_REJECTED(file("{" + entry("a", "F32", "[2,9223372036854775807]", "[0,8]") + "}", std::string(8, 'x')),
                   "tensor \"a\": shape [2,9223372036854775807] of F32 overflows a 64-bit byte count");
    CHECK_REJECTED(with_shape("[4294967296,4294967296]"), "overflows");
    CHECK_REJECTED(with_shape("[4611686018427387904,2]"), "overflows");  // 2^63 bytes: beyond int64
    CHECK_REJECTED(with_shape("[9223372036854775807,9223372036854775807,0]"), "overflows");
}

TEST_CASE("malformed: the layout of the data buffer") {
    const std::string bytes16(16, 'x');
    CHECK_REJECTED(file("{" + entry("a", "U8", "[0]", "[8,0]") + "}", bytes16),
                   "tensor \"a\": data_offsets [8, 0] are reversed");
    CHECK_REJECTED(file("{" + entry("a", "F32", "[2]", "[0,4]") + "}", "xxxx"),
                   "tensor \"a\": shape [2] of F32 needs 8 bytes but data_offsets [0, 4] hold 4");
    CHECK_REJECTED(file("{" + entry("a", "U8", "[16]", "[0,16]") + "}", "xxxxxxxx"),
                   "tensor \"a\": data_offsets [0, 16] reach past the end of the data buffer (8 bytes)");
    CHECK_REJECTED(file("{" + entry("a", "F32", "[2]", "[0,8]") + "}", "xxxxxx"), "reach past the end");  // 2 missing
    CHECK_REJECTED(file("{" + entry("a", "U8", "[8]", "[0,8]") + "," + entry("b", "U8", "[8]", "[4,12]") + "}",
                        std::string(12, 'x')),
                   "tensor \"b\": starts at byte 4 and overlaps tensor \"a\" which ends at byte 8");
    CHECK_REJECTED(file("{" + entry("b", "U8", "[4]", "[8,12]") + "," + entry("a", "U8", "[4]", "[0,4]") + "}",
                        std::string(12, 'x')),
                   "tensor \"b\": starts at byte 8, leaving a gap of 4 bytes after tensor \"a\" which ends at byte 4");
    CHECK_REJECTED(file("{" + entry("a", "U8", "[4]", "[4,8]") + "}", "xxxxxxxx"),
                   "leaving a gap of 4 bytes after the start of the data buffer");
    CHECK_REJECTED(file("{" + entry("a", "U8", "[8]", "[0,8]") + "}", "xxxxxxxxxx"),
                   "2 trailing bytes after the last tensor (the data buffer has 10 bytes, the tensors cover 8)");
    CHECK_REJECTED(file("{}", "xx"), "2 trailing bytes");

    std::string shared = "{";  // upstream's test_json_attack: many tensors aliasing one region
    for (int i = 0; i < 10; ++i) shared += (i ? "," : "") + entry("t" + std::to_string(i), "F32", "[4]", "[0,16]");
    CHECK_REJECTED(file(shared + "}", bytes16), "and overlaps tensor \"t0\" which ends at byte 16");
}

TEST_CASE("malformed: what a lenient reader still accepts") {
    SUBCASE("zero-size and rank-0 tensors") {
        const auto f = SafetensorsFile::from_bytes(
            file("{" + entry("empty", "F32", "[2,0]", "[0,0]") + "," + entry("scalar", "I64", "[]", "[0,8]") + "}",
                 std::string("\x05\0\0\0\0\0\0\x80", 8)));
        CHECK(f.names() == std::vector<std::string>{"empty", "scalar"});
        CHECK(f.get<float>("empty").shape() == Shape{2, 0});
        const auto scalar = f.get<std::int64_t>("scalar");
        CHECK(scalar.rank() == 0);
        CHECK(scalar.item() == std::numeric_limits<std::int64_t>::min() + 5);
    }
    SUBCASE("whitespace around the header, and an empty file") {
        const auto f = SafetensorsFile::from_bytes(file(" \n\t {}      "));
        CHECK(f.names().empty());
        CHECK(f.metadata().empty());
        const auto g = SafetensorsFile::from_bytes(file("  {\"__metadata__\":null," + entry("a", "U8", "[1]", "[0,1]") + "} ", "*"));
        CHECK(g.get<std::uint8_t>("a")[0] == std::uint8_t('*'));
    }
    SUBCASE("fields contra does not read are skipped, however nested") {
        const auto f = SafetensorsFile::from_bytes(file(
            R"({"a":{"note":{"x":[1,"2",null]},"dtype":"U8","deep":)" + deep(10000) + R"(,"shape":[2],"data_offsets":[0,2]}})",
            "hi"));
        CHECK(f.get<std::uint8_t>("a").to_vector() == std::vector<std::uint8_t>{'h', 'i'});
    }
    SUBCASE("a header in another writer's key order, with tensors listed out of data order") {
        const auto f = SafetensorsFile::from_bytes(
            file(R"({"b":{"data_offsets":[4,8],"shape":[1],"dtype":"F32"},"__metadata__":{"format":"pt"},)"
                 R"("a":{"shape":[2],"dtype":"BF16","data_offsets":[0,4]}})",
                 std::string("\x80\x3f\x00\xc0\x00\x00\x20\x41", 8)));
        CHECK(f.names() == std::vector<std::string>{"a", "b"});
        CHECK(f.metadata().at("format") == "pt");
        CHECK(f.get<float>("a", io::Convert::allow).to_vector() == std::vector<float>{1.0f, -2.0f});
        CHECK(f.get<float>("b")[0] == 10.0f);
    }
}
