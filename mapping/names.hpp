// Kubernetes naming rules and the stable shortening the identity mapper applies to names,
// namespaces and label values. Pure functions, no state: safe from any thread.
//
// A string that already satisfies the rule is returned unchanged, unless it is exactly the
// limit long and ends like a shortened name ('-' and 10 or 11 hex digits): hashed too, it
// can never equal another string's shortened form. Anything else (too long, or containing
// characters the rule forbids) is never truncated silently: it becomes a readable, sanitised
// prefix of the original, '-', and the first hex digits of the SHA-256 of the full
// original. When the original was too long the result is exactly the limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bisync::mapping {

inline constexpr std::size_t kMaxLabelLength = 63;       // DNS-1123 label, label value
inline constexpr std::size_t kMaxSubdomainLength = 253;  // DNS-1123 subdomain
// 40 bits of SHA-256: a collision between two over-long names sharing their first 52+
// characters is ~1e-12 per pair; reverse lookup never relies on it (it reads annotations).
inline constexpr std::size_t kHashSuffixLength = 10;

// The naming rule of one kind: its length limit and whether it is a DNS-1123 subdomain
// (dots allowed, e.g. ConfigMap, Secret) or a DNS-1123 label (no dots, e.g. Namespace,
// Service).
struct NameLimit {
  std::size_t maxLength = kMaxSubdomainLength;
  bool allowDots = true;
};
inline constexpr NameLimit kSubdomainName{kMaxSubdomainLength, true};
inline constexpr NameLimit kLabelName{kMaxLabelLength, false};

// RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool isDnsLabel(std::string_view text);
// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
bool isDnsSubdomain(std::string_view text);
// Non-empty, within limit.maxLength, a subdomain when dots are allowed, else a label.
bool isValidName(std::string_view text, NameLimit limit);
// Label value: empty, or at most 63 of [-_.A-Za-z0-9] starting and ending alphanumeric.
bool isLabelValue(std::string_view text);

// `candidate` when valid under `limit`, else its stable shortened/sanitised form.
std::string fitName(std::string_view candidate, NameLimit limit = kSubdomainName);
// `value` when it is a valid label value, else its stable shortened/sanitised form.
std::string fitLabelValue(std::string_view value);

// SHA-256 of `text` as 64 lower-case hex digits (the hash behind every suffix).
std::string stableHash(std::string_view text);

}  // namespace bisync::mapping
