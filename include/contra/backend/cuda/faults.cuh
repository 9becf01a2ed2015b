// contra/backend/cuda/faults.cuh — bad input a kernel finds (an index outside its table) without
// the host waiting for the device. The kernel records the first such fault in page-locked host
// memory that the device writes directly, and leaves the faulty element's output at zero (it
// reads and writes nothing out of range). The next time the host waits for the device (a copy to
// the host, synchronize()), raise_device_fault() turns the record into an Error, so no value
// computed after a fault reaches the host without that error.
// defines: cu::FaultKind, cu::DeviceFault, cu::FaultSink, cu::device_fault, cu::raise_device_fault
#pragma once
#include <string>

#include "common.cuh"

namespace contra::cu {

enum class FaultKind : unsigned { none = 0, gather_rows = 1, scatter_add_rows = 2 };

inline const char* fault_name(FaultKind kind) {
    switch (kind) {
        case FaultKind::gather_rows: return "gather_rows";
        case FaultKind::scatter_add_rows: return "scatter_add_rows";
        case FaultKind::none: break;
    }
    return "a kernel";
}

// The first fault since the last one was raised: index `value` at `position` outside [0, limit).
struct DeviceFault {
    unsigned kind;  // FaultKind; none while there is no fault
    long long position, value, limit;
};

// Where kernels record a fault: `claim`, a word of device memory that the first fault takes with
// an atomic (atomics on host memory are not atomic everywhere), and `record`, the device's view of
// the page-locked host record, written with plain stores by the fault that took the claim.
struct FaultSink {
    unsigned* claim;
    DeviceFault* record;
};

namespace detail {
// The process's fault record: `host`, page-locked and mapped, and the sink kernels write through.
// Never freed (see CachingAllocator::instance). `ready` is false where mapped memory cannot be had.
struct FaultRecord {
    DeviceFault* host = nullptr;
    FaultSink sink{nullptr, nullptr};
    bool ready = false;
    FaultRecord() {
        void* p = nullptr;
        if (cudaHostAlloc(&p, sizeof(DeviceFault), cudaHostAllocMapped) != cudaSuccess) {
            (void)cudaGetLastError();
            return;
        }
        host = static_cast<DeviceFault*>(p);
        *host = DeviceFault{0, 0, 0, 0};
        void* on_device = nullptr;
        void* claim = nullptr;
        if (cudaHostGetDevicePointer(&on_device, p, 0) != cudaSuccess || cudaMalloc(&claim, sizeof(unsigned)) != cudaSuccess ||
            cudaMemset(claim, 0, sizeof(unsigned)) != cudaSuccess) {
            (void)cudaGetLastError();
            return;
        }
        sink = {static_cast<unsigned*>(claim), static_cast<DeviceFault*>(on_device)};
        ready = true;
    }
    static FaultRecord& instance() {
        static FaultRecord* record = new FaultRecord;
        return *record;
    }
};
}  // namespace detail

// The sink kernels record a fault through; null where the device cannot write host memory (then
// the launchers check their indices with a wait instead).
inline const FaultSink* device_fault() {
    const auto& r = detail::FaultRecord::instance();
    return r.ready ? &r.sink : nullptr;
}

// Called after a wait for `stream`: throws the recorded fault, if any, and clears it (the claim
// is released on that stream, behind the work that found the fault).
inline void raise_device_fault(cudaStream_t stream) {
    auto& r = detail::FaultRecord::instance();
    if (!r.ready || r.host->kind == unsigned(FaultKind::none)) return;
    const DeviceFault seen = *r.host;
    r.host->kind = unsigned(FaultKind::none);
    CONTRA_CUDA_CHECK(cudaMemsetAsync(r.sink.claim, 0, sizeof(unsigned), stream));
    throw Error(std::string(fault_name(FaultKind(seen.kind))) + ": index " + std::to_string(seen.value) + " at position " +
                std::to_string(seen.position) + " is outside [0, " + std::to_string(seen.limit) + ")");
}

// On the device: records the fault unless an earlier one is waiting to be raised.
__device__ inline void record_fault(FaultSink sink, FaultKind kind, long long position, long long value, long long limit) {
    if (atomicCAS(sink.claim, 0u, 1u) != 0u) return;
    sink.record->position = position;
    sink.record->value = value;
    sink.record->limit = limit;
    __threadfence_system();
    sink.record->kind = unsigned(kind);
    __threadfence_system();
}

}  // namespace contra::cu
