// contra/dist/gradient_sync.hpp — data-parallel gradient averaging: the parameters' gradients
// are packed into buckets and summed over the ranks, each bucket as soon as backward has
// finished every gradient in it (the tape tells: a parameter's gradient is final once the first
// node that read it has run), so communication overlaps the rest of backward.
// defines: dist::GradientSync, dist::check_replicas
#pragma once
#include <algorithm>
#include <numeric>
#include <vector>

#include "../autograd/tape.hpp"
#include "../autograd/parameter.hpp"  // for_each_parameter
#include "communicator.hpp"

namespace contra::dist {

template <class T, class B>
class GradientSync {
public:
    using D = device_of<B>;

    // bucket_elements: how many gradient values one reduction carries (at least one parameter).
    template <class Model>
    GradientSync(Model& model, Communicator& comm, std::int64_t bucket_elements = std::int64_t(1) << 20)
        : comm_(&comm), bucket_elements_(bucket_elements) {
        for_each_parameter(model, [&]<class P>(const std::string& name, Parameter<P, B>& p) {
            if constexpr (std::same_as<P, T>) params_.push_back({name, p, 0, 0});
            else throw Error("data-parallel training averages gradients of one element type; " + name + " is another "
                             "(a mixed-precision model): train it on one process");
        });
        std::int64_t total = 0;
        for (const auto& e : params_) total += e.param.numel();
        flat_ = Tensor<T, D>::zeros(Shape{total});
    }

    // arm(tape): before backward(loss) on `tape`: reductions will start while it runs.
    //   requires: the forward pass of this step was recorded on `tape`.
    void arm(Tape& tape) {
        plan(tape);
        tape.after_node([this](std::size_t node) {
            while (started_ < buckets_.size() && buckets_[started_].ready_after >= std::ptrdiff_t(node)) start(started_++);
        });
    }

    // finish(): after backward: starts what is left, waits for everything, and leaves every
    // parameter's gradient equal to the mean over ranks (a parameter that got no gradient on any
    // rank keeps none).
    void finish() {
        in_backward_ = false;
        if (buckets_.empty()) plan_without_tape();
        while (started_ < buckets_.size()) start(started_++);
        const double inverse = 1.0 / double(comm_->size());
        for (auto& bucket : buckets_) {
            comm_->wait(bucket.request);
            for (std::size_t k = bucket.first; k < bucket.last; ++k) {
                auto& e = params_[order_[k]];
                const auto reduced = flat_.rows(e.offset, e.offset + e.param.numel()).reshape(e.param.shape());
                if (!e.param.has_grad() && ops::reduce_all(B{}, ops::ReduceOp::max_abs, reduced) == 0) continue;
                auto [grad, beta] = e.param.slot()->destination(B{}, e.param.shape());
                (void)beta;  // overwritten: the slot held this rank's share, now the mean
                ops::affine(B{}, reduced, acc_t<T>(inverse), acc_t<T>(0), grad);
            }
        }
        overlapped_ = 0;
        for (const auto& bucket : buckets_) overlapped_ += bucket.during_backward ? 1 : 0;
        last_bucket_count_ = buckets_.size();
        buckets_.clear();
        started_ = 0;
    }

    // The group the gradients are averaged over.
    Communicator& communicator() const { return *comm_; }

    // How many buckets the last step had, and how many of them started before backward ended.
    std::size_t buckets() const { return last_bucket_count_; }
    std::size_t started_during_backward() const { return overlapped_; }

private:
    struct Entry {
        std::string name;
        Parameter<T, B> param;
        std::ptrdiff_t first_use;
        std::int64_t offset;  // into flat_
    };
    struct Bucket {
        std::size_t first, last;      // into order_
        std::ptrdiff_t ready_after;   // every gradient in it is final once this node has run
        Communicator::Request request = 0;
        bool during_backward = false;
    };

