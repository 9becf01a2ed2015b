// contra/optim/schedule.hpp — learning rate per step, as open_clip's schedulers:
//   warmup: lr·(step+1)/warmup for step < warmup, then
//   cosine: ½(1 + cos(π·e/E))·lr  (e = step − warmup, E = total − warmup)
//   constant: lr
//   constant with cooldown: lr until total − cooldown, then (1 − e/E)^power·(lr − end) + end
// defines: optim::Schedule, optim::ScheduleKind
#pragma once
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

#include "../core/error.hpp"

namespace contra::optim {

enum class ScheduleKind { cosine, constant, constant_cooldown };

inline ScheduleKind parse_schedule(const std::string& name) {
    if (name == "cosine") return ScheduleKind::cosine;
    if (name == "const" || name == "constant") return ScheduleKind::constant;
    if (name == "const-cooldown" || name == "constant-cooldown") return ScheduleKind::constant_cooldown;
    throw Error("unknown learning-rate schedule '" + name + "' (known: cosine, constant, const-cooldown)");
}

struct Schedule {
    ScheduleKind kind = ScheduleKind::cosine;
    double base_lr = 5e-4;
    std::int64_t warmup_steps = 0, total_steps = 1;
    std::int64_t cooldown_steps = 0;  // constant_cooldown only
    double cooldown_end_lr = 0, cooldown_power = 1;

    double lr(std::int64_t step) const {
        if (step < warmup_steps) return base_lr * double(step + 1) / double(warmup_steps);
        switch (kind) {
            case ScheduleKind::constant: return base_lr;
            case ScheduleKind::cosine: {
                const double e = double(step - warmup_steps), es = double(std::max<std::int64_t>(1, total_steps - warmup_steps));
                return 0.5 * (1 + std::cos(std::numbers::pi * std::min(e, es) / es)) * base_lr;
            }
            case ScheduleKind::constant_cooldown: {
                const std::int64_t start = total_steps - cooldown_steps;
                if (step < start) return base_lr;
                const double e = double(step - start), es = double(std::max<std::int64_t>(1, total_steps - start));
                const double decay = std::pow(std::max(0.0, 1 - e / es), cooldown_power);
                return decay * (base_lr - cooldown_end_lr) + cooldown_end_lr;
            }
        }
        return base_lr;
    }
};

}  // namespace contra::optim
