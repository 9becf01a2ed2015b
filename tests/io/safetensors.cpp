// safetensors: round trips of every dtype, the exact bytes of a small file, atomic writes that
// leave the old file alone when they fail, and the rules for converting dtypes on load.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <cmath>
#include <contra/contra.hpp>
#include <contra/io/safetensors.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

using namespace contra;
using io::Convert;
using io::SafetensorsFile;
using io::SafetensorsWriter;
namespace fs = std::filesystem;

namespace {

// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "contra-io-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    std::vector<std::string> listing() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
};

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Distinct, sign-mixed values; for floating types the first elements are -0, inf and NaN.
template <class T>
Tensor<T, cpu> sample(const Shape& shape, int seed) {
    auto t = Tensor<T, cpu>::empty(shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) {
        if constexpr (is_floating<T>) {
            const float special[] = {-0.0f, INFINITY, NAN};
            t[i] = i < 3 ? T(special[i]) : T(float(seed) + 0.375f * float(i) * (i % 2 ? -1.f : 1.f));
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
            t[i] = (i % 2 ? -1 : 1) * (std::int64_t(3'000'000'019) * (i + 1) + seed);  // beyond 32 bits
        } else {
            t[i] = T((i * 37 + seed) % 251);
        }
    }
    return t;
}

template <class T>
bool same_bits(const Tensor<T, cpu>& a, const Tensor<T, cpu>& b) {
    return a.shape() == b.shape() && (a.numel() == 0 || std::memcmp(a.data(), b.data(), a.bytes()) == 0);
}

}  // namespace

TEST_CASE_TEMPLATE("safetensors: every dtype and shape survives a round trip", T, double, float, bf16, f16,
                   std::int64_t, std::int32_t, std::uint8_t) {
    const std::vector<Shape> shapes = {Shape{2, 3}, Shape{}, Shape{2, 0}, Shape{0}, Shape{1, 2, 3, 2, 2}, Shape{7}};
    SafetensorsWriter writer;
    std::vector<Tensor<T, cpu>> originals;
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        originals.push_back(sample<T>(shapes[i], int(i)));
        writer.add("t" + std::to_string(i), originals.back());
    }
    writer.set_metadata("format", "pt");
    writer.set_metadata("note", "ünïcode ✓");

    TempDir dir;
    const fs::path path = dir.path / "model.safetensors";
    writer.write(path);
    CHECK(slurp(path) == writer.to_bytes());

    for (const SafetensorsFile& file : {SafetensorsFile::read(path), SafetensorsFile::from_bytes(writer.to_bytes())}) {
        REQUIRE(file.names().size() == shapes.size());
        CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"note", "ünïcode ✓"}});
        for (std::size_t i = 0; i < shapes.size(); ++i) {
            const std::string name = "t" + std::to_string(i);
            CAPTURE(name);
            REQUIRE(file.contains(name));
            CHECK(file.info(name).dtype == dtype_of<T>);
            CHECK(file.info(name).shape == shapes[i]);
            const auto back = file.get<T>(name);
            CHECK(same_bits(back, originals[i]));
        }
    }
}

TEST_CASE("safetensors: a file mixing dtypes lays tensors out by element size, then by name") {
    SafetensorsWriter w;
    w.add("z_f16", sample<f16>(Shape{3}, 1));
    w.add("a_u8", sample<std::uint8_t>(Shape{5}, 2));
    w.add("m_f64", sample<double>(Shape{2, 2}, 3));
    w.add("b_i32", sample<std::int32_t>(Shape{3}, 4));
    w.add("a_f32", sample<float>(Shape{1}, 5));
    const auto file = SafetensorsFile::from_bytes(w.to_bytes());
    CHECK(file.names() == std::vector<std::string>{"m_f64", "a_f32", "b_i32", "z_f16", "a_u8"});
    for (const auto& name : file.names()) {
        const auto& info = file.info(name);
        CHECK(info.begin % dtype_size(info.dtype) == 0);  // aligned, since the header is padded to 8
    }
    CHECK(file.metadata().empty());
    CHECK(same_bits(file.get<std::int32_t>("b_i32"), sample<std::int32_t>(Shape{3}, 4)));
    CHECK_FALSE(file.contains("nope"));
    CHECK_THROWS_WITH_AS(file.get<float>("nope"),
                         doctest::Contains("no tensor named \"nope\" (the file has 5 tensors: m_f64, a_f32"), Error);
}

