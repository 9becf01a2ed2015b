// examples/variants/shapes_csv.cpp — image–caption files to train on: shapes rendered by
// data::shapes as PNG files, listed with their captions in open_clip's CSV layout
// (filepath,title), a training table and a held-out one.
//   shapes_csv DIR [TRAIN_COUNT] [VAL_COUNT]   → DIR/train.csv, DIR/val.csv, DIR/images/*.png
#include <stb/stb_image_write.h>

#include <contra/data/shapes.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace contra;
namespace fs = std::filesystem;

// write_split(dir, name, count, split): `count` samples as PNG files and a caption table.
void write_split(const fs::path& dir, const std::string& name, int count, data::shapes::Split split) {
    std::ofstream table(dir / (name + ".csv"));
    table << "filepath,title\n";
    const auto batch = data::shapes::make_batch(0, count, /*seed=*/5, split);
    const std::int64_t s = batch.images.size(2);
    std::vector<unsigned char> pixels(std::size_t(s * s * 3));
    for (int i = 0; i < count; ++i) {
        for (std::int64_t y = 0; y < s; ++y)  // [3, S, S] in [0, 1] → interleaved RGB bytes
            for (std::int64_t x = 0; x < s; ++x)
                for (int c = 0; c < 3; ++c)
                    pixels[std::size_t((y * s + x) * 3 + c)] = (unsigned char)(255.0f * batch.images.at(i, c, y, x) + 0.5f);
        const std::string file = "images/" + name + "-" + std::to_string(i) + ".png";
        if (!stbi_write_png((dir / file).c_str(), int(s), int(s), 3, pixels.data(), int(s * 3)))
            throw Error("cannot write " + (dir / file).string());
        table << file << "," << batch.captions[std::size_t(i)] << "\n";
    }
}

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: shapes_csv DIR [TRAIN_COUNT] [VAL_COUNT]\n");
        return 2;
    }
    const fs::path dir = argv[1];
    fs::create_directories(dir / "images");
    write_split(dir, "train", argc > 2 ? std::stoi(argv[2]) : 2048, data::shapes::Split::train);
    write_split(dir, "val", argc > 3 ? std::stoi(argv[3]) : 256, data::shapes::Split::test);
    std::printf("wrote %s/train.csv and %s/val.csv\n", dir.c_str(), dir.c_str());
}
