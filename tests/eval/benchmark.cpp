// tasks/benchmark.hpp: zero-shot classification of an image folder and of CIFAR images, and
// retrieval over a caption table with several captions per image.
//   - On a model whose embeddings are chosen by hand (ColourModel), the answers are known exactly:
//     top-1, per-class accuracy, confusion, and the retrieval ranks and R@k.
//   - On a real (random) tiny CLIP, zero_shot_folder agrees with the same metrics computed by hand
//     from eval::zero_shot_logits of the images embedded one by one.
//   - Bad input: an empty class folder, a class-name count that differs from the folders, a broken
//     image (an error naming it, or left out and listed), a template without "{}", an empty table.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>

#include <array>
#include <contra/tasks/benchmark.hpp>
#include <map>

#include "../support/temp_dir.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace {

// ColourModel: an image's embedding is the one-hot of its strongest channel (red e0, green e1,
// blue e2); a text's is the one-hot of the first of the letters r, g, b that starts a word in it
// ("a photo of a green." → e1), or (1, 1, 1) when none does.
struct ColourModel {
    using value_type = float;
    using backend = cpu;
    model::ClipConfig config = model::preset("tiny");  // 8×8 colour images
    std::array<std::int32_t, 3> word_start_ids{};       // the ids of word-initial r, g, b

    explicit ColourModel(const tasks::CaptionEncoder& encoder) {
        const char* words[] = {"red", "green", "blue"};
        for (int c = 0; c < 3; ++c) word_start_ids[std::size_t(c)] = encoder.row(words[c])[1];
    }
    Var<float, cpu> encode_image(const Tensor<float, cpu>& images) const {  // [b, 3, S, S]
        const std::int64_t b = images.size(0), plane = images.size(2) * images.size(3);
        auto out = Tensor<float, cpu>::zeros(Shape{b, 3});  // [b, 3]
        for (std::int64_t i = 0; i < b; ++i) {
            std::array<double, 3> mean{};
            for (std::int64_t c = 0; c < 3; ++c)
                for (std::int64_t p = 0; p < plane; ++p) mean[std::size_t(c)] += images.data()[(i * 3 + c) * plane + p];
            out.at(i, std::int64_t(std::max_element(mean.begin(), mean.end()) - mean.begin())) = 1;
        }
        return Var<float, cpu>(out);
    }
    Var<float, cpu> encode_text(const Tensor<ops::Index, cpu>& tokens) const {  // [b, L]
        const std::int64_t b = tokens.size(0), length = tokens.size(1);
        auto out = Tensor<float, cpu>::empty(Shape{b, 3});  // [b, 3]
        for (std::int64_t i = 0; i < b; ++i) {
            std::int64_t colour = -1;
            for (std::int64_t t = 0; t < length && colour < 0; ++t)
                for (std::int64_t c = 0; c < 3; ++c)
                    if (tokens.data()[i * length + t] == word_start_ids[std::size_t(c)]) colour = c;
            for (std::int64_t c = 0; c < 3; ++c) out.at(i, c) = colour < 0 || colour == c ? 1.0f : 0.0f;
        }
        return Var<float, cpu>(out);
    }
};

const tasks::CaptionEncoder& bytes_encoder() {
    static const tasks::CaptionEncoder encoder(data::Tokenizer(), 32);  // bytes only: 514 ids
    return encoder;
}

// A solid w × h PNG of one colour, with a little noise so that no two files are alike.
void write_png(const fs::path& path, std::array<int, 3> rgb, int w = 11, int h = 9) {
    std::vector<std::uint8_t> pixels;
    for (int i = 0; i < w * h; ++i)
        for (int c = 0; c < 3; ++c) pixels.push_back(std::uint8_t(std::clamp(rgb[std::size_t(c)] + (i * 13 + c) % 9 - 4, 0, 255)));
    fs::create_directories(path.parent_path());
    REQUIRE(stbi_write_png(path.c_str(), w, h, 3, pixels.data(), w * 3) != 0);
}
constexpr std::array<int, 3> kRed{230, 20, 20}, kGreen{20, 230, 20}, kBlue{20, 20, 230};

// folder/ blue: 1 blue image; green: a green image and a blue one; red: 2 red images.
void write_colour_folder(const fs::path& root) {
    write_png(root / "blue" / "b0.png", kBlue);
    write_png(root / "green" / "g0.png", kGreen);
    write_png(root / "green" / "g1.png", kBlue);  // looks blue: the one error
    write_png(root / "red" / "r0.png", kRed);
    write_png(root / "red" / "r1.png", kRed, 20, 5);
}
const std::vector<std::string> kPhotoOf{"a photo of a {}."};

}  // namespace

