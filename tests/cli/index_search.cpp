// contra index and contra search through their command functions and the program: a folder tree
// indexed (a broken file listed), a second run embedding nothing, changed/added/removed files
// handled, another model or encoding refused; a run killed while it saves, resumed without
// embedding again what was saved; search results exact against the index's own vectors, by text,
// by photo, from a file, as JSON and as a self-contained HTML page; and real photos (Debian's
// scikit-image samples) found by the caption a small model was trained on.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stb/stb_image_write.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include <contra/data/image.hpp>
#include <contra/io/checkpoint.hpp>
#include <contra/io/config_json.hpp>
#include <contra/search/index.hpp>
#include <contra/tasks/captions.hpp>

#include "../../examples/contra/commands.hpp"
#include "../support/skip.hpp"
#include "../support/spawn.hpp"
#include "../support/temp_dir.hpp"
#include "../support/tiny_checkpoint.hpp"

using namespace contra;
namespace fs = std::filesystem;

namespace index_search_test {  // named, tests included: this file shares unity batches with the other cli tests

using test::write_png;
std::string fresh_model(const fs::path& path, std::uint64_t seed) { return test::tiny_checkpoint(path, seed); }

// touch_later(path): a modification time one second after the present one.
void touch_later(const fs::path& path) { fs::last_write_time(path, fs::last_write_time(path) + std::chrono::seconds(1)); }

struct Collection {
    test::TempDir dir{"index_search"};
    std::string model = fresh_model(dir / "model" / "checkpoint.safetensors", 7);
    Collection() {
        for (int i = 0; i < 6; ++i) write_png(dir / "photos" / (i % 2 ? "a/b" : "c") / ("p" + std::to_string(i) + ".png"), 10 + i, 9, i);
        test::write_file(dir / "photos" / "bad.png", "not a png at all");
        test::write_file(dir / "photos" / "notes.txt", "not an image");
    }
    fs::path photo(int i) const { return dir / "photos" / (i % 2 ? "a/b" : "c") / ("p" + std::to_string(i) + ".png"); }
    cli::IndexOptions index_options(const std::string& out = "photos.index") const {
        cli::IndexOptions o;
        o.model.path = model;
        o.input = (dir / "photos").string();
        o.out = (dir / out).string();
        o.batch = 4;
        o.quiet = true;
        return o;
    }
    cli::SearchOptions search_options() const {
        cli::SearchOptions o;
        o.index = (dir / "photos.index").string();
        return o;
    }
};

// row_of(index, path): the vector of a file, as floats.
std::vector<float> row_of(const search::Index& index, const fs::path& path) {
    const std::string name = fs::absolute(path).lexically_normal().string();
    for (std::size_t i = 0; i < index.files.size(); ++i)
        if (index.files[i].path == name) {
            std::vector<float> row(static_cast<std::size_t>(index.vectors.dim()));
            index.vectors.row(std::int64_t(i), row.data());
            return row;
        }
    FAIL("not in the index: ", name);
    return {};
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// contra_program(): the contra program, which ctest names in CONTRA_CLI; "" without it.
std::string contra_program() {
    const char* path = std::getenv("CONTRA_CLI");
    return path && *path ? path : "";
}

// run_program(args, out): runs args (args[0]: the program) with stdout in the file out; its wait status.
int run_program(const std::vector<std::string>& args, const fs::path& out) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    return test::wait_for(pid);
}


TEST_CASE("contra index: a folder tree indexed, broken files listed; a second run embeds nothing; changes are handled") {
    const Collection c;
    auto o = c.index_options();
    const auto first = cli::index_command(o);
    CHECK(first.files == 7);
    CHECK(first.embedded == 6);
    CHECK(first.broken == 1);
    const auto index = search::read_index(o.out);
    REQUIRE(index.files.size() == 6);
    REQUIRE(index.broken.size() == 1);
    CHECK(test::contains(index.broken[0].file.path, "bad.png"));
    CHECK(test::contains(index.broken[0].reason, "unknown format"));
    CHECK(index.vectors.encoding() == search::Encoding::f32);
    for (std::int64_t i = 0; i < 6; ++i) {  // unit vectors, the files as found
        std::vector<float> row(8);
        index.vectors.row(i, row.data());
        double norm = 0;
        for (const float x : row) norm += double(x) * x;
        CHECK(norm == doctest::Approx(1.0).epsilon(1e-5));
        CHECK(index.files[std::size_t(i)] == search::stamp_file(index.files[std::size_t(i)].path));
    }

    const auto again = cli::index_command(o);  // nothing changed: nothing embedded, the same file contents
    CHECK(again.embedded == 0);
    CHECK(again.kept == 6);
    CHECK(search::read_index(o.out).vectors.values() == index.vectors.values());

    const auto before = row_of(index, c.photo(1));
    write_png(c.photo(1), 12, 12, 40);  // changed
    touch_later(c.photo(1));
    write_png(c.dir / "photos" / "new.png", 8, 8, 41);  // added
    fs::remove(c.photo(2));                              // removed
    const auto third = cli::index_command(o);
    CHECK(third.kept == 4);
    CHECK(third.embedded == 2);
    CHECK(third.changed == 1);
    CHECK(third.removed == 1);
    const auto updated = search::read_index(o.out);
    CHECK(updated.files.size() == 6);
    CHECK(row_of(updated, c.photo(1)) != before);
    CHECK(row_of(updated, c.photo(0)) == row_of(index, c.photo(0)));

    // The same photos in a new index embed to the same vectors (up to the batch's rounding).
    auto fresh = c.index_options("fresh.index");
    cli::index_command(fresh);
    const auto straight = search::read_index(fresh.out);
    for (const auto& f : straight.files) {
        const auto a = row_of(straight, f.path), b = row_of(updated, f.path);
        for (std::size_t j = 0; j < a.size(); ++j) CHECK(a[j] == doctest::Approx(b[j]).epsilon(1e-5));
    }

    // int8: a quarter of the bytes a vector, the same files.
    auto small = c.index_options("int8.index");
    small.int8 = true;
    cli::index_command(small);
    const auto quantised = search::read_index(small.out);
    CHECK(quantised.vectors.encoding() == search::Encoding::int8);
    CHECK(quantised.files == straight.files);
    cli::SearchOptions by_photo;
    by_photo.index = small.out;
    by_photo.images = {c.photo(0).string()};
    by_photo.top = 1;
    const auto found = cli::search_results(by_photo);
    CHECK(found[0].hits[0].path == fs::absolute(c.photo(0)).lexically_normal().string());
    CHECK(found[0].hits[0].score == doctest::Approx(1.0).epsilon(0.01));  // int8: within the quantisation error

    // --fast-decode: recorded in the index (these PNGs decode as before); searchable; an update must
    // decode the same way.
    auto fast = c.index_options("fast.index");
    fast.fast_decode = true;
    cli::index_command(fast);
    const auto fast_index = search::read_index(fast.out);
    CHECK(fast_index.model.description.value("jpeg_min_side", 0) > 0);
    CHECK(fast_index.files == straight.files);
    cli::SearchOptions in_fast;
    in_fast.index = fast.out;
    in_fast.images = {c.photo(0).string()};
    in_fast.top = 1;
    CHECK(cli::search_results(in_fast)[0].hits[0].path == fs::absolute(c.photo(0)).lexically_normal().string());
    auto exact_update = fast;
    exact_update.fast_decode = false;
    CHECK(test::contains(test::error_of([&] { cli::index_command(exact_update); }), "was indexed with --fast-decode"));

    // Refused: another model, another encoding; nothing is written over.
    auto other = o;
    other.model.path = fresh_model(c.dir / "other" / "checkpoint.safetensors", 8);
    const auto message = test::error_of([&] { cli::index_command(other); });
    CHECK(test::contains(message, "is an index built with the model"));
    CHECK(test::contains(message, "give another --out"));
    auto encoding = o;
    encoding.int8 = true;
    CHECK(test::contains(test::error_of([&] { cli::index_command(encoding); }), "stores f32 vectors but this run asks for int8"));
    CHECK(search::read_index(o.out).files == updated.files);
}

TEST_CASE("contra search: exact top-k of the index's vectors, by text, by photo, from a file; other models refused") {
    const Collection c;
    cli::index_command(c.index_options());
    const auto index = search::read_index(c.dir / "photos.index");

    auto o = c.search_options();
    o.texts = {"a red square", "grass"};
    o.images = {c.photo(3).string()};
    o.top = 4;
    const auto results = cli::search_results(o);
    REQUIRE(results.size() == 3);
    CHECK(!results[0].image);
    CHECK(results[2].image);
    // By photo: the photo itself first, at cosine 1.
    REQUIRE(results[2].hits.size() == 4);
    CHECK(results[2].hits[0].path == fs::absolute(c.photo(3)).lexically_normal().string());
    CHECK(results[2].hits[0].score == doctest::Approx(1.0).epsilon(1e-5));
    // By text: the scores of the best rows of a full sort of the index's vectors against the query.
    const auto query = row_of(index, c.photo(3));
    for (const auto& r : results) {
        for (std::size_t k = 1; k < r.hits.size(); ++k) CHECK(r.hits[k - 1].score >= r.hits[k].score);
    }
    std::vector<std::pair<float, std::string>> all;
    for (const auto& f : index.files) {
        const auto row = row_of(index, f.path);
        double dot = 0;
        for (std::size_t j = 0; j < row.size(); ++j) dot += double(row[j]) * query[j];
        all.push_back({float(dot), f.path});
    }
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t k = 0; k < 4; ++k) {
        CHECK(results[2].hits[k].path == all[k].second);
        CHECK(results[2].hits[k].score == doctest::Approx(all[k].first).epsilon(1e-5));
    }

