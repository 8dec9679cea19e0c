#include "mapping/names.hpp"

#include <algorithm>

#include "mapping/internal/sha256.hpp"

namespace bisync::mapping {
namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }
char toLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Lower-case alphanumerics and '-'; a '.' only between two alphanumerics (when allowed), so
// every dot-separated part starts and ends alphanumeric; no leading or trailing '-'.
std::string sanitizeName(std::string_view text, bool allowDots) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = toLower(text[i]);
    if (isLowerAlnum(c)) {
      out.push_back(c);
    } else if (c == '.' && allowDots && !out.empty() && isLowerAlnum(out.back()) &&
               i + 1 < text.size() && isLowerAlnum(toLower(text[i + 1]))) {
      out.push_back('.');
    } else if (!out.empty()) {
      out.push_back('-');
    }
  }
  while (!out.empty() && !isLowerAlnum(out.back())) out.pop_back();
  return out;
}

std::string sanitizeLabelValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const bool inner = c == '-' || c == '_' || c == '.';
    if (isAlnum(c) || (inner && !out.empty())) {
      out.push_back(c);
    } else if (!out.empty()) {
      out.push_back('-');
    }
  }
  while (!out.empty() && !isAlnum(out.back())) out.pop_back();
  return out;
}

// `sanitized` cut to fit before "-<hash>" within `maxLength`. When the cut shortens the
// prefix further (a trailing '.' that would end a subdomain part), the hash takes the room,
// so an over-long original always becomes exactly `maxLength` characters.
std::string joinWithHash(std::string prefix, const std::string& hash, std::size_t maxLength,
                         bool dropTrailingDot) {
  if (maxLength <= kHashSuffixLength + 1) return hash.substr(0, maxLength);
  const std::size_t prefixMax = maxLength - 1 - kHashSuffixLength;
  const bool truncated = prefix.size() > prefixMax;
  if (truncated) prefix.resize(prefixMax);
  while (dropTrailingDot && !prefix.empty() && prefix.back() == '.') prefix.pop_back();
  if (prefix.empty()) return hash.substr(0, kHashSuffixLength);
  const std::size_t hashLength =
      truncated ? std::min(hash.size(), maxLength - prefix.size() - 1) : kHashSuffixLength;
  prefix.push_back('-');
  prefix.append(hash, 0, hashLength);
  return prefix;
}

bool isLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// The shape joinWithHash gives an over-long string: exactly `maxLength` characters ending in
// '-' and 10 or 11 hex digits. A valid name of that shape is hashed too, so that no name can
// be chosen to equal another one's shortened form (a 58-character namespace spelling out the
// shortened `<cluster>--<long namespace>` would otherwise share its target namespace).
bool looksShortened(std::string_view text, std::size_t maxLength) {
  if (text.size() != maxLength) return false;
  std::size_t hexDigits = 0;
  while (hexDigits < text.size() && isLowerHex(text[text.size() - 1 - hexDigits])) ++hexDigits;
  return (hexDigits == kHashSuffixLength || hexDigits == kHashSuffixLength + 1) &&
         hexDigits < text.size() && text[text.size() - 1 - hexDigits] == '-';
}

bool isDnsLabelPart(std::string_view part) {
  if (part.empty() || part.size() > kMaxLabelLength) return false;
  if (!isLowerAlnum(part.front()) || !isLowerAlnum(part.back())) return false;
  return std::all_of(part.begin(), part.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

}  // namespace

bool isDnsLabel(std::string_view text) { return isDnsLabelPart(text); }

bool isDnsSubdomain(std::string_view text) {
  if (text.empty() || text.size() > kMaxSubdomainLength) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = text.find('.', start);
    const std::string_view part =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    // The 63-character cap applies to the whole label rule, not to subdomain parts.
    if (part.empty() || !isLowerAlnum(part.front()) || !isLowerAlnum(part.back())) return false;
    if (!std::all_of(part.begin(), part.end(),
                     [](char c) { return isLowerAlnum(c) || c == '-'; })) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool isValidName(std::string_view text, NameLimit limit) {
  if (text.empty() || text.size() > limit.maxLength) return false;
  if (limit.allowDots) return isDnsSubdomain(text);
  return text.find('.') == std::string_view::npos && text.size() <= kMaxSubdomainLength &&
         std::all_of(text.begin(), text.end(),
                     [](char c) { return isLowerAlnum(c) || c == '-'; }) &&
         isLowerAlnum(text.front()) && isLowerAlnum(text.back());
}

bool isLabelValue(std::string_view text) {
  if (text.empty()) return true;
  if (text.size() > kMaxLabelLength) return false;
  if (!isAlnum(text.front()) || !isAlnum(text.back())) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string fitName(std::string_view candidate, NameLimit limit) {
  if (isValidName(candidate, limit) && !looksShortened(candidate, limit.maxLength)) {
    return std::string(candidate);
  }
  return joinWithHash(sanitizeName(candidate, limit.allowDots), stableHash(candidate),
                      limit.maxLength, true);
}

std::string fitLabelValue(std::string_view value) {
  if (isLabelValue(value)) return std::string(value);
  return joinWithHash(sanitizeLabelValue(value), stableHash(value), kMaxLabelLength, false);
}

std::string stableHash(std::string_view text) { return internal::sha256Hex(text); }

}  // namespace bisync::mapping
