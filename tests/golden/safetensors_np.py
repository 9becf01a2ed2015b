"""safetensors files read and written with numpy, for the scripts that make contra's golden tensors.

write(path, tensors, metadata): tensors maps name → numpy array; the stored dtype follows the
array's (float64 F64, float32 F32, float16 F16, int64 I64, int32 I32), little-endian, the header
padded to 8 bytes. read(path): name → numpy array (the metadata is skipped).
"""
import json
import struct

import numpy as np

KINDS = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}
KIND_OF = {np.dtype(v).newbyteorder("="): k for k, v in KINDS.items()}


def write(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, array in tensors.items():
        array = np.asarray(array)
        kind = KIND_OF[array.dtype.newbyteorder("=")]
        data = np.array(array, order="C").astype(KINDS[kind]).tobytes()  # (ascontiguousarray would make 0-d 1-d)
        header[name] = {"dtype": kind, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=KINDS[info["dtype"]]).reshape(info["shape"])
    return out
