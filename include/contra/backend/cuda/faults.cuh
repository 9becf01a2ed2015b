// contra/backend/cuda/faults.cuh — bad input a kernel finds (an index outside its table) without
// the host waiting for the device. The kernel records the first such fault in page-locked host
// memory that the device writes directly, and leaves the faulty element's output at zero (it
// reads and writes nothing out of range). The next time the host waits for the device (a copy to
// the host, synchronize()), raise_device_fault() turns the record into an Error, so no value
// computed after a fault reaches the host without that error.
// defines: cu::FaultKind, cu::DeviceFault, cu::device_fault, cu::raise_device_fault
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

namespace detail {
// The process's fault record, page-locked and mapped: `host` for the host, `device` for kernels.
// Never freed (see CachingAllocator::instance). Null where mapped memory cannot be had.
struct FaultRecord {
    DeviceFault* host = nullptr;
    DeviceFault* device = nullptr;
    FaultRecord() {
        void* p = nullptr;
        if (cudaHostAlloc(&p, sizeof(DeviceFault), cudaHostAllocMapped) != cudaSuccess) {
            (void)cudaGetLastError();
            return;
        }
        host = static_cast<DeviceFault*>(p);
        *host = DeviceFault{0, 0, 0, 0};
        void* on_device = nullptr;
        if (cudaHostGetDevicePointer(&on_device, p, 0) != cudaSuccess) {
            (void)cudaGetLastError();
            host = nullptr;
            return;
        }
        device = static_cast<DeviceFault*>(on_device);
    }
    static FaultRecord& instance() {
        static FaultRecord* record = new FaultRecord;
        return *record;
    }
};
}  // namespace detail

// The record kernels write a fault into; null where the device cannot write host memory (then
// the launchers check their indices with a wait instead).
inline DeviceFault* device_fault() { return detail::FaultRecord::instance().device; }

// Called after a wait for the device: throws the recorded fault, if any, and clears it.
inline void raise_device_fault() {
    DeviceFault* f = detail::FaultRecord::instance().host;
    if (!f || f->kind == unsigned(FaultKind::none)) return;
    const DeviceFault seen = *f;
    f->kind = unsigned(FaultKind::none);
    throw Error(std::string(fault_name(FaultKind(seen.kind))) + ": index " + std::to_string(seen.value) + " at position " +
                std::to_string(seen.position) + " is outside [0, " + std::to_string(seen.limit) + ")");
}

// On the device: records the fault unless an earlier one is waiting to be raised.
__device__ inline void record_fault(DeviceFault* fault, FaultKind kind, long long position, long long value,
                                    long long limit) {
    if (atomicCAS(&fault->kind, unsigned(FaultKind::none), unsigned(kind)) != unsigned(FaultKind::none)) return;
    fault->position = position;
    fault->value = value;
    fault->limit = limit;
    __threadfence_system();
}

}  // namespace contra::cu
