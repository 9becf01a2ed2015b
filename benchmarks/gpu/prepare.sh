#!/bin/sh
# Builds, on any machine with nvcc and contra's Debian packages (no GPU needed), what the device
# script (run.sh) needs, and gathers it in gpu-bin/ for a GPU machine that has CUDA but none of
# those packages: test_cuda, test_cli and contra for sm_90 (ARCH to choose another), without
# -march=native, MPI or libarchive; the few shared libraries contra needs besides CUDA's and the
# compiler's; and Fashion-MNIST for the main job: about 40 MB. Then, there: BIN=gpu-bin sh benchmarks/gpu/run.sh
#   sh benchmarks/gpu/prepare.sh            # about 12 minutes on 2 cores
set -e
cd "$(dirname "$0")/../.."
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONTRA_CUDA=ON -DCONTRA_NATIVE=OFF \
  -DCMAKE_CUDA_ARCHITECTURES="${ARCH:-90}" -DCONTRA_MPI=OFF -DCONTRA_WEBDATASET=OFF > /dev/null
cmake --build build-gpu --target test_cuda test_cli contra_cli
rm -rf gpu-bin
mkdir -p gpu-bin/lib
for program in test_cuda test_cli contra; do  # stripped and gzipped: run.sh unpacks them (carrying has a size limit)
  strip -o "gpu-bin/$program" "build-gpu/bin/$program"
  gzip -9 "gpu-bin/$program"
done
# Libraries a CUDA machine may lack (libstdc++, libgomp and zlib come with its compiler)
for library in libutf8proc.so.2 libstb.so.0 libturbojpeg.so.0; do
  path=$(ldd build-gpu/bin/contra | awk -v l="$library" '$1 == l { print $3 }')
  [ -n "$path" ] && cp -L "$path" gpu-bin/lib/
done
cp -r "${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" gpu-bin/fashion-mnist
du -sh gpu-bin
