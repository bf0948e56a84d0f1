// Naming-invariant canonical form of step-level IR text. The rule is shared
// byte-for-byte with tvm_llm_sched/native/python_backend.py; change both or neither.
#ifndef TVM_LLM_SCHED_CANONICAL_H_
#define TVM_LLM_SCHED_CANONICAL_H_

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace tvm_llm_sched {

using ReservedWords = std::unordered_set<std::string_view>;

inline bool IsWordByte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*!
 * \brief Replace every identifier not in `reserved` and not followed by '(' with '#k',
 *        k = index of its first occurrence among replaced identifiers.
 *
 * An identifier is a maximal run of [A-Za-z0-9_] bytes whose first byte is not a digit;
 * all other bytes (numbers, punctuation, non-ASCII, NUL) are copied unchanged.
 */
inline std::string Canonicalize(std::string_view text, const ReservedWords& reserved) {
  std::string out;
  out.reserve(text.size());
  std::unordered_map<std::string_view, size_t> ids;
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!IsWordByte(c)) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < n && IsWordByte(static_cast<unsigned char>(text[j]))) ++j;
    std::string_view run = text.substr(i, j - i);
    const bool is_number = c >= '0' && c <= '9';
    const bool is_call = j < n && text[j] == '(';
    if (is_number || is_call || reserved.count(run) != 0) {
      out.append(run);
    } else {
      const size_t k = ids.emplace(run, ids.size()).first->second;
      out.push_back('#');
      out.append(std::to_string(k));
    }
    i = j;
  }
  return out;
}

}  // namespace tvm_llm_sched

#endif  // TVM_LLM_SCHED_CANONICAL_H_