    // Orders the parameters by when backward finishes them (unused ones first) and cuts the order
    // into buckets. Every rank runs the same graph, so every rank plans the same buckets.
    void plan(const Tape& tape) {
        for (auto& e : params_) e.first_use = tape.first_use(e.param.slot().get());
        const std::ptrdiff_t never = std::ptrdiff_t(tape.size());
        order_.resize(params_.size());
        std::iota(order_.begin(), order_.end(), std::size_t(0));
        std::stable_sort(order_.begin(), order_.end(), [&](std::size_t a, std::size_t b) {
            auto key = [&](std::size_t i) { return params_[i].first_use < 0 ? never : params_[i].first_use; };
            return key(a) > key(b);
        });
        buckets_.clear();
        std::int64_t offset = 0, in_bucket = 0;
        for (std::size_t k = 0; k < order_.size(); ++k) {
            auto& e = params_[order_[k]];
            e.offset = offset;
            offset += e.param.numel();
            const std::ptrdiff_t ready = e.first_use < 0 ? never : e.first_use;
            if (buckets_.empty() || in_bucket >= bucket_elements_) {
                buckets_.push_back(Bucket{k, k, ready});
                in_bucket = 0;
            }
            buckets_.back().last = k + 1;
            buckets_.back().ready_after = std::min(buckets_.back().ready_after, ready);
            in_bucket += e.param.numel();
        }
        started_ = 0;
        in_backward_ = true;
    }
    void plan_without_tape() {  // finish() without arm(): one pass after backward
        Tape empty;
        plan(empty);
        in_backward_ = false;
    }

    void start(std::size_t b) {
        auto& bucket = buckets_[b];
        for (std::size_t k = bucket.first; k < bucket.last; ++k) {
            auto& e = params_[order_[k]];
            auto slice = flat_.rows(e.offset, e.offset + e.param.numel());
            if (e.param.has_grad()) copy(e.param.grad().reshape(slice.shape()), slice);
            else ops::fill(B{}, acc_t<T>(0), slice);
        }
        const auto& head = params_[order_[bucket.first]];
        std::int64_t count = 0;
        for (std::size_t k = bucket.first; k < bucket.last; ++k) count += params_[order_[k]].param.numel();
        bucket.request = comm_->start_all_reduce_sum(flat_.data() + head.offset, std::size_t(count), dtype_of<T>);
        bucket.during_backward = in_backward_;
    }

    Communicator* comm_;
    std::int64_t bucket_elements_;
    std::vector<Entry> params_;
    std::vector<std::size_t> order_;
    std::vector<Bucket> buckets_;
    std::size_t started_ = 0, overlapped_ = 0, last_bucket_count_ = 0;
    bool in_backward_ = false;
    Tensor<T, D> flat_;
};

// check_replicas(model, comm): ensures every rank holds bit-identical parameters (the sum and
// the sum of squares of each parameter, compared across ranks); a contra::Error names the first
// parameter that differs. Data-parallel training calls it after every step in debug builds.
template <class Model>
void check_replicas(Model& model, Communicator& comm) {
    if (comm.size() == 1) return;
    std::vector<std::string> names;
    std::vector<double> mine;
    for_each_parameter(model, [&](const std::string& name, auto& p) {
        using B = typename std::remove_cvref_t<decltype(p)>::backend;
        names.push_back(name);
        mine.push_back(ops::reduce_all(B{}, ops::ReduceOp::sum, p.value()));
        mine.push_back(ops::reduce_all(B{}, ops::ReduceOp::sum_squares, p.value()));
    });
    const auto all = comm.gather_values(mine);
    for (int r = 0; r < comm.size(); ++r)
        for (std::size_t i = 0; i < mine.size(); ++i)
            CONTRA_CHECK(all[std::size_t(r) * mine.size() + i] == mine[i], "dist: parameter ", names[i / 2],
                         " differs between rank ", comm.rank(), " and rank ", r, " (",
                         i % 2 ? "sum of squares " : "sum ", mine[i], " vs ", all[std::size_t(r) * mine.size() + i], ")");
}

}  // namespace contra::dist