TEST_CASE("safetensors: the bytes of a small file, written out by hand") {
    SafetensorsWriter w;
    w.add("b", Tensor<float, cpu>::from(Shape{2}, {1.0f, -2.0f}));
    w.add("a", Tensor<std::int32_t, cpu>::from(Shape{}, {7}));
    w.add("c", Tensor<double, cpu>::from(Shape{1, 1}, {0.5}));
    w.set_metadata("format", "pt");

    std::string header =
        R"({"__metadata__":{"format":"pt"},)"
        R"("c":{"dtype":"F64","shape":[1,1],"data_offsets":[0,8]},)"
        R"("a":{"dtype":"I32","shape":[],"data_offsets":[8,12]},)"
        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})";
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string expected;
    for (int i = 0; i < 8; ++i) expected += char((header.size() >> (8 * i)) & 0xff);
    expected += header;
    const unsigned char data[] = {0, 0, 0, 0, 0, 0, 0xe0, 0x3f,  // 0.5 as f64
                                  7, 0, 0, 0,                    // 7 as i32
                                  0, 0, 0x80, 0x3f,              // 1.0f
                                  0, 0, 0, 0xc0};                // -2.0f
    expected.append(reinterpret_cast<const char*>(data), sizeof data);

    const std::string bytes = w.to_bytes();
    CHECK(bytes == expected);
    CHECK(header.size() % 8 == 0);
    CHECK(bytes[8] == '{');
    TempDir dir;
    w.write(dir.path / "small.safetensors");
    CHECK(slurp(dir.path / "small.safetensors") == expected);
}

TEST_CASE("safetensors: a failed write leaves the existing file untouched") {
    TempDir dir;
    const fs::path path = dir.path / "model.safetensors";
    SafetensorsWriter first;
    first.add("w", sample<float>(Shape{4, 4}, 1));
    first.write(path);
    const std::string before = slurp(path);
    const auto check_untouched = [&] {
        CHECK(slurp(path) == before);
        CHECK(dir.listing() == std::vector<std::string>{"model.safetensors"});  // no temporary left behind
    };

    SUBCASE("a tensor whose arena was reset fails in the middle of the write") {
        Arena<cpu> arena;
        auto stale = Tensor<float, cpu>::empty(Shape{1000}, arena);
        SafetensorsWriter w;
        w.add("big", sample<double>(Shape{64}, 2));  // written before the stale one
        w.add("stale", stale);
        arena.reset();
        CHECK_THROWS_WITH_AS(w.write(path), doctest::Contains("arena"), Error);
        check_untouched();
    }
    SUBCASE("the path is a directory") {
        const fs::path sub = dir.path / "sub";
        fs::create_directory(sub);
        SafetensorsWriter w;
        w.add("x", sample<float>(Shape{2}, 3));
        CHECK_THROWS_WITH_AS(w.write(sub), doctest::Contains(("cannot rename the temporary file to " + sub.string()).c_str()),
                             Error);
        CHECK(fs::is_directory(sub));
        fs::remove(sub);
        check_untouched();
    }
    SUBCASE("a duplicated name is refused at add(), and the first tensor stays") {
        SafetensorsWriter w;
        w.add("w", sample<float>(Shape{2}, 4));
        CHECK_THROWS_WITH_AS(w.add("w", sample<float>(Shape{3}, 5)),
                             doctest::Contains("a tensor named \"w\" was already added"), Error);
        check_untouched();
        w.write(path);
        CHECK(SafetensorsFile::read(path).info("w").shape == Shape{2});
    }
}

