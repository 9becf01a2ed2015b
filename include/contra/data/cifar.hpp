// contra/data/cifar.hpp — CIFAR-10 and CIFAR-100 in their binary distribution
// (cifar-10-binary.tar.gz, cifar-100-binary.tar.gz), read strictly.
// defines: contra::data::CifarKind, CifarImages, kCifarSide, kCifarImageBytes, cifar_record_bytes,
//          cifar_classes, parse_cifar, read_cifar, cifar_test_file
//
// A file is a sequence of records, one per image:
//   CIFAR-10:  1 label byte (0–9),                          then 3072 pixel bytes
//   CIFAR-100: 1 coarse label byte (0–19), 1 fine (0–99),  then 3072 pixel bytes
// The pixel bytes are three 32×32 planes, red, green, blue, each row-major.
// A file whose size is not a whole number of records, an empty file and a label out of range are
// errors naming the file (and the record).
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "image_decode.hpp"

namespace contra::data {

enum class CifarKind { cifar10, cifar100 };

inline constexpr int kCifarSide = 32;
inline constexpr std::int64_t kCifarImageBytes = 3 * kCifarSide * kCifarSide;  // 3072

// cifar_record_bytes(kind): 3073 for CIFAR-10, 3074 for CIFAR-100.
inline std::int64_t cifar_record_bytes(CifarKind kind) { return (kind == CifarKind::cifar10 ? 1 : 2) + kCifarImageBytes; }
// cifar_classes(kind): 10 or 100 (the fine labels).
inline std::int64_t cifar_classes(CifarKind kind) { return kind == CifarKind::cifar10 ? 10 : 100; }

// CifarImages: the images of one file in file order.
struct CifarImages {
    CifarKind kind = CifarKind::cifar10;
    std::vector<std::uint8_t> planes;        // [N, 3, 32, 32]: as stored, red, green, blue planes
    std::vector<std::int32_t> labels;        // [N]: CIFAR-10's label or CIFAR-100's fine label
    std::vector<std::int32_t> coarse_labels; // [N]: CIFAR-100's superclass (empty for CIFAR-10)

    std::int64_t size() const { return std::int64_t(labels.size()); }

    // image(i): image i as an interleaved RGB Image (32×32, 3 channels).  requires: 0 ≤ i < size()
    Image image(std::int64_t i) const {
        CONTRA_CHECK(i >= 0 && i < size(), "CifarImages::image: index ", i, " outside [0, ", size(), ")");
        constexpr std::int64_t plane = kCifarSide * kCifarSide;
        const std::uint8_t* src = planes.data() + i * kCifarImageBytes;  // [3, 32, 32]
        Image out{kCifarSide, kCifarSide, 3, std::vector<std::uint8_t>(std::size_t(kCifarImageBytes))};
        for (std::int64_t p = 0; p < plane; ++p)
            for (std::int64_t c = 0; c < 3; ++c) out.pixels[std::size_t(p * 3 + c)] = src[c * plane + p];
        return out;
    }
};

// parse_cifar(bytes, kind, source): the records of bytes. source names the data in errors.
//   throws: Error naming source when bytes is empty or not a whole number of records, or when a
//           label is out of range (naming the record).
inline CifarImages parse_cifar(std::span<const std::uint8_t> bytes, CifarKind kind, const std::string& source) {
    const std::int64_t record = cifar_record_bytes(kind), total = std::int64_t(bytes.size());
    const char* name = kind == CifarKind::cifar10 ? "CIFAR-10" : "CIFAR-100";
    CONTRA_CHECK(total > 0, source, ": empty; a ", name, " file holds records of ", record, " bytes");
    CONTRA_CHECK(total % record == 0, source, ": ", total, " bytes is not a whole number of ", name, " records of ", record,
                 " bytes (", total / record, " records and ", total % record, " bytes left over: truncated or not ", name,
                 ")");
    const std::int64_t n = total / record, classes = cifar_classes(kind);
    CifarImages out;
    out.kind = kind;
    out.planes.resize(std::size_t(n * kCifarImageBytes));
    out.labels.resize(std::size_t(n));
    if (kind == CifarKind::cifar100) out.coarse_labels.resize(std::size_t(n));
    for (std::int64_t i = 0; i < n; ++i) {
        const std::uint8_t* r = bytes.data() + i * record;
        const std::int32_t label = kind == CifarKind::cifar10 ? r[0] : r[1];
        CONTRA_CHECK(label < classes, source, ": record ", i, " has label ", label, ", outside [0, ", classes, ") for ", name);
        if (kind == CifarKind::cifar100) {
            CONTRA_CHECK(r[0] < 20, source, ": record ", i, " has coarse label ", int(r[0]), ", outside [0, 20)");
            out.coarse_labels[std::size_t(i)] = r[0];
        }
        out.labels[std::size_t(i)] = label;
        const std::uint8_t* pixels = r + (record - kCifarImageBytes);
        std::copy(pixels, pixels + kCifarImageBytes, out.planes.begin() + i * kCifarImageBytes);
    }
    return out;
}

// read_cifar(path, kind): parse_cifar of the file's bytes.  throws: Error naming the file.
inline CifarImages read_cifar(const std::filesystem::path& path, CifarKind kind) {
    std::error_code ec;
    CONTRA_CHECK(std::filesystem::is_regular_file(path, ec), path.string(), ": not found (or not a file)");
    std::ifstream in(path, std::ios::binary);
    CONTRA_CHECK(in.good(), path.string(), ": cannot be opened");
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CONTRA_CHECK(!in.bad(), path.string(), ": read error");
    return parse_cifar(bytes, kind, path.string());
}

// cifar_test_file(folder, kind): the test split in folder: test_batch.bin (CIFAR-10) or test.bin
// (CIFAR-100), also found one level down in the archive's own folder (cifar-10-batches-bin,
// cifar-100-binary).  throws: Error naming both places when neither holds it.
inline std::filesystem::path cifar_test_file(const std::filesystem::path& folder, CifarKind kind) {
    const bool ten = kind == CifarKind::cifar10;
    const std::string file = ten ? "test_batch.bin" : "test.bin";
    const auto direct = folder / file, nested = folder / (ten ? "cifar-10-batches-bin" : "cifar-100-binary") / file;
    std::error_code ec;
    if (std::filesystem::is_regular_file(direct, ec)) return direct;
    if (std::filesystem::is_regular_file(nested, ec)) return nested;
    throw Error("no " + std::string(ten ? "CIFAR-10" : "CIFAR-100") + " test file: neither " + direct.string() + " nor " +
                nested.string() + " exists (the binary version, " + (ten ? "cifar-10-binary.tar.gz" : "cifar-100-binary.tar.gz") +
                ")");
}

}  // namespace contra::data
