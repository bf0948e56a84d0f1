// tvm-ffi bindings: thin wrappers registered under the `tvm_llm_sched.` prefix.
// The typed Python API lives in tvm_llm_sched/native/ffi_backend.py; it validates
// cheaply before calling, and the checks here are the backstop that keeps bad input
// from ever crashing the process.
#include <tvm/ffi/any.h>
#include <tvm/ffi/container/array.h>
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/dtype.h>
#include <tvm/ffi/error.h>
#include <tvm/ffi/function.h>
#include <tvm/ffi/object.h>
#include <tvm/ffi/reflection/registry.h>
#include <tvm/ffi/string.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "canonical.h"
#include "dedup_table.h"
#include "xxh64.h"

namespace tvm_llm_sched {
namespace {

using tvm::ffi::Any;
using tvm::ffi::AnyView;
using tvm::ffi::Array;
using tvm::ffi::Bytes;
using tvm::ffi::Object;
using tvm::ffi::ObjectRef;
using tvm::ffi::String;
using tvm::ffi::TensorView;

/*! \brief Run `fn` on the UTF-8 (str) or raw (bytes) bytes of `text`. */
template <typename Fn>
auto WithTextBytes(const AnyView& text, const char* what, Fn&& fn) {
  if (auto s = text.try_cast<String>()) return fn(std::string_view(s->data(), s->size()));
  if (auto b = text.try_cast<Bytes>()) return fn(std::string_view(b->data(), b->size()));
  TVM_FFI_THROW(TypeError) << what << " must be str or bytes, got " << text.GetTypeKey();
}

/*! \brief Check that `t` is a 1-D C-contiguous CPU tensor of `numel` items of `code`/`bits`. */
void CheckVector(const TensorView& t, const char* what, DLDataTypeCode code, int bits,
                 int64_t numel) {
  const DLDataType dtype = t.dtype();
  if (dtype.code != code || dtype.bits != bits || dtype.lanes != 1) {
    TVM_FFI_THROW(TypeError) << what << " has dtype " << tvm::ffi::DLDataTypeToString(dtype)
                             << ", expected "
                             << tvm::ffi::DLDataTypeToString(DLDataType{
                                    static_cast<uint8_t>(code), static_cast<uint8_t>(bits), 1});
  }
  if (t.device().device_type != kDLCPU) {
    TVM_FFI_THROW(ValueError) << what << " must live on the CPU";
  }
  if (t.ndim() != 1) {
    TVM_FFI_THROW(ValueError) << what << " must be 1-D, got " << t.ndim() << "-D";
  }
  if (!t.IsContiguous()) TVM_FFI_THROW(ValueError) << what << " must be C-contiguous";
  if (numel >= 0 && t.numel() != numel) {
    TVM_FFI_THROW(ValueError) << what << " has " << t.numel() << " items, expected " << numel;
  }
}

template <typename T>
T* VectorData(const TensorView& t) {
  return reinterpret_cast<T*>(static_cast<char*>(t.data_ptr()) + t.byte_offset());
}

/*! \brief Reserved words with owned storage: iterating an Array<String> yields temporaries. */
class Reserved {
 public:
  explicit Reserved(const Array<String>& words) {
    storage_.reserve(words.size());
    for (const String& w : words) storage_.emplace_back(w.data(), w.size());
    for (const std::string& w : storage_) words_.insert(w);
  }
  Reserved(const Reserved&) = delete;
  Reserved& operator=(const Reserved&) = delete;
  const ReservedWords& words() const { return words_; }

