// One event of a watch, and the cap on its size: shared by the Client (client.hpp), which
// streams events to its caller, and the parser that decodes them (watch_stream.hpp), which needs
// neither curl nor Asio.
#pragma once

#include <cstddef>
#include <string_view>

#include "syncer/kube/json.hpp"

namespace bisync::kube {

// The most a watch holds of one event: 40 times the largest object etcd stores by default
// (1.5 MiB), so clusters that raised etcd's limit still sync, while a server that never closes
// an event cannot grow memory without bound. A larger event ends the watch with a Decode error
// naming the cap (the informer backs off and relists).
inline constexpr std::size_t kMaxWatchEventBytes = std::size_t{64} << 20U;

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };
std::string_view toString(WatchEventType type);

struct WatchEvent {
  WatchEventType type = WatchEventType::Added;
  Json object;  // the object; for Error, a metav1.Status
};

}  // namespace bisync::kube
