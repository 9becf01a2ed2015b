// fuzz_seeds OUT: writes the seed corpora OUT/<target>/ for the fuzz targets, from contra's own
// writers, small hand-built files and the test fixtures in tests/golden (nothing is committed:
// run.sh makes them in the build folder). An ordinary program (no libFuzzer).
#include <zlib.h>

#include <contra/contra.hpp>
#include <contra/data/bpe_learn.hpp>
#include <contra/data/idx.hpp>
#include <contra/data/tokenizer.hpp>
#include <contra/io/checkpoint.hpp>
#include <contra/io/config_json.hpp>
#include <contra/io/safetensors.hpp>
#include <contra/nn/config.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "../datasets/tar_writer.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

fs::path out_root;

void put(const std::string& target, const std::string& name, const std::string& bytes) {
    fs::create_directories(out_root / target);
    std::ofstream(out_root / target / name, std::ios::binary) << bytes;
}
std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
std::string gzip(const std::string& bytes) {
    const auto tmp = out_root / "tmp.gz";
    gzFile f = gzopen(tmp.c_str(), "wb9");
    if (!bytes.empty()) gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
    auto out = slurp(tmp);
    fs::remove(tmp);
    return out;
}
template <class T>
Tensor<T, cpu> ramp(Shape shape) {
    auto t = Tensor<T, cpu>::empty(shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = static_cast<T>(static_cast<float>(i % 7));
    return t;
}

void safetensors_seeds() {
    {
        io::SafetensorsWriter w;
        w.add("f32", ramp<float>(Shape{2, 3}));
        w.add("f64", ramp<double>(Shape{2}));
        w.add("bf16", ramp<bf16>(Shape{3}));
        w.add("f16", ramp<f16>(Shape{1, 2}));
        w.add("i64", ramp<std::int64_t>(Shape{2}));
        w.add("i32", ramp<std::int32_t>(Shape{}));
        w.add("u8", ramp<std::uint8_t>(Shape{4, 0}));
        w.set_metadata("note", "seed");
        put("fuzz_safetensors", "dtypes.safetensors", w.to_bytes());
        w.with_checksum();
        put("fuzz_safetensors", "checksum.safetensors", w.to_bytes());
    }
    const auto vit = [](const std::string& prefix, std::int64_t width) {  // an OpenAI-layout ViT's shapes (U8 keeps it small)
        io::SafetensorsWriter w;
        w.add(prefix + "token_embedding.weight", ramp<std::uint8_t>(Shape{10, width}));
        w.add(prefix + "positional_embedding", ramp<std::uint8_t>(Shape{6, width}));
        w.add(prefix + "transformer.resblocks.0.mlp.c_fc.weight", ramp<std::uint8_t>(Shape{2 * width, 0}));
        w.add(prefix + "transformer.resblocks.1.mlp.c_fc.weight", ramp<std::uint8_t>(Shape{2 * width, 0}));
        w.add(prefix + "text_projection", ramp<std::uint8_t>(Shape{width, 8}));
        w.add(prefix + "visual.conv1.weight", ramp<std::uint8_t>(Shape{width, 3, 4, 0}));
        w.add(prefix + "visual.positional_embedding", ramp<std::uint8_t>(Shape{5, 0}));
        w.add(prefix + "visual.transformer.resblocks.0.mlp.c_fc.weight", ramp<std::uint8_t>(Shape{4 * width, 0}));
        return w;
    };
    put("fuzz_safetensors", "openai_vit.safetensors", vit("", 64).to_bytes());
    put("fuzz_safetensors", "openai_vit_module.safetensors", vit("module.", 16).to_bytes());
    {
        auto w = vit("", 64);
        w.set_metadata("activation", "gelu");
        w.set_metadata("contra_config", io::to_json(model::preset("tiny")).dump());
        put("fuzz_safetensors", "openai_config.safetensors", w.to_bytes());
    }
    {
        io::SafetensorsWriter w;  // ModifiedResNet image tower
        w.add("token_embedding.weight", ramp<std::uint8_t>(Shape{10, 64}));
        w.add("positional_embedding", ramp<std::uint8_t>(Shape{6, 0}));
        w.add("transformer.resblocks.0.mlp.c_fc.weight", ramp<std::uint8_t>(Shape{256, 0}));
        w.add("text_projection", ramp<std::uint8_t>(Shape{64, 8}));
        w.add("visual.conv1.weight", ramp<std::uint8_t>(Shape{32, 3, 3, 0}));
        w.add("visual.layer1.0.conv1.weight", ramp<std::uint8_t>(Shape{8, 0}));
        w.add("visual.layer2.0.conv1.weight", ramp<std::uint8_t>(Shape{8, 0}));
        w.add("visual.attnpool.positional_embedding", ramp<std::uint8_t>(Shape{50, 0}));
        w.set_metadata("resnet_heads", "4");
        put("fuzz_safetensors", "openai_resnet.safetensors", w.to_bytes());
    }
    {
        io::SafetensorsWriter w;  // a contra checkpoint's metadata
        w.add("model/ln_final.weight", ramp<float>(Shape{4}));
        w.set_metadata("format", io::kCheckpointFormat);
        w.set_metadata("config", io::to_json(model::preset("tiny")).dump());
        put("fuzz_safetensors", "checkpoint.safetensors", w.to_bytes());
    }
}

void hf_config_seeds(const fs::path& source) {
    put("fuzz_hf_config", "tiny_clip_hf.json", slurp(source / "tests/golden/tiny_clip_hf/config.json"));
    put("fuzz_hf_config", "contra_tiny.json", io::to_json(model::preset("tiny")).dump(1));
    put("fuzz_hf_config", "small.json",
        R"({"projection_dim": 8, "text_config": {"hidden_size": 64, "intermediate_size": 256, "vocab_size": 100, )"
        R"("eos_token_id": 99, "hidden_act": "gelu", "layer_norm_eps": 1e-5}, "vision_config": {"hidden_act": "gelu", )"
        R"("stem_channels": 0, "image_size": 32, "patch_size": 8}})");
    put("fuzz_hf_config", "empty.json", "{}");
}

void bpe_seeds(const fs::path& shared) {
    std::vector<std::string> corpus = {"a photo of a cat.", "a photo of a dog.", "the cat sat on the mat", "naïve café"};
    const auto learned = data::learn_bpe(corpus, 514 + 40);
    const auto tmp = out_root / "merges.tmp";
    learned.save_merges(tmp.string());
    const std::string text = slurp(tmp);
    fs::remove(tmp);
    put("fuzz_bpe_merges", "learned.txt", text);
    put("fuzz_bpe_merges", "learned.txt.gz", gzip(text));
    put("fuzz_bpe_merges", "crlf.txt", "#version: 0.2\r\nt h\r\nth e</w>\r\n\r\n");
    const auto clip = shared / "data/bpe_simple_vocab_16e6.txt.gz";
    if (fs::exists(clip)) {  // the first 400 lines of CLIP's merges
        gzFile f = gzopen(clip.c_str(), "rb");
        std::string head;
        char buffer[1 << 14];
        int lines = 0;
        for (int got; lines < 400 && (got = gzread(f, buffer, sizeof buffer)) > 0;)
            for (int i = 0; i < got && lines < 400; ++i) {
                head += buffer[i];
                lines += buffer[i] == '\n';
            }
        gzclose(f);
        put("fuzz_bpe_merges", "clip_head.txt", head);
        put("fuzz_bpe_merges", "clip_head.txt.gz", gzip(head));
    }
}

std::string be32(std::uint32_t v) {
    return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

void idx_seeds() {
    std::string images = be32(data::kIdxImagesMagic) + be32(3) + be32(4) + be32(5);
    for (int i = 0; i < 60; ++i) images += char(i * 4);
    std::string labels = be32(data::kIdxLabelsMagic) + be32(6);
    for (int i = 0; i < 6; ++i) labels += char(i * 3);
    put("fuzz_idx", "images", images);
    put("fuzz_idx", "images.gz", gzip(images));
    put("fuzz_idx", "labels", labels);
    put("fuzz_idx", "labels.gz", gzip(labels));
    put("fuzz_idx", "empty_images", be32(data::kIdxImagesMagic) + be32(0) + be32(28) + be32(28));
}

void caption_seeds() {
    // The first byte picks the separator (see fuzz_caption_table.cpp): 0 auto, 3 ',', 4 tab.
    put("fuzz_caption_table", "tsv", std::string(1, '\0') + "filepath\ttitle\nimg/a.jpg\ta cat\n/abs/b.png\ta dog\n");
    put("fuzz_caption_table", "csv",
        std::string(1, '\3') + "\xEF\xBB\xBF" "id,filepath,title\r\n1,a.jpg,\"a cat, \"\"big\"\"\"\r\n\r\n2,b.jpg,\"two\nlines\"\r\n");
    put("fuzz_caption_table", "named", std::string(1, char(0x80 | 4)) + "image\tcaption\tx\nq.jpg\tq\t1\n");
    put("fuzz_caption_table", "semicolon", std::string(1, '\5') + "filepath;title\na.jpg;x\rb.jpg;y");
}

void tar_seeds() {
    using test::TarMember;
    const auto png = slurp(out_root / "fuzz_image/image_c.png");
    const std::vector<TarMember> members = {
        {"dir", "", true},
        {"dir/000.jpg", "jpegbytes"},
        {"dir/000.txt", "a photo of a cat"},
        {"dir/001.PNG", png},
        {"dir/001.txt", ""},
        {"dir/001.json", "{}"},
        {"002.txt", "caption only"},
        {"003.a.b.webp", "w"},
        {"003.a.b.txt", "dots"},
        {"noext", "ignored"},
        {".hidden", "ignored"},
    };
    const auto tmp = out_root / "shard.tmp";
    test::write_tar(tmp, members);
    put("fuzz_tar_shard", "shard.tar", slurp(tmp));
    test::write_tar(tmp, members, true);
    put("fuzz_tar_shard", "shard.tar.gz", slurp(tmp));
    test::write_tar(tmp, {{"a.jpg", std::string(5000, 'x')}, {"a.txt", "too big image"}});
    put("fuzz_tar_shard", "oversized.tar", slurp(tmp));
    fs::remove(tmp);
}

void image_seeds(const fs::path& source) {
    for (const auto& entry : fs::directory_iterator(source / "tests/golden")) {
        const auto ext = entry.path().extension();
        if (ext == ".png" || ext == ".jpg") put("fuzz_image", entry.path().filename().string(), slurp(entry.path()));
    }
}

void tokenizer_seeds() {
    int k = 0;
    for (const std::string& text : std::vector<std::string>{"a photo of a cat.", "A Blurry PHOTO of the Eiffel Tower, 1889!!",
                             "&amp; &lt;b&gt; &#x27;quoted&#39; &ampfoo &nbsp;x", "naïve café — “résumé” ﬁne ＡＢＣ",
                             "<|startoftext|>hi<|endoftext|> don't we'll I'M", "東京の夜景 🐈‍⬛ e\u0301\u0301\u0301",
                             "\xc3\x28 \xe2\x82 \xf0\x9f\x98 \x80 bad utf-8", "ΣΑΣ ΟΔΟΣ İstanbul", "\t\n  spaced   out  \r\n",
                             std::string("\xff") + "a cat\na dog\nthe cat sat\n"})
        put("fuzz_tokenizer", "text" + std::to_string(k++), text);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: fuzz_seeds OUT\n";
        return 2;
    }
    out_root = argv[1];
    fs::create_directories(out_root);
    const fs::path source = CONTRA_SOURCE_DIR, shared = CONTRA_SHARED_DIR;
    image_seeds(source);  // first: the tar seeds embed one of the images
    safetensors_seeds();
    hf_config_seeds(source);
    bpe_seeds(shared);
    idx_seeds();
    caption_seeds();
    tar_seeds();
    tokenizer_seeds();
    for (const auto& dir : fs::directory_iterator(out_root)) {
        std::size_t n = 0, bytes = 0;
        for (const auto& f : fs::directory_iterator(dir)) ++n, bytes += fs::file_size(f);
        std::cout << dir.path().filename().string() << ": " << n << " seeds, " << bytes << " bytes\n";
    }
    return 0;
}