TEST_CASE("benchmark: zero-shot on a folder gives the known answers of a hand-made model") {
    const test::TempDir dir("bench_folder");
    write_colour_folder(dir / "colours");
    test::write_file(dir / "colours" / "README.txt", "not an image");
    const auto folder = tasks::scan_image_folder(dir / "colours");
    CHECK(folder.class_folders == std::vector<std::string>{"blue", "green", "red"});
    CHECK(folder.labels == std::vector<eval::Label>{0, 1, 1, 2, 2});
    REQUIRE(folder.ignored.size() == 1);
    CHECK(folder.ignored[0].filename() == "README.txt");

    const ColourModel model(bytes_encoder());
    tasks::BenchmarkOptions options;
    options.batch = 2;  // batches that split the classes
    const auto r = tasks::zero_shot_folder(model, bytes_encoder(), folder, {}, kPhotoOf, options);
    CHECK(r.images == 5);
    CHECK(r.templates == 1);
    CHECK(r.class_names == std::vector<std::string>{"blue", "green", "red"});
    CHECK(r.top1 == doctest::Approx(4.0 / 5));
    CHECK(!r.top5.has_value());  // 3 classes
    REQUIRE(r.per_class.size() == 3);
    CHECK(r.per_class[0].accuracy == 1.0);
    CHECK(r.per_class[0].count == 1);
    CHECK(r.per_class[1].accuracy == 0.5);
    CHECK(r.per_class[1].count == 2);
    CHECK(r.per_class[2].accuracy == 1.0);
    CHECK(r.mean_per_class_recall == doctest::Approx(2.5 / 3));
    CHECK(r.confusion.count(1, 0) == 1);  // the blue-looking image of green, predicted blue
    CHECK(r.predictions == std::vector<eval::Label>{0, 1, 0, 2, 2});
    CHECK(r.skipped.empty());

    // The JSON of the report and its confusion plot.
    const auto j = tasks::zero_shot_json(r);
    CHECK(j["metrics"]["acc1"].get<double>() == doctest::Approx(0.8));
    CHECK(!j["metrics"].contains("acc5"));
    CHECK(j["per_class"]["green"]["accuracy"].get<double>() == 0.5);
    CHECK(j["per_class"]["green"]["count"].get<int>() == 2);
    const auto plot = tasks::confusion_plot(r, "colours");
    CHECK(plot.classes.size() == 3);
    CHECK(plot.counts == std::vector<std::int64_t>{1, 0, 0, 1, 1, 0, 0, 0, 2});
    CHECK(!report::render_svg(plot).empty());
    // With at most 2 classes shown: the two lowest accuracies (green 0.5, then blue, first of the
    // ties) and a column for what went elsewhere.
    const auto small = tasks::confusion_plot(r, "colours", 2);
    CHECK(small.classes == std::vector<std::string>{"blue", "green", "(other classes)"});
    CHECK(small.counts == std::vector<std::int64_t>{1, 0, 0, 1, 1, 0, 0, 0, 0});

    // Class names from a list replace the folder names (same order).
    const auto named = tasks::zero_shot_folder(model, bytes_encoder(), dir / "colours",
                                               {"blue sky", "green grass", "red fire"}, kPhotoOf);
    CHECK(named.top1 == doctest::Approx(4.0 / 5));
    CHECK(named.per_class[2].name == "red fire");
}

TEST_CASE("benchmark: zero-shot on a folder agrees with zero_shot_logits computed by hand (a real tiny CLIP)") {
    const test::TempDir dir("bench_real");
    const std::array<std::array<int, 3>, 6> colours{kRed, kGreen, kBlue, std::array<int, 3>{200, 200, 40},
                                                    std::array<int, 3>{40, 200, 200}, std::array<int, 3>{120, 120, 120}};
    const std::vector<std::string> folders{"dark_red", "green", "ocean_blue"};
    for (std::size_t i = 0; i < colours.size(); ++i)
        write_png(dir / "f" / folders[i % 3] / ("img" + std::to_string(i) + ".png"), colours[i], 8 + int(i), 12 - int(i));
    auto config = model::preset("tiny");
    config.text.vocab_size = bytes_encoder().vocab_size();
    config.text.context_length = 32;
    const model::OpenAiClip<float, cpu> model(config, 5);
    const std::vector<std::string> templates{"a photo of a {}.", "itap of the {}."};
    tasks::BenchmarkOptions options;
    options.batch = 4;
    const auto r = tasks::zero_shot_folder(model, bytes_encoder(), dir / "f", {}, templates, options);

    // By hand: the images one by one, the classifier of the folder names, logits, arg-max.
    const auto folder = tasks::scan_image_folder(dir / "f");
    const std::vector<std::string> names{"dark red", "green", "ocean blue"};
    const auto classifier = tasks::zero_shot_classifier(model, bytes_encoder(), names, templates);  // [3, E]
    std::vector<std::int64_t> correct(3, 0), count(3, 0);
    std::int64_t hits = 0;
    for (std::size_t i = 0; i < folder.images.size(); ++i) {
        const auto image = data::preprocess_file<float>(folder.images[i], 8).reshape(Shape{1, 3, 8, 8});
        const auto embedding = eval::encode_images(model, image);               // [1, E]
        const auto logits = eval::zero_shot_logits(embedding, classifier);      // [1, 3]
        const auto predicted = eval::argmax_rows(logits)[0];
        const auto label = folder.labels[i];
        CHECK(r.predictions[i] == predicted);
        ++count[std::size_t(label)];
        if (predicted == label) ++correct[std::size_t(label)], ++hits;
    }
    CHECK(r.images == 6);
    CHECK(r.top1 == doctest::Approx(double(hits) / 6));
    double mean = 0;
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(r.per_class[c].name == names[c]);
        CHECK(r.per_class[c].count == count[c]);
        CHECK(r.per_class[c].accuracy == doctest::Approx(double(correct[c]) / double(count[c])));
        mean += double(correct[c]) / double(count[c]) / 3;
    }
    CHECK(r.mean_per_class_recall == doctest::Approx(mean));
}