TEST_CASE("safetensors: writing into a missing directory fails and creates nothing") {
    TempDir dir;
    SafetensorsWriter w;
    w.add("x", sample<float>(Shape{2}, 1));
    const fs::path path = dir.path / "missing" / "model.safetensors";
    CHECK_THROWS_WITH_AS(w.write(path), doctest::Contains(path.string().c_str()), Error);
    CHECK(dir.listing().empty());
}

TEST_CASE("safetensors: a smaller file replaces a larger one completely") {
    TempDir dir;
    const fs::path path = dir.path / "m.safetensors";
    SafetensorsWriter big, small;
    big.add("x", sample<double>(Shape{100}, 1));
    small.add("y", sample<std::uint8_t>(Shape{3}, 2));
    big.write(path);
    small.write(path);
    CHECK(slurp(path) == small.to_bytes());
    CHECK(SafetensorsFile::read(path).names() == std::vector<std::string>{"y"});
}

TEST_CASE("safetensors: the writer refuses reserved and non-UTF-8 names") {
    SafetensorsWriter w;
    CHECK_THROWS_WITH_AS(w.add("__metadata__", sample<float>(Shape{1}, 0)), doctest::Contains("reserved"), Error);
    CHECK_THROWS_WITH_AS(w.add("bad\xff", sample<float>(Shape{1}, 0)), doctest::Contains("UTF-8"), Error);
    CHECK_THROWS_WITH_AS(w.set_metadata("k", "\xc0\xaf"), doctest::Contains("UTF-8"), Error);
    CHECK_THROWS_WITH_AS(w.add("empty", Tensor<float, cpu>()), doctest::Contains("has no storage"), Error);
}

TEST_CASE("safetensors: errors reading a file name the file") {
    TempDir dir;
    const fs::path missing = dir.path / "absent.safetensors";
    CHECK_THROWS_WITH_AS(SafetensorsFile::read(missing), doctest::Contains((missing.string() + "': cannot open").c_str()), Error);
    CHECK_THROWS_WITH_AS(SafetensorsFile::read(dir.path), doctest::Contains("not a regular file"), Error);

    SafetensorsWriter w;
    w.add("x", sample<float>(Shape{4}, 1));
    const std::string bytes = w.to_bytes();
    const fs::path cut = dir.path / "cut.safetensors";
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 2);
    CHECK_THROWS_WITH_AS(SafetensorsFile::read(cut),
                         doctest::Contains((cut.string() + "': tensor \"x\": data_offsets [0, 16] reach past the end").c_str()),
                         Error);
}

TEST_CASE("safetensors: every truncation is an Error, and no byte flip crashes the reader") {
    SafetensorsWriter w;
    w.add("a", sample<float>(Shape{2, 2}, 1));
    w.add("b", sample<std::int64_t>(Shape{}, 2));
    w.add("c", sample<bf16>(Shape{0, 3}, 3));
    w.set_metadata("k", "v");
    const std::string bytes = w.to_bytes();
    for (std::size_t keep = 0; keep < bytes.size(); ++keep) {
        CAPTURE(keep);
        CHECK_THROWS_AS(SafetensorsFile::from_bytes(bytes.substr(0, keep)), Error);
    }
    int accepted = 0;
    for (std::size_t at = 0; at < bytes.size(); ++at)
        for (unsigned char flip : {0x01, 0x80, 0xff}) {
            std::string corrupt = bytes;
            corrupt[at] = char(corrupt[at] ^ flip);
            try {
                const auto f = SafetensorsFile::from_bytes(corrupt);
                for (const auto& name : f.names()) {
                    if (f.info(name).dtype == DType::f32) f.get<float>(name);
                }
                ++accepted;
            } catch (const Error&) {
            }
        }
    CHECK(accepted > 0);  // flips inside the data (and some in names) still give valid files
}

