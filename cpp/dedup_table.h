// Open-addressing set of int64 hashes. std::unordered_set allocates a node per
// insert, which is what makes it barely faster than a Python set; linear probing
// over a flat power-of-two array is several times faster for batched dedup.
// Not thread-safe: DedupSetObj serialises access with its mutex.
#ifndef TVM_LLM_SCHED_DEDUP_TABLE_H_
#define TVM_LLM_SCHED_DEDUP_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tvm_llm_sched {

class DedupTable {
 public:
  /*! \brief Insert `key`; return true if it was not present. */
  bool Insert(int64_t key) {
    // 0 marks an empty slot, so the key 0 is tracked out of band.
    if (key == 0) {
      const bool fresh = !has_zero_;
      has_zero_ = true;
      return fresh;
    }
    if ((count_ + 1) * 2 > slots_.size()) Grow(count_ + 1);
    size_t i = Slot(key);
    while (slots_[i] != 0) {
      if (slots_[i] == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = key;
    ++count_;
    return true;
  }

  bool Contains(int64_t key) const {
    if (key == 0) return has_zero_;
    if (slots_.empty()) return false;
    for (size_t i = Slot(key); slots_[i] != 0; i = (i + 1) & mask_) {
      if (slots_[i] == key) return true;
    }
    return false;
  }

  /*! \brief Make room for `extra` more keys without rehashing on the way. */
  void Reserve(size_t extra) {
    if ((count_ + extra) * 2 > slots_.size()) Grow(count_ + extra);
  }

  size_t Size() const { return count_ + (has_zero_ ? 1 : 0); }

  void Clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    mask_ = 0;
    count_ = 0;
    has_zero_ = false;
  }

 private:
  size_t Slot(int64_t key) const {
    // splitmix64 finaliser: callers may insert sequential ints, not only good hashes.
    uint64_t x = static_cast<uint64_t>(key);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<size_t>(x) & mask_;
  }

  void Grow(size_t min_count) {
    size_t capacity = 16;
    while (capacity < min_count * 2) capacity *= 2;
    std::vector<int64_t> old;
    old.swap(slots_);
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
    for (int64_t key : old) {
      if (key == 0) continue;
      size_t i = Slot(key);
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = key;
    }
  }

  std::vector<int64_t> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;  // non-zero keys in slots_
  bool has_zero_ = false;
};

}  // namespace tvm_llm_sched

#endif  // TVM_LLM_SCHED_DEDUP_TABLE_H_
