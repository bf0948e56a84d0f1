// XXH64 (seed 0 by default), written from the public xxHash specification so the
// extension needs no third-party source. Input words are read little-endian, so the
// result is identical on any host byte order.
#ifndef TVM_LLM_SCHED_XXH64_H_
#define TVM_LLM_SCHED_XXH64_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tvm_llm_sched {
namespace xxh64_detail {

constexpr uint64_t kP1 = 11400714785074694791ULL;
constexpr uint64_t kP2 = 14029467366897019727ULL;
constexpr uint64_t kP3 = 1609587929392839161ULL;
constexpr uint64_t kP4 = 9650029242287828579ULL;
constexpr uint64_t kP5 = 2870177450012600261ULL;

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

// Little-endian load of a uint32_t/uint64_t. memcpy compiles to one unaligned load at
// any optimisation level (a byte-by-byte form only did at -O3); big-endian hosts swap.
template <typename T>
inline uint64_t ReadLE(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  if constexpr (sizeof(T) == 8) {
    v = __builtin_bswap64(v);
  } else {
    v = __builtin_bswap32(v);
  }
#endif
  return v;
}

inline uint64_t Read64(const unsigned char* p) { return ReadLE<uint64_t>(p); }
inline uint64_t Read32(const unsigned char* p) { return ReadLE<uint32_t>(p); }

inline uint64_t Round(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  acc = Rotl(acc, 31);
  return acc * kP1;
}

inline uint64_t MergeRound(uint64_t acc, uint64_t val) {
  acc ^= Round(0, val);
  return acc * kP1 + kP4;
}

}  // namespace xxh64_detail

/*! \brief XXH64 digest of `data` with `seed`. */
inline uint64_t Xxh64(std::string_view data, uint64_t seed = 0) {
  using namespace xxh64_detail;  // NOLINT(build/namespaces)
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const unsigned char* end = p + data.size();
  uint64_t h;
  if (data.size() >= 32) {
    uint64_t v1 = seed + kP1 + kP2;
    uint64_t v2 = seed + kP2;
    uint64_t v3 = seed;
    uint64_t v4 = seed - kP1;
    const unsigned char* limit = end - 32;
    do {
      v1 = Round(v1, Read64(p));
      v2 = Round(v2, Read64(p + 8));
      v3 = Round(v3, Read64(p + 16));
      v4 = Round(v4, Read64(p + 24));
      p += 32;
    } while (p <= limit);
    h = Rotl(v1, 1) + Rotl(v2, 7) + Rotl(v3, 12) + Rotl(v4, 18);
    h = MergeRound(h, v1);
    h = MergeRound(h, v2);
    h = MergeRound(h, v3);
    h = MergeRound(h, v4);
  } else {
    h = seed + kP5;
  }
  h += static_cast<uint64_t>(data.size());
  while (p + 8 <= end) {
    h ^= Round(0, Read64(p));
    h = Rotl(h, 27) * kP1 + kP4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= Read32(p) * kP1;
    h = Rotl(h, 23) * kP2 + kP3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<uint64_t>(*p) * kP5;
    h = Rotl(h, 11) * kP1;
    ++p;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

/*! \brief XXH64 (seed 0) as the signed int64 with the same bits: FFI integers are signed. */
inline int64_t Xxh64Signed(std::string_view data) { return static_cast<int64_t>(Xxh64(data)); }

}  // namespace tvm_llm_sched

#endif  // TVM_LLM_SCHED_XXH64_H_
