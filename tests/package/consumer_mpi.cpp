// contra::mpi: an MPI communicator of one process (no mpirun), a sum over it.
#include <contra/dist/mpi.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    contra::dist::MpiSession session(&argc, &argv);
    contra::dist::MpiCommunicator comm(MPI_COMM_WORLD, 10.0);
    const double mean = comm.average(3.0);
    std::printf("contra::mpi: %d rank(s), mean %.1f\n", comm.size(), mean);
    return mean == 3.0 ? 0 : 1;
}
