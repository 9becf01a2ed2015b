// contra/dist/nccl.cuh — dist::NcclCommunicator: the collectives of dist::Communicator on CUDA
// tensors, through NCCL. The processes are started by mpirun; rank 0 makes the NCCL unique id and
// MPI broadcasts it; the host-side calls (average, gather_values, broadcast, heartbeat) go to the
// MpiCommunicator it is built on.
//
// Streams and deadlines. Collectives run on the communicator's own stream, after the work already
// queued on the caller's current stream (an event orders them), so gradient buckets reduce while
// backward keeps computing. The communicator is non-blocking (NCCL's config.blocking = 0): every
// wait polls the collective's event and ncclCommGetAsyncError until it completes or the timeout
// passes; then the NCCL communicator is aborted and a contra::Error says so, never a hang.
// defines: dist::NcclCommunicator
// requires: one GPU per rank (cudaSetDevice(host.local_rank()) before construction); every rank calls the collectives in the same order.
#pragma once
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../backend/cuda/context.cuh"
#include "communicator.hpp"
#include "mpi.hpp"

namespace contra::dist {

class NcclCommunicator final : public Communicator {
public:
    // host: the MPI world these ranks share; its timeout is this communicator's timeout too.
    explicit NcclCommunicator(MpiCommunicator& host) : host_(host) {
        ncclUniqueId id{};
        if (host_.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
        broadcast_bytes(&id, sizeof id);
        ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
        config.blocking = 0;
        check(ncclCommInitRankConfig(&comm_, host_.size(), id, host_.rank(), &config), "ncclCommInitRankConfig");
        await_comm("ncclCommInitRank");
        CONTRA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
        CONTRA_CUDA_CHECK(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
    }
    NcclCommunicator(const NcclCommunicator&) = delete;
    NcclCommunicator& operator=(const NcclCommunicator&) = delete;
    ~NcclCommunicator() override {
        for (auto& e : pending_)
            if (e) cudaEventDestroy(e);
        if (ready_) cudaEventDestroy(ready_);
        if (stream_) cudaStreamDestroy(stream_);
        if (comm_) ncclCommDestroy(comm_);
    }

    int rank() const override { return host_.rank(); }
    int size() const override { return host_.size(); }
    bool device_memory() const override { return true; }

    void all_gather(const void* local, void* all, std::size_t count, DType type) override {
        after_current_stream();
        check(ncclAllGather(local, all, count, nccl_type(type), comm_, stream_), "ncclAllGather");
        cudaEvent_t done = record();
        finish(done, "all_gather");
    }
    void reduce_scatter_sum(const void* all, void* local, std::size_t count, DType type) override {
        after_current_stream();
        check(ncclReduceScatter(all, local, count, nccl_type(type), ncclSum, comm_, stream_), "ncclReduceScatter");
        cudaEvent_t done = record();
        finish(done, "reduce_scatter");
    }
    Request start_all_reduce_sum(void* data, std::size_t count, DType type) override {
        after_current_stream();
        check(ncclAllReduce(data, data, count, nccl_type(type), ncclSum, comm_, stream_), "ncclAllReduce");
        pending_.push_back(record());
        return pending_.size() - 1;
    }
    // wait: the reduction is complete, and later work on the current stream sees its result.
    void wait(Request request) override {
        CONTRA_CHECK(request < pending_.size(), "NcclCommunicator::wait: unknown request ", request);
        finish(pending_[request], "all_reduce");
        bool all_done = true;
        for (auto e : pending_) all_done &= e == nullptr;
        if (all_done) pending_.clear();
    }

    double average(double value) override { return host_.average(value); }
    std::vector<double> gather_values(const std::vector<double>& mine) override { return host_.gather_values(mine); }
    std::int64_t broadcast(std::int64_t value, int root) override { return host_.broadcast(value, root); }
    void heartbeat(std::int64_t step) override { host_.heartbeat(step); }

private:
    using clock = std::chrono::steady_clock;

    static ncclDataType_t nccl_type(DType type) {
        switch (type) {
            case DType::f32: return ncclFloat32;
            case DType::f64: return ncclFloat64;
            case DType::bf16: return ncclBfloat16;
            case DType::f16: return ncclFloat16;
            case DType::i64: return ncclInt64;
            case DType::i32: return ncclInt32;
            default: throw Error("dist: NCCL collectives do not take " + std::string(dtype_name(type)) + " tensors");
        }
    }
    void check(ncclResult_t status, const char* call) {
        if (status == ncclSuccess || status == ncclInProgress) return;
        throw Error(std::string("dist: ") + call + " failed on rank " + std::to_string(rank()) + ": " +
                    ncclGetErrorString(status) + (status == ncclSystemError || status == ncclRemoteError
                                                      ? " (another rank may have stopped or died)"
                                                      : ""));
    }
    // The unique id travels as bytes over MPI.
    void broadcast_bytes(void* bytes, std::size_t count) {
        for (std::size_t at = 0; at < count; at += sizeof(std::int64_t)) {
            std::int64_t word = 0;
            std::memcpy(&word, static_cast<char*>(bytes) + at, std::min(sizeof word, count - at));
            word = host_.broadcast(word, 0);
            std::memcpy(static_cast<char*>(bytes) + at, &word, std::min(sizeof word, count - at));
        }
    }
    clock::time_point deadline() const {
        return clock::now() + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(host_.timeout()));
    }
    [[noreturn]] void abort_with(const char* what) {
        ncclCommAbort(comm_);
        comm_ = nullptr;
        throw Error(std::string("dist: NCCL ") + what + " did not complete within " + std::to_string(int(host_.timeout())) +
                    " s on rank " + std::to_string(rank()) + ": another rank stopped or died (communicator aborted)");
    }
    // Polls the communicator's asynchronous state until it leaves ncclInProgress.
    void await_comm(const char* what) {
        const auto until = deadline();
        for (;;) {
            ncclResult_t state = ncclSuccess;
            check(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
            if (state != ncclInProgress) return check(state, what);
            if (clock::now() > until) abort_with(what);
            std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
    }
    void after_current_stream() {
        CONTRA_CHECK(comm_ != nullptr, "dist: the NCCL communicator was aborted after an earlier failure");
        await_comm("enqueue");
        CONTRA_CUDA_CHECK(cudaEventRecord(ready_, cu::current_stream()));
        CONTRA_CUDA_CHECK(cudaStreamWaitEvent(stream_, ready_, 0));
    }
    cudaEvent_t record() {
        cudaEvent_t done = nullptr;
        CONTRA_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
        CONTRA_CUDA_CHECK(cudaEventRecord(done, stream_));
        return done;
    }
    // Waits for `done` (polling, with the deadline), then orders the current stream after it.
    void finish(cudaEvent_t& done, const char* what) {
        if (!done) return;
        const auto until = deadline();
        for (;;) {
            const cudaError_t status = cudaEventQuery(done);
            if (status == cudaSuccess) break;
            if (status != cudaErrorNotReady) CONTRA_CUDA_CHECK(status);
            ncclResult_t state = ncclSuccess;
            check(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
            check(state, what);
            if (clock::now() > until) abort_with(what);
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
        CONTRA_CUDA_CHECK(cudaStreamWaitEvent(cu::current_stream(), done, 0));
        CONTRA_CUDA_CHECK(cudaEventDestroy(done));
        done = nullptr;
    }

    MpiCommunicator& host_;
    ncclComm_t comm_ = nullptr;
    cudaStream_t stream_ = nullptr;
    cudaEvent_t ready_ = nullptr;
    std::vector<cudaEvent_t> pending_;
};

}  // namespace contra::dist