 private:
  std::vector<std::string> storage_;  // never resized after words_ points into it
  ReservedWords words_;
};

/*!
 * \brief Split `data` into the packed texts: `data[offsets[i]:offsets[i+1]]`, or, when
 *        `offsets` is empty, the NUL-separated pieces of `data`.
 *
 * Python packs a list into one uint8 buffer because converting a list of str to an
 * ffi Array costs more per item than hashing it in pure Python. NUL separators spare
 * Python a per-item pass to compute offsets; a text that itself holds NUL makes the
 * piece count differ from `n`, reported as std::nullopt so Python can re-pack the
 * batch with offsets. Bad offsets throw.
 */
std::optional<std::vector<std::string_view>> UnpackTexts(const TensorView& data,
                                                         const TensorView& offsets, int64_t n) {
  CheckVector(data, "data", kDLUInt, 8, -1);
  CheckVector(offsets, "offsets", kDLInt, 64, -1);
  const char* bytes = VectorData<const char>(data);
  const int64_t size = data.numel();
  std::vector<std::string_view> texts;
  texts.reserve(static_cast<size_t>(n));
  if (offsets.numel() == 0) {
    const char* start = bytes;
    const char* end = bytes + size;
    while (static_cast<int64_t>(texts.size()) < n) {
      const auto* nul = static_cast<const char*>(std::memchr(start, 0, end - start));
      const char* stop = nul == nullptr ? end : nul;
      texts.emplace_back(start, static_cast<size_t>(stop - start));
      if (nul == nullptr) break;
      start = nul + 1;
    }
    // Exactly n pieces, the last one running to the end of the data.
    const bool exact = n == 0 ? size == 0
                              : static_cast<int64_t>(texts.size()) == n &&
                                    texts.back().data() + texts.back().size() == end;
    if (!exact) return std::nullopt;
    return texts;
  }
  if (offsets.numel() != n + 1) {
    TVM_FFI_THROW(ValueError) << "offsets has " << offsets.numel() << " items, expected "
                              << n + 1;
  }
  const int64_t* off = VectorData<int64_t>(offsets);
  if (off[0] != 0 || off[n] != size) {
    TVM_FFI_THROW(ValueError) << "offsets must start at 0 and end at the data size " << size;
  }
  for (int64_t i = 0; i < n; ++i) {
    if (off[i + 1] < off[i]) TVM_FFI_THROW(ValueError) << "offsets must be non-decreasing";
    texts.emplace_back(bytes + off[i], static_cast<size_t>(off[i + 1] - off[i]));
  }
  return texts;
}

/*!
 * \brief out[i] = XXH64 of packed text i, canonicalised first when `reserved` is set.
 * \return false (nothing written) if NUL-separated data does not hold exactly out.numel() texts.
 */
bool FillHashes(const TensorView& data, const TensorView& offsets, const TensorView& out,
                const ReservedWords* reserved) {
  CheckVector(out, "output", kDLInt, 64, -1);
  const auto texts = UnpackTexts(data, offsets, out.numel());
  if (!texts) return false;
  int64_t* dst = VectorData<int64_t>(out);
  for (std::string_view text : *texts) {
    *dst++ = reserved == nullptr ? Xxh64Signed(text) : Xxh64Signed(Canonicalize(text, *reserved));
  }
  return true;
}

class DedupSetObj : public Object {
 public:
  bool Insert(int64_t h) {
    std::lock_guard<std::mutex> lock(mu_);
    return table_.Insert(h);
  }
  bool Contains(int64_t h) {
    std::lock_guard<std::mutex> lock(mu_);
    return table_.Contains(h);
  }
  int64_t Size() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(table_.Size());
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    table_.Clear();
  }
  /*! \brief out[i] = whether hashes[i] was new (only the first of in-batch duplicates is). */
  void InsertMany(const TensorView& hashes, const TensorView& out) {
    CheckVector(hashes, "hashes", kDLInt, 64, -1);
    // numpy exports bool arrays as DLPack bool8; accept uint8 too for other producers.
    const DLDataTypeCode out_code = out.dtype().code == kDLUInt ? kDLUInt : kDLBool;
    CheckVector(out, "output", out_code, 8, hashes.numel());
    const int64_t n = hashes.numel();
    const int64_t* src = VectorData<int64_t>(hashes);
    uint8_t* dst = VectorData<uint8_t>(out);
    std::lock_guard<std::mutex> lock(mu_);
    table_.Reserve(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) dst[i] = table_.Insert(src[i]) ? 1 : 0;
  }

  static constexpr bool _type_mutable = true;
  TVM_FFI_DECLARE_OBJECT_INFO_FINAL("tvm_llm_sched.DedupSet", DedupSetObj, Object);

 private:
  std::mutex mu_;
  DedupTable table_;
};

class DedupSet : public ObjectRef {
 public:
  DedupSet() : ObjectRef(tvm::ffi::make_object<DedupSetObj>()) {}
  TVM_FFI_DEFINE_OBJECT_REF_METHODS_NOTNULLABLE(DedupSet, ObjectRef, DedupSetObj);
};

}  // namespace
}  // namespace tvm_llm_sched

TVM_FFI_STATIC_INIT_BLOCK() {
  namespace refl = tvm::ffi::reflection;
  using namespace tvm_llm_sched;  // NOLINT(build/namespaces)
  refl::ObjectDef<DedupSetObj>(refl::init(false));  // NOLINT(bugprone-unused-raii)
  refl::GlobalDef()
      .def("tvm_llm_sched.hash_text",
           [](AnyView text) {
             return WithTextBytes(text, "text",
                                  [](std::string_view bytes) { return Xxh64Signed(bytes); });
           })
      .def("tvm_llm_sched.hash_many",
           [](TensorView data, TensorView offsets, TensorView out) {
             return FillHashes(data, offsets, out, nullptr);
           })
      .def("tvm_llm_sched.canonical_text",
           [](AnyView text, const Array<String>& reserved) -> Any {
             const Reserved kept(reserved);
             if (auto s = text.try_cast<String>()) {
               return String(Canonicalize(std::string_view(s->data(), s->size()), kept.words()));
             }
             if (auto b = text.try_cast<Bytes>()) {
               return Bytes(Canonicalize(std::string_view(b->data(), b->size()), kept.words()));
             }
             TVM_FFI_THROW(TypeError) << "text must be str or bytes, got " << text.GetTypeKey();
           })
      .def("tvm_llm_sched.canonical_hash",
           [](AnyView text, const Array<String>& reserved) {
             const Reserved kept(reserved);
             return WithTextBytes(text, "text", [&](std::string_view bytes) {
               return Xxh64Signed(Canonicalize(bytes, kept.words()));
             });
           })
      .def("tvm_llm_sched.canonical_hash_many",
           [](TensorView data, TensorView offsets, const Array<String>& reserved,
              TensorView out) {
             const Reserved kept(reserved);
             return FillHashes(data, offsets, out, &kept.words());
           })
      .def("tvm_llm_sched.dedup_set_new", []() { return DedupSet(); })
      .def("tvm_llm_sched.dedup_set_insert", [](DedupSet s, int64_t h) { return s->Insert(h); })
      .def("tvm_llm_sched.dedup_set_contains", [](DedupSet s, int64_t h) { return s->Contains(h); })
      .def("tvm_llm_sched.dedup_set_insert_many",
           [](DedupSet s, TensorView hashes, TensorView out) { s->InsertMany(hashes, out); })
      .def("tvm_llm_sched.dedup_set_size", [](DedupSet s) { return s->Size(); })
      .def("tvm_llm_sched.dedup_set_clear", [](DedupSet s) { s->Clear(); });
}
