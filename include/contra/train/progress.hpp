// contra/train/progress.hpp — what a person watching a run sees: a live bar on a terminal
// (step, epoch, loss, pairs/s, elapsed, ETA), plain log lines every few seconds otherwise.
// defines: train::Progress, train::format_duration
#pragma once
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "trainer.hpp"

namespace contra::train {

inline std::string format_duration(double seconds) {
    if (!(seconds >= 0) || seconds > 1e7) return "--:--";
    const auto s = long(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
    return buf;
}

class Progress {
public:
    explicit Progress(std::FILE* out = stderr, double log_every_s = 10)
        : out_(out), live_(isatty(fileno(out)) != 0), log_every_s_(log_every_s) {}

    void update(const StepRecord& r, const State& s) {
        smoothed_loss_ = smoothed_loss_ < 0 ? r.loss : 0.95 * smoothed_loss_ + 0.05 * r.loss;
        smoothed_rate_ = smoothed_rate_ < 0 ? r.pairs_per_s : 0.9 * smoothed_rate_ + 0.1 * r.pairs_per_s;
        const double fraction = double(s.step) / double(std::max<std::int64_t>(1, s.total_steps));
        const double eta = fraction > 0 ? r.elapsed_s * (1 - fraction) / fraction : -1;
        if (live_) {
            constexpr int width = 24;
            const int filled = int(fraction * width);
            std::string bar(std::size_t(filled), '#');
            bar.resize(width, '.');
            std::fprintf(out_, "\r[%s] step %lld/%lld  epoch %lld  loss %.4f  %.0f pairs/s  %s elapsed  ETA %s   ",
                         bar.c_str(), (long long)s.step, (long long)s.total_steps, (long long)r.epoch + 1, smoothed_loss_,
                         smoothed_rate_, format_duration(r.elapsed_s).c_str(), format_duration(eta).c_str());
            std::fflush(out_);
            dirty_ = true;
        } else if (r.elapsed_s - last_log_s_ >= log_every_s_ || s.step == s.total_steps) {
            std::fprintf(out_, "step %lld/%lld epoch %lld loss %.4f lr %.3g scale %.1f %.0f pairs/s elapsed %s ETA %s\n",
                         (long long)s.step, (long long)s.total_steps, (long long)r.epoch + 1, smoothed_loss_, r.lr,
                         r.logit_scale, smoothed_rate_, format_duration(r.elapsed_s).c_str(), format_duration(eta).c_str());
            std::fflush(out_);
            last_log_s_ = r.elapsed_s;
        }
    }
    // Ends the live line so that what follows starts on a new one.
    void finish() {
        if (dirty_) std::fputc('\n', out_);
        dirty_ = false;
    }

private:
    std::FILE* out_;
    bool live_;
    double log_every_s_, last_log_s_ = -1e9;
    double smoothed_loss_ = -1, smoothed_rate_ = -1;
    bool dirty_ = false;
};

}  // namespace contra::train
