// contra/dist/communicator.hpp — the group of processes a data-parallel run spans, and the
// collectives contra needs from it. Two real implementations ride on the engines the field
// already uses: dist::MpiCommunicator (host tensors, dist/mpi.hpp) and dist::NcclCommunicator
// (CUDA tensors, dist/nccl.cuh, its unique id exchanged over MPI). dist::SingleProcess is the
// world of one: every collective is a copy, so the distributed code paths run unchanged in one
// process.
// defines: dist::Communicator, dist::SingleProcess, dist::all_gather_rows, dist::reduce_scatter_rows,
//          dist::all_reduce_sum
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/tensor.hpp"

namespace contra::dist {

// Communicator: rank r of size() processes. Collectives are called by every rank in the same
// order with the same sizes (as MPI and NCCL require); buffers are host memory or device memory
// as device_memory() says. A rank that does not answer within the timeout turns a call into a
// contra::Error naming it, never a hang.
class Communicator {
public:
    using Request = std::size_t;  // a started reduction, finished by wait()

    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual bool device_memory() const = 0;  // false: host buffers (MPI); true: CUDA buffers (NCCL)

    // all_gather: all = [rank 0's count values | rank 1's | …]; requires: all holds size()·count.
    virtual void all_gather(const void* local, void* all, std::size_t count, DType type) = 0;
    // reduce_scatter_sum: local = Σ over ranks of their all[rank·count, (rank+1)·count).
    virtual void reduce_scatter_sum(const void* all, void* local, std::size_t count, DType type) = 0;
    // start_all_reduce_sum: data ← Σ over ranks of data, in place, finished by wait(); several may
    // be in flight at once (gradient buckets while backward runs).
    virtual Request start_all_reduce_sum(void* data, std::size_t count, DType type) = 0;
    virtual void wait(Request request) = 0;
    // average: the mean over ranks of one number (losses for logging).
    virtual double average(double value) = 0;
    // gather_values: every rank's `mine` (all of the same length), rank after rank, on every rank.
    virtual std::vector<double> gather_values(const std::vector<double>& mine) = 0;
    // broadcast: rank `root`'s value on every rank (a schedule length sized on rank 0).
    virtual std::int64_t broadcast(std::int64_t value, int root) = 0;
    // heartbeat: every rank announces that it reached `step`; ensures: every other rank did too,
    // else a contra::Error naming the ranks that did not within the timeout.
    virtual void heartbeat(std::int64_t step) = 0;
};

// SingleProcess: a world of one rank.
class SingleProcess final : public Communicator {
public:
    explicit SingleProcess(bool device_memory = false) : device_(device_memory) {}
    int rank() const override { return 0; }
    int size() const override { return 1; }
    bool device_memory() const override { return device_; }
    void all_gather(const void*, void*, std::size_t, DType) override {}
    void reduce_scatter_sum(const void*, void*, std::size_t, DType) override {}
    Request start_all_reduce_sum(void*, std::size_t, DType) override { return 0; }
    void wait(Request) override {}
    double average(double value) override { return value; }
    std::vector<double> gather_values(const std::vector<double>& mine) override { return mine; }
    std::int64_t broadcast(std::int64_t value, int) override { return value; }
    void heartbeat(std::int64_t) override {}

private:
    bool device_;
};

namespace detail {
template <class D>
void check_memory(const Communicator& comm, const char* what) {
    constexpr bool device = std::same_as<D, cuda>;
    CONTRA_CHECK(comm.device_memory() == device, what, ": this communicator works on ",
                 comm.device_memory() ? "CUDA" : "host", " tensors, not ", device ? "CUDA" : "host",
                 " ones (MPI: cpu, NCCL: cuda)");
}
}  // namespace detail

// all_gather_rows(comm, local [n, …], all [size()·n, …]): rank r's rows land at rows r·n.
template <class T, class D>
void all_gather_rows(Communicator& comm, const Tensor<T, D>& local, Tensor<T, D>& all) {
    detail::check_memory<D>(comm, "all_gather_rows");
    CONTRA_CHECK(all.numel() == local.numel() * comm.size(), "all_gather_rows: ", comm.size(), " ranks of ", local.shape(),
                 " do not fill ", all.shape());
    if (comm.size() == 1) return copy(local, all);
    comm.all_gather(local.data(), all.data(), std::size_t(local.numel()), dtype_of<T>);
}

// reduce_scatter_rows(comm, all [size()·n, …], local [n, …]): local = Σ_ranks their rows r·n…(r+1)·n−1.
template <class T, class D>
void reduce_scatter_rows(Communicator& comm, const Tensor<T, D>& all, Tensor<T, D>& local) {
    detail::check_memory<D>(comm, "reduce_scatter_rows");
    CONTRA_CHECK(all.numel() == local.numel() * comm.size(), "reduce_scatter_rows: ", all.shape(), " is not ",
                 comm.size(), " ranks of ", local.shape());
    if (comm.size() == 1) return copy(all, local);
    comm.reduce_scatter_sum(all.data(), local.data(), std::size_t(local.numel()), dtype_of<T>);
}

// all_reduce_sum(comm, x): x ← Σ over ranks of x.
template <class T, class D>
void all_reduce_sum(Communicator& comm, Tensor<T, D>& x) {
    detail::check_memory<D>(comm, "all_reduce_sum");
    comm.wait(comm.start_all_reduce_sum(x.data(), std::size_t(x.numel()), dtype_of<T>));
}

}  // namespace contra::dist