TEST_CASE("safetensors: dtype conversion on load is explicit") {
    SafetensorsWriter w;
    const auto weights = Tensor<bf16, cpu>::from(Shape{3}, {bf16(1.5f), bf16(-0.1f), bf16(3e38f)});
    w.add("bf16", weights);
    w.add("f64", Tensor<double, cpu>::from(Shape{2}, {1.0 / 3.0, 1e300}));
    w.add("f32", Tensor<float, cpu>::from(Shape{1}, {0.1f}));
    w.add("i64_small", Tensor<std::int64_t, cpu>::from(Shape{2}, {1, -5}));
    w.add("i64_big", Tensor<std::int64_t, cpu>::from(Shape{3}, {1, -5, std::int64_t(1) << 40}));
    w.add("i32", Tensor<std::int32_t, cpu>::from(Shape{2}, {-1, 200}));
    w.add("u8", Tensor<std::uint8_t, cpu>::from(Shape{2}, {0, 255}));
    const auto f = SafetensorsFile::from_bytes(w.to_bytes(), "conv.safetensors");

    CHECK_THROWS_WITH_AS(f.get<float>("bf16"),
                         doctest::Contains("'conv.safetensors': tensor \"bf16\" is stored as BF16 but F32 was requested "
                                           "(pass Convert::allow to convert)"),
                         Error);
    const auto widened = f.get<float>("bf16", Convert::allow);
    for (int i = 0; i < 3; ++i) CHECK(widened[i] == float(weights[i]));

    // widen: only conversions that keep every value.
    CHECK(f.get<float>("bf16", Convert::widen).to_vector() == widened.to_vector());
    CHECK(f.get<double>("f32", Convert::widen)[0] == double(0.1f));
    CHECK(f.get<std::int64_t>("i32", Convert::widen).to_vector() == std::vector<std::int64_t>{-1, 200});
    CHECK_THROWS_WITH_AS(f.get<float>("f64", Convert::widen),
                         doctest::Contains("stored as F64 but F32 was requested (only conversions that keep every value"),
                         Error);
    CHECK_THROWS_WITH_AS(f.get<bf16>("f32", Convert::widen), doctest::Contains("stored as F32 but BF16"), Error);
    CHECK_THROWS_WITH_AS(f.get<std::int32_t>("i64_small", Convert::widen), doctest::Contains("stored as I64 but I32"), Error);

    const auto thirds = f.get<f16>("f64", Convert::allow);
    CHECK(thirds[0].bits == f16(float(1.0 / 3.0)).bits);
    CHECK(std::isinf(float(thirds[1])));  // 1e300 overflows half precision
    CHECK(f.get<double>("f32", Convert::allow)[0] == double(0.1f));
    CHECK(f.get<double>("f64", Convert::allow)[0] == 1.0 / 3.0);  // same dtype: allow changes nothing

    const auto narrowed = f.get<std::int32_t>("i64_small", Convert::allow);
    CHECK(narrowed.to_vector() == std::vector<std::int32_t>{1, -5});
    CHECK_THROWS_WITH_AS(f.get<std::int32_t>("i64_small"), doctest::Contains("stored as I64 but I32"), Error);
    CHECK_THROWS_WITH_AS(f.get<std::int32_t>("i64_big", Convert::allow),
                         doctest::Contains("element 2 = 1099511627776 does not fit I32"), Error);
    CHECK(f.get<std::int64_t>("i32", Convert::allow).to_vector() == std::vector<std::int64_t>{-1, 200});
    CHECK(f.get<std::int32_t>("u8", Convert::allow).to_vector() == std::vector<std::int32_t>{0, 255});
    CHECK_THROWS_WITH_AS(f.get<std::uint8_t>("i32", Convert::allow), doctest::Contains("element 0 = -1 does not fit U8"),
                         Error);

    CHECK_THROWS_WITH_AS(f.get<float>("i32", Convert::allow),
                         doctest::Contains("floating and integer types do not convert into each other"), Error);
    CHECK_THROWS_WITH_AS(f.get<std::int32_t>("f32", Convert::allow),
                         doctest::Contains("stored as F32 but I32 was requested"), Error);
}
