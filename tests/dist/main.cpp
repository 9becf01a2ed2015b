// The doctest main of the MPI tests (run as `mpirun -np 2 test_dist`): every rank runs every test
// case; the program fails on every rank when a check failed on any.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <contra/dist/mpi.hpp>

int main(int argc, char** argv) {
    contra::dist::MpiSession mpi(&argc, &argv);
    doctest::Context context(argc, argv);
    const int failures = context.run();
    int worst = 0;
    MPI_Allreduce(&failures, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return worst == 0 ? 0 : 1;
}