    // --queries: one a line, blank lines skipped; --top beyond the index gives every image.
    test::write_file(c.dir / "queries.txt", "a red square\n\ngrass\r\n");
    auto from_file = c.search_options();
    from_file.queries = (c.dir / "queries.txt").string();
    from_file.top = 100;
    const auto listed = cli::search_results(from_file);
    REQUIRE(listed.size() == 2);
    CHECK(listed[1].query == "grass");
    CHECK(listed[0].hits.size() == 6);
    for (std::size_t k = 0; k < 4; ++k) CHECK(listed[0].hits[k].path == results[0].hits[k].path);

    // --html: one page, every thumbnail inside it.
    auto page = o;
    page.html = (c.dir / "results.html").string();
    cli::search_command(page);
    const std::string html = read_bytes(page.html);
    std::size_t images = 0;
    for (std::size_t at = html.find("<img src=\"data:image/jpeg;base64,"); at != std::string::npos; at = html.find("<img src=", at + 1)) ++images;
    CHECK(images == 12);
    CHECK(html.find("<img src=\"data:image/jpeg;base64,") != std::string::npos);
    CHECK(html.find("src=\"/") == std::string::npos);
    CHECK(test::contains(html, "a red square"));

    // Another model, a damaged index, no query: one clear error each.
    auto other = c.search_options();
    other.texts = {"x"};
    other.model.path = fresh_model(c.dir / "other" / "checkpoint.safetensors", 9);
    CHECK(test::contains(test::error_of([&] { cli::search_results(other); }), "is a different model"));
    std::string bytes = read_bytes(c.dir / "photos.index");
    bytes[bytes.size() - 10] ^= 1;
    test::write_file(c.dir / "damaged.index", bytes);
    auto damaged = c.search_options();
    damaged.index = (c.dir / "damaged.index").string();
    damaged.texts = {"x"};
    CHECK(test::contains(test::error_of([&] { cli::search_results(damaged); }), "checksum does not match"));
    CHECK(test::contains(test::error_of([&] { cli::search_results(c.search_options()); }), "no query"));