TEST_CASE("benchmark: zero-shot on CIFAR images upscales them with CLIP's transform") {
    // Three CIFAR-10 records: a red, a green and a blue image, labelled 0 ("red"), 1, 1.
    std::vector<std::uint8_t> bytes;
    const std::array<std::array<int, 3>, 3> colours{kRed, kGreen, kBlue};
    for (int i = 0; i < 3; ++i) {
        bytes.push_back(std::uint8_t(i == 0 ? 0 : 1));
        for (int c = 0; c < 3; ++c)
            for (int p = 0; p < 1024; ++p) bytes.push_back(std::uint8_t(colours[std::size_t(i)][std::size_t(c)]));
    }
    bytes.resize(bytes.size() + 7 * 3073, 0);  // 7 more black images of class 0
    const auto cifar = data::parse_cifar(bytes, data::CifarKind::cifar10, "synthetic");
    const ColourModel model(bytes_encoder());
    const std::vector<std::string> names{"red", "green", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
    const auto r = tasks::zero_shot_cifar(model, bytes_encoder(), cifar, names, kPhotoOf);
    CHECK(r.images == 10);
    CHECK(r.predictions[0] == 0);
    CHECK(r.predictions[1] == 1);
    CHECK(r.predictions[2] != 1);  // blue: not green
    REQUIRE(r.top5.has_value());
    CHECK_THROWS_WITH_AS(tasks::zero_shot_cifar(model, bytes_encoder(), cifar, {"red", "green"}, kPhotoOf),
                         doctest::Contains("2 class names for 10 CIFAR classes"), Error);
}

TEST_CASE("benchmark: retrieval with several captions per image, ranks known by construction") {
    const test::TempDir dir("bench_retrieval");
    write_png(dir / "img" / "red.png", kRed);
    write_png(dir / "img" / "green.png", kGreen);
    write_png(dir / "img" / "blue.png", kBlue);
    // Images in order of first appearance: I0 red (e0), I1 green (e1), I2 blue (e2).
    // Captions: T0 "red apple" e0 (I0), T1 "green leaf" e1 (I1), T2 "big red" e2 (I0), T3 "xyz"
    // (1,1,1) (I2), T4 "grass" e1 (I1).
    test::write_file(dir / "captions.csv",
                     "filepath,title\n"
                     "img/red.png,red apple\n"
                     "img/green.png,green leaf\n"
                     "img/red.png,big red\n"
                     "img/blue.png,xyz\n"
                     "img/green.png,grass\n");
    const auto rows = data::read_caption_table(dir / "captions.csv");
    const ColourModel model(bytes_encoder());
    const auto r = tasks::retrieval_captions(model, bytes_encoder(), rows);
    CHECK(r.images == 3);
    CHECK(r.captions == 5);
    // image → text, the best caption: I0 T0 (1) → 1; I1 T1 (1, before T4 by index) → 1;
    // I2 T3 (1/√3), behind T2 (1, another image's) → 2.
    CHECK(r.metrics.image_to_text_ranks == std::vector<std::int64_t>{1, 1, 2});
    // text → image: T0 → 1; T1 → 1; T2 → I0 scores 0, behind I2 (1), ahead of I1 (a tie, later) → 2;
    // T3 ties with every image, I0 and I1 ahead by index → 3; T4 → 1.
    CHECK(r.metrics.text_to_image_ranks == std::vector<std::int64_t>{1, 1, 2, 3, 1});
    CHECK(r.metrics.image_to_text_r1 == doctest::Approx(2.0 / 3));
    CHECK(r.metrics.image_to_text_r5 == 1.0);
    CHECK(r.metrics.text_to_image_r1 == doctest::Approx(3.0 / 5));
    CHECK(r.metrics.text_to_image_r5 == 1.0);
    const auto j = tasks::retrieval_json(r);
    CHECK(j["metrics"]["text_to_image_R@1"].get<double>() == doctest::Approx(0.6));
    CHECK(j["metrics"]["image_to_text_R@10"].get<double>() == 1.0);
    CHECK(j["captions"].get<int>() == 5);

    // A broken image: an error naming it, or (skip) left out with its captions, and listed.
    test::write_file(dir / "img" / "blue.png", "not a png");
    const auto message = test::error_of([&] { tasks::retrieval_captions(model, bytes_encoder(), rows); });
    CHECK(test::contains(message, "blue.png"));
    tasks::BenchmarkOptions skip;
    skip.broken = tasks::BrokenImages::skip;
    const auto without = tasks::retrieval_captions(model, bytes_encoder(), rows, skip);
    CHECK(without.images == 2);
    CHECK(without.captions == 4);
    CHECK(without.skipped_captions == 1);
    REQUIRE(without.skipped.size() == 1);
    CHECK(test::contains(without.skipped[0].path, "blue.png"));
    CHECK(without.metrics.text_to_image_ranks.size() == 4);

    // No captions, an empty caption.
    CHECK_THROWS_WITH_AS(tasks::retrieval_captions(model, bytes_encoder(), {}), doctest::Contains("no captions"), Error);
    auto empty_caption = rows;
    empty_caption[1].caption = " ";
    CHECK_THROWS_WITH_AS(tasks::retrieval_captions(model, bytes_encoder(), empty_caption),
                         doctest::Contains("caption 2"), Error);
}

TEST_CASE("benchmark: bad folders, class lists, images and templates are clear errors") {
    const test::TempDir dir("bench_errors");
    const ColourModel model(bytes_encoder());
    write_colour_folder(dir / "ok");

    // Class names: a count that differs from the class folders.
    CHECK_THROWS_WITH_AS(tasks::zero_shot_folder(model, bytes_encoder(), dir / "ok", {"a", "b"}, kPhotoOf),
                         doctest::Contains("2 class names for the 3 class folders"), Error);
    // A template without "{}".
    CHECK_THROWS_WITH_AS(tasks::zero_shot_folder(model, bytes_encoder(), dir / "ok", {}, {"a photo"}),
                         doctest::Contains("needs \"{}\""), Error);
    // An empty class folder; a folder without class folders; a missing folder.
    fs::create_directories(dir / "ok" / "yellow");
    test::write_file(dir / "ok" / "yellow" / "notes.txt", "no images here");
    CHECK_THROWS_WITH_AS(tasks::scan_image_folder(dir / "ok"), doctest::Contains("yellow"), Error);
    fs::remove_all(dir / "ok" / "yellow");
    fs::create_directories(dir / "flat");
    write_png(dir / "flat" / "x.png", kRed);
    CHECK_THROWS_WITH_AS(tasks::scan_image_folder(dir / "flat"), doctest::Contains("no subfolders"), Error);
    CHECK_THROWS_WITH_AS(tasks::scan_image_folder(dir / "absent"), doctest::Contains("absent"), Error);

    // A broken image: an error naming it, or (skip) left out of every count and listed.
    test::write_file(dir / "ok" / "red" / "r2.png", "\x89PNG broken");
    CHECK_THROWS_WITH_AS(tasks::zero_shot_folder(model, bytes_encoder(), dir / "ok", {}, kPhotoOf), doctest::Contains("r2.png"),
                         Error);
    tasks::BenchmarkOptions skip;
    skip.broken = tasks::BrokenImages::skip;
    const auto r = tasks::zero_shot_folder(model, bytes_encoder(), dir / "ok", {}, kPhotoOf, skip);
    CHECK(r.images == 5);
    CHECK(r.per_class[2].count == 2);
    REQUIRE(r.skipped.size() == 1);
    CHECK(test::contains(r.skipped[0].path, "r2.png"));
    CHECK(tasks::zero_shot_json(r)["skipped_images"].size() == 1);
    // Every image broken: an error even under skip.
    fs::create_directories(dir / "broken" / "a");
    test::write_file(dir / "broken" / "a" / "x.jpg", "nothing");
    CHECK_THROWS_WITH_AS(tasks::zero_shot_folder(model, bytes_encoder(), dir / "broken", {}, kPhotoOf, skip),
                         doctest::Contains("none of the 1 images"), Error);
}
