// contra::io: a tensor written to a safetensors file (atomically, with a checksum) and read back.
#include <contra/io/safetensors.hpp>

#include <cstdio>
#include <filesystem>

int main() {
    using namespace contra;
    const auto path = std::filesystem::temp_directory_path() / "contra_consumer_io.safetensors";
    auto t = Tensor<float, cpu>::empty(Shape{2, 3});
    for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = float(i) / 2;
    io::SafetensorsWriter out;
    out.add("weights", t);
    out.with_checksum();
    out.write(path);
    const auto in = io::SafetensorsFile::read(path);
    in.verify_checksum();
    const auto back = in.get<float>("weights");
    std::filesystem::remove(path);
    std::printf("contra::io: %s read back\n", contra::detail::concat(back.shape()).c_str());
    return back[5] == 2.5f ? 0 : 1;
}