    // The program: --json prints what search_results returns.
    const auto program = contra_program();
    if (program.empty()) {
        test::skip("CONTRA_CLI is not set (run through ctest): contra search --json not checked");
        return;
    }
    const int status = run_program({program, "search", o.index, "a red square", "--top", "3", "--json"}, c.dir / "out.json");
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const auto json = nlohmann::json::parse(read_bytes(c.dir / "out.json"));
    REQUIRE(json.size() == 1);
    CHECK(json[0]["query"] == "a red square");
    CHECK(json[0]["kind"] == "text");
    REQUIRE(json[0]["hits"].size() == 3);
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(json[0]["hits"][k]["path"] == results[0].hits[k].path);
        CHECK(json[0]["hits"][k]["score"].get<float>() == doctest::Approx(results[0].hits[k].score));
    }
}

TEST_CASE("contra index: a run killed while it saves leaves a whole index; run again, it embeds only the rest") {
    const auto program = contra_program();
    if (program.empty()) return test::skip("CONTRA_CLI is not set (run through ctest): the killed contra index is not checked");
    const test::TempDir dir("index_killed");
    const auto model = fresh_model(dir / "model" / "checkpoint.safetensors", 7);
    constexpr int kPhotos = 1000;
    for (int i = 0; i < kPhotos; ++i) write_png(dir / "photos" / ("p" + std::to_string(1000 + i) + ".png"), 9, 9, i);
    const auto out = dir / "photos.index";
    const pid_t pid = test::spawn({program, "index", (dir / "photos").string(), "--model", model, "--out", out.string(), "--batch", "2",
                                   "--save-every", "1", "--quiet", "--threads", "1"});
    REQUIRE(pid > 0);
    int status = 0;
    bool running = true;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (running && !fs::exists(out) && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        running = ::waitpid(pid, &status, WNOHANG) == 0;
    }
    if (running) {  // killed at once: the first save is in, the rest of the run is not
        ::kill(pid, SIGKILL);
        status = test::wait_for(pid);
    }
    REQUIRE(fs::exists(out));
    const auto saved = search::read_index(out);  // whole, whenever the kill came
    if (WIFEXITED(status)) return test::skip("contra index finished before it was killed: the resumed run is not checked");
    CHECK(saved.files.size() >= 2);
    CHECK(saved.files.size() < std::size_t(kPhotos));

    cli::IndexOptions o;
    o.model.path = model;
    o.input = (dir / "photos").string();
    o.out = out.string();
    o.quiet = true;
    const auto resumed = cli::index_command(o);
    CHECK(resumed.kept == std::int64_t(saved.files.size()));
    CHECK(resumed.embedded == kPhotos - std::int64_t(saved.files.size()));
    const auto whole = search::read_index(out);
    CHECK(whole.files.size() == std::size_t(kPhotos));
    for (const auto& f : saved.files) CHECK(row_of(whole, f.path) == row_of(saved, f.path));
}

