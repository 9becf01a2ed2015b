// contra/core/dtype.hpp — element types: f64, f32, bf16, f16 (storage), i64, i32, u8.
// defines: contra::bf16, contra::f16, contra::DType, dtype_of<T>, dtype_size, dtype_name,
//          acc_t<T> (the type arithmetic on T accumulates in)
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "config.hpp"

namespace contra {

// bf16: the upper half of an IEEE float. Conversion from float rounds to nearest even;
// NaN stays NaN. Arithmetic happens in float (acc_t<bf16> = float).
struct bf16 {
    std::uint16_t bits = 0;
    bf16() = default;
    CONTRA_HOST_DEVICE bf16(float value) : bits(from_float(value)) {}
    CONTRA_HOST_DEVICE operator float() const {
        const std::uint32_t word = std::uint32_t(bits) << 16;
        float value;
        std::memcpy(&value, &word, 4);
        return value;
    }
    static CONTRA_HOST_DEVICE std::uint16_t from_float(float value) {
        std::uint32_t word;
        std::memcpy(&word, &value, 4);
        if ((word & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((word >> 16) | 0x40u);  // quiet NaN
        word += 0x7fffu + ((word >> 16) & 1u);
        return std::uint16_t(word >> 16);
    }
};

// f16: IEEE half precision, for storage and checkpoint I/O. Rounds to nearest even;
// overflow gives infinity; subnormals are kept.
struct f16 {
    std::uint16_t bits = 0;
    f16() = default;
    CONTRA_HOST_DEVICE f16(float value) : bits(from_float(value)) {}
    CONTRA_HOST_DEVICE operator float() const { return to_float(bits); }

    static CONTRA_HOST_DEVICE float to_float(std::uint16_t h) {
        const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
        std::uint32_t exponent = (h >> 10) & 0x1fu;
        std::uint32_t mantissa = h & 0x3ffu;
        std::uint32_t word;
        if (exponent == 0x1f) {
            word = sign | 0x7f800000u | (mantissa << 13);
        } else if (exponent != 0) {
            word = sign | ((exponent + 112) << 23) | (mantissa << 13);
        } else if (mantissa == 0) {
            word = sign;
        } else {  // subnormal: normalise
            exponent = 113;
            while ((mantissa & 0x400u) == 0) {
                mantissa <<= 1;
                --exponent;
            }
            word = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
        }
        float value;
        std::memcpy(&value, &word, 4);
        return value;
    }
    static CONTRA_HOST_DEVICE std::uint16_t from_float(float value) {
        std::uint32_t word;
        std::memcpy(&word, &value, 4);
        const std::uint16_t sign = std::uint16_t((word >> 16) & 0x8000u);
        const std::uint32_t magnitude = word & 0x7fffffffu;
        if (magnitude > 0x7f800000u) return std::uint16_t(sign | 0x7e00u);  // NaN
        if (magnitude >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // rounds to inf
        if (magnitude < 0x38800000u) {                                     // subnormal or zero
            if (magnitude < 0x33000000u) return sign;                      // below half the smallest
            // value = mantissa24 * 2^(e-150); in units of 2^-24 that is mantissa24 >> (126 - e)
            const std::uint32_t rshift = 126 - (magnitude >> 23);
            const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
            std::uint32_t result = mantissa >> rshift;
            const std::uint32_t rest = mantissa & ((1u << rshift) - 1);
            const std::uint32_t halfway = 1u << (rshift - 1);
            if (rest > halfway || (rest == halfway && (result & 1u))) ++result;
            return std::uint16_t(sign | result);
        }
        std::uint32_t result = ((magnitude >> 13) - (112u << 10));
        const std::uint32_t rest = magnitude & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (result & 1u))) ++result;
        return std::uint16_t(sign | result);
    }
};

enum class DType : std::uint8_t { f64, f32, bf16, f16, i64, i32, u8 };

template <class T> struct dtype_traits;
template <> struct dtype_traits<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_traits<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_traits<bf16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_traits<f16> { static constexpr DType value = DType::f16; };
template <> struct dtype_traits<std::int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_traits<std::int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_traits<std::uint8_t> { static constexpr DType value = DType::u8; };

template <class T> inline constexpr DType dtype_of = dtype_traits<std::remove_cv_t<T>>::value;

constexpr std::size_t dtype_size(DType t) {
    switch (t) {
        case DType::f64: case DType::i64: return 8;
        case DType::f32: case DType::i32: return 4;
        case DType::bf16: case DType::f16: return 2;
        case DType::u8: return 1;
    }
    return 0;
}

constexpr std::string_view dtype_name(DType t) {
    switch (t) {
        case DType::f64: return "F64";
        case DType::f32: return "F32";
        case DType::bf16: return "BF16";
        case DType::f16: return "F16";
        case DType::i64: return "I64";
        case DType::i32: return "I32";
        case DType::u8: return "U8";
    }
    return "?";
}

// acc_t<T>: the type sums and products of T are accumulated in (fp32 for the 16-bit types).
template <class T> struct accumulate_type { using type = T; };
template <> struct accumulate_type<bf16> { using type = float; };
template <> struct accumulate_type<f16> { using type = float; };
template <class T> using acc_t = typename accumulate_type<T>::type;

template <class T>
inline constexpr bool is_floating = std::is_floating_point_v<T> || std::is_same_v<T, bf16> || std::is_same_v<T, f16>;

}  // namespace contra
