// contra/dist/mpi.hpp — data parallelism over MPI (host tensors): launch with `mpirun -np N`.
// Every collective is non-blocking underneath and waited for with a deadline, so a rank that
// died or stalls ends the others with a message naming it instead of a hang.
// Needs <mpi.h> and linking MPI (CMake: contra::mpi, option CONTRA_MPI).
// defines: dist::MpiSession, dist::MpiCommunicator, dist::launched_by_mpirun
#pragma once
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "communicator.hpp"

namespace contra::dist {

// launched_by_mpirun(): whether this process is one rank of an MPI job (Open MPI, MPICH/PMI).
inline bool launched_by_mpirun() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (std::getenv(v)) return true;
    return false;
}

// MpiSession: MPI_Init_thread on construction (the main thread makes every MPI call), MPI_Finalize
// on destruction. One per process.
class MpiSession {
public:
    MpiSession(int* argc, char*** argv) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (initialized) return;
        int provided = 0;
        CONTRA_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS, "MPI_Init_thread failed");
        owns_ = true;
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    }
    ~MpiSession() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (owns_ && !finalized) MPI_Finalize();
    }
    MpiSession(const MpiSession&) = delete;
    MpiSession& operator=(const MpiSession&) = delete;

    // abort(message): prints it (with the rank) and ends every rank of the job with status 1.
    [[noreturn]] static void abort(const std::string& message) {
        int rank = -1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        std::fprintf(stderr, "contra: rank %d: %s\n", rank, message.c_str());
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
        std::exit(1);
    }

private:
    bool owns_ = false;
};

class MpiCommunicator final : public Communicator {
public:
    // timeout_s: how long any collective may wait for the other ranks.
    explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD, double timeout_s = 120) : comm_(comm), timeout_s_(timeout_s) {
        MPI_Comm_rank(comm_, &rank_);
        MPI_Comm_size(comm_, &size_);
        MPI_Comm local;
        MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
        MPI_Comm_size(local, &local_size_);
        MPI_Comm_rank(local, &local_rank_);
        MPI_Comm_free(&local);
    }
    ~MpiCommunicator() override = default;

    int rank() const override { return rank_; }
    int size() const override { return size_; }
    bool device_memory() const override { return false; }
    void set_timeout(double seconds) { timeout_s_ = seconds; }
    int ranks_on_this_machine() const { return local_size_; }  // ranks sharing this host's cores
    int local_rank() const { return local_rank_; }  // this rank's index among them: its GPU
    double timeout() const { return timeout_s_; }

    void all_gather(const void* local, void* all, std::size_t count, DType type) override {
        MPI_Request r;
        check(MPI_Iallgather(local, int_count(count), mpi_type(type), all, int_count(count), mpi_type(type), comm_, &r),
              "MPI_Iallgather");
        finish(r, "all_gather");
    }
    void reduce_scatter_sum(const void* all, void* local, std::size_t count, DType type) override {
        MPI_Request r;
        check(MPI_Ireduce_scatter_block(all, local, int_count(count), mpi_type(type), MPI_SUM, comm_, &r),
              "MPI_Ireduce_scatter_block");
        finish(r, "reduce_scatter");
    }
    Request start_all_reduce_sum(void* data, std::size_t count, DType type) override {
        MPI_Request r;
        check(MPI_Iallreduce(MPI_IN_PLACE, data, int_count(count), mpi_type(type), MPI_SUM, comm_, &r), "MPI_Iallreduce");
        pending_.push_back(r);
        return pending_.size() - 1;
    }
    void wait(Request request) override {
        CONTRA_CHECK(request < pending_.size(), "MpiCommunicator::wait: unknown request ", request);
        finish(pending_[request], "all_reduce");
        bool all_done = true;
        for (auto& r : pending_) all_done &= r == MPI_REQUEST_NULL;
        if (all_done) pending_.clear();
    }
    double average(double value) override {
        double total = 0;
        MPI_Request r;
        check(MPI_Iallreduce(&value, &total, 1, MPI_DOUBLE, MPI_SUM, comm_, &r), "MPI_Iallreduce");
        finish(r, "average");
        return total / double(size_);
    }
    std::vector<double> gather_values(const std::vector<double>& mine) override {
        std::vector<double> all(mine.size() * std::size_t(size_));
        MPI_Request r;
        check(MPI_Iallgather(mine.data(), int_count(mine.size()), MPI_DOUBLE, all.data(), int_count(mine.size()), MPI_DOUBLE,
                             comm_, &r),
              "MPI_Iallgather");
        finish(r, "gather_values");
        return all;
    }
    std::int64_t broadcast(std::int64_t value, int root) override {
        MPI_Request r;
        check(MPI_Ibcast(&value, 1, MPI_INT64_T, root, comm_, &r), "MPI_Ibcast");
        finish(r, "broadcast");
        return value;
    }

    // Each rank sends its step to every other and waits for theirs: the ranks missing at the
    // deadline are named. Point-to-point, so a dead rank cannot hide inside a collective.
    void heartbeat(std::int64_t step) override {
        if (size_ == 1) return;
        constexpr int kTag = 0x4ea7;
        std::vector<std::int64_t> theirs(std::size_t(size_), -1);
        std::vector<MPI_Request> receives(std::size_t(size_), MPI_REQUEST_NULL), sends;
        for (int q = 0; q < size_; ++q) {
            if (q == rank_) continue;
            check(MPI_Irecv(&theirs[std::size_t(q)], 1, MPI_INT64_T, q, kTag, comm_, &receives[std::size_t(q)]), "MPI_Irecv");
            sends.emplace_back();
            check(MPI_Isend(&step, 1, MPI_INT64_T, q, kTag, comm_, &sends.back()), "MPI_Isend");
        }
        const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(timeout_s_));
        std::vector<int> missing;
        for (int q = 0; q < size_; ++q) {
            if (q == rank_) continue;
            if (!poll_until(receives[std::size_t(q)], deadline)) missing.push_back(q);
        }
        if (!missing.empty()) {
            std::string names;
            for (int q : missing) names += (names.empty() ? "" : ", ") + std::to_string(q);
            throw Error("dist: rank" + std::string(missing.size() > 1 ? "s " : " ") + names + " did not reach step " +
                        std::to_string(step) + " within " + std::to_string(int(timeout_s_)) +
                        " s (stopped or died); this rank (" + std::to_string(rank_) + ") stops too. Resume from the last " +
                        "checkpoint with --resume");
        }
        for (auto& s : sends) poll_until(s, deadline);
        for (int q = 0; q < size_; ++q)
            CONTRA_CHECK(q == rank_ || theirs[std::size_t(q)] == step, "dist: rank ", q, " is at step ",
                         theirs[std::size_t(q)], " but rank ", rank_, " at step ", step,
                         " (the ranks must run the same schedule)");
    }