TEST_CASE("contra index and search on real photos: a model trained on their captions finds each photo by its caption") {
    const fs::path photos = CONTRA_PHOTOS_DIR;
    const std::vector<std::pair<std::string, std::string>> captions = {
        {"astronaut.png", "an astronaut in a white space suit"}, {"chelsea.png", "a tabby cat on a rug"},
        {"coffee.png", "a cup of coffee on a saucer"},           {"rocket.jpg", "a rocket on its launch pad"},
        {"motorcycle_left.png", "a red motorcycle in a studio"}, {"hubble_deep_field.jpg", "galaxies in the deep sky"},
        {"retina.jpg", "the retina of a human eye"},             {"moon.png", "craters on the surface of the moon"}};
    for (const auto& [file, caption] : captions)
        if (!fs::exists(photos / file))
            return test::skip("scikit-image's sample photos are not in " CONTRA_PHOTOS_DIR " (sh tests/search/fetch_photos.sh puts them there)");
    const test::TempDir dir("index_photos");
    // Training reads 32×32 copies (decoding the full photos every step would take most of the time).
    std::string small_table = "filepath,title\n", table = "filepath,title\n";
    for (const auto& [file, caption] : captions) {
        const auto image = data::resize_bicubic(data::to_rgb(data::read_image(photos / file)), 32, 32);
        const auto copy = dir / (fs::path(file).stem().string() + ".png");
        REQUIRE(stbi_write_png(copy.c_str(), 32, 32, 3, image.pixels.data(), 32 * 3) != 0);
        small_table += copy.string() + "," + caption + "\n";
        table += (photos / file).string() + "," + caption + "\n";
    }
    table += (photos / "truncated.jpg").string() + ",a photo cut short\n";
    test::write_file(dir / "small.csv", small_table);
    test::write_file(dir / "photos.csv", table);
    cli::TrainOptions t;
    t.dataset = "csv";
    t.train_data = (dir / "small.csv").string();
    t.out = (dir / "run").string();
    t.arch = "tiny";
    t.steps = 200;
    t.batch = 8;
    t.warmup = 10;
    t.vocab_size = 600;
    t.no_probe = true;
    cli::train_command(t);

    cli::IndexOptions o;  // the full photos, from the caption table; truncated.jpg is listed as broken
    o.model.path = t.out;
    o.input = (dir / "photos.csv").string();
    o.out = (dir / "photos.index").string();
    o.quiet = true;
    const auto summary = cli::index_command(o);
    CHECK(summary.embedded == 8);
    CHECK(summary.broken == 1);

    cli::SearchOptions s;
    s.index = o.out;
    for (const auto& [file, caption] : captions) s.texts.push_back(caption);
    s.images = {(photos / "chelsea.png").string()};
    s.top = 3;
    const auto results = cli::search_results(s);
    for (std::size_t i = 0; i < captions.size(); ++i) {
        CAPTURE(captions[i].second);
        CHECK(fs::path(results[i].hits[0].path).filename() == captions[i].first);
    }
    CHECK(fs::path(results.back().hits[0].path).filename() == "chelsea.png");
    CHECK(results.back().hits[0].score == doctest::Approx(1.0).epsilon(1e-5));
}

}  // namespace index_search_test
