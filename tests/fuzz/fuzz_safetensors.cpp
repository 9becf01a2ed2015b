// fuzz_safetensors: SafetensorsFile::from_bytes on arbitrary bytes; for an accepted file, every
// tensor read back (exact and converted), the checksum, the same file through read(path), and
// describe_pretrained's inference of a CLIP architecture from its tensor names and shapes.
#include <contra/io/pretrained.hpp>
#include <contra/io/safetensors.hpp>

#include "fuzz_common.hpp"

using namespace contra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes(fuzz::as_text(data, size));
    std::optional<io::SafetensorsFile> file;
    if (!fuzz::accepts([&] { file.emplace(io::SafetensorsFile::from_bytes(bytes, "fuzz.safetensors")); })) return 0;
    for (const auto& name : file->names()) {
        fuzz::accepts([&] { file->get<float>(name, io::Convert::allow); });
        fuzz::accepts([&] { file->get<std::int64_t>(name, io::Convert::allow); });
        fuzz::accepts([&] { file->get<std::uint8_t>(name, io::Convert::allow); });
        fuzz::accepts([&] { file->get<double>(name); });
    }
    fuzz::accepts([&] { file->verify_checksum(); });
    const auto path = fuzz::write_file("fuzz.safetensors", bytes);
    fuzz::accepts([&] {
        const auto again = io::SafetensorsFile::read(path);
        if (again.names() != file->names()) std::abort();
    });
    fuzz::accepts([&] { io::describe_pretrained(path); });
    return 0;
}