private:
    using clock = std::chrono::steady_clock;

    static MPI_Datatype mpi_type(DType type) {
        switch (type) {
            case DType::f32: return MPI_FLOAT;
            case DType::f64: return MPI_DOUBLE;
            case DType::i64: return MPI_INT64_T;
            case DType::i32: return MPI_INT32_T;
            default: throw Error("dist: MPI collectives take float, double and integer tensors, not " + std::string(dtype_name(type)));
        }
    }
    static int int_count(std::size_t count) {
        CONTRA_CHECK(count <= std::size_t(0x7fffffff), "dist: ", count, " elements exceed one MPI message (2^31 − 1)");
        return int(count);
    }
    void check(int status, const char* call) const {
        if (status == MPI_SUCCESS) return;
        char text[MPI_MAX_ERROR_STRING];
        int length = 0;
        MPI_Error_string(status, text, &length);
        throw Error(std::string("dist: ") + call + " failed on rank " + std::to_string(rank_) + ": " + std::string(text, std::size_t(length)));
    }
    // Polls r until it completes (true) or the deadline passes (false).
    bool poll_until(MPI_Request& r, clock::time_point deadline) const {
        int done = 0;
        for (int spins = 0;; ++spins) {
            check(MPI_Test(&r, &done, MPI_STATUS_IGNORE), "MPI_Test");
            if (done) return true;
            if (clock::now() > deadline) return false;
            if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }
    void finish(MPI_Request& r, const char* what) {
        if (r == MPI_REQUEST_NULL) return;
        if (!poll_until(r, clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(timeout_s_))))
            throw Error(std::string("dist: ") + what + " did not complete within " + std::to_string(int(timeout_s_)) +
                        " s on rank " + std::to_string(rank_) + ": another rank stopped or died");
    }

    MPI_Comm comm_;
    int rank_ = 0, size_ = 1, local_size_ = 1, local_rank_ = 0;
    double timeout_s_;
    std::vector<MPI_Request> pending_;
};

}  // namespace contra::dist
