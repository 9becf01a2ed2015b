// fuzz_hf_config: the JSON readers of pretrained.hpp on arbitrary bytes:
//   1. as an HF CLIPModel folder's config.json (describe_pretrained(folder): read_hf_config,
//      then the folder's model.safetensors, here an empty valid file);
//   2. as the "config" metadata of a contra checkpoint (describe_pretrained(file): config_from_json);
//   3. as the "contra_config" metadata of an OpenAI-layout file.
#include <contra/io/checkpoint.hpp>
#include <contra/io/pretrained.hpp>
#include <contra/io/safetensors.hpp>

#include "fuzz_common.hpp"

using namespace contra;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(fuzz::as_text(data, size));
    static const auto folder = [] {
        const auto dir = fuzz::scratch_dir() / "hf";
        std::filesystem::create_directories(dir);
        io::SafetensorsWriter().write(dir / "model.safetensors");
        return dir;
    }();
    fuzz::write_file("hf/config.json", text);
    fuzz::accepts([&] { io::describe_pretrained(folder); });

    if (io::detail::invalid_utf8_at(text) != std::string_view::npos) return 0;  // metadata is UTF-8 by format
    {
        io::SafetensorsWriter checkpoint;
        checkpoint.set_metadata("format", io::kCheckpointFormat);
        checkpoint.set_metadata("config", text);
        // to_bytes + a plain write: SafetensorsWriter::write's atomic replace syncs to disk (slow)
        const auto path = fuzz::write_file("checkpoint.safetensors", checkpoint.to_bytes());
        fuzz::accepts([&] { io::describe_pretrained(path); });
    }
    {
        io::SafetensorsWriter openai;
        openai.set_metadata("contra_config", text);
        const auto path = fuzz::write_file("openai.safetensors", openai.to_bytes());
        fuzz::accepts([&] { io::describe_pretrained(path); });
    }
    return 0;
}
