#include "tests/chaos/workload.hpp"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "syncer/kube/json.hpp"

namespace bisync::chaos {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kOptIn = "kube-bisync.io/create-on-source";
constexpr const char* kDataKeys[] = {"a", "b", "c"};

enum class Section { Content, Labels, Annotations };

// One field set (value) or removed (nullopt) by a merge patch.
struct Change {
  Section section = Section::Content;
  std::string key;
  std::optional<std::string> value;
};

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// {"k":"v",...}: the workload's keys and values are names and hex, nothing to escape.
std::string jsonObject(const StringMap& map, std::string_view stripPrefix = {}) {
  std::string out = "{";
  for (const auto& [key, value] : map) {
    if (out.size() > 1) out += ",";
    out += quoted(key.substr(key.starts_with(stripPrefix) ? stripPrefix.size() : 0)) + ":" +
           quoted(value);
  }
  return out + "}";
}

std::string apiVersionOf(Kind kind) {
  return kind == Kind::Widget ? std::string(kWidgetGroup) + "/v1" : "v1";
}

// The whole object, as the workload creates it.
std::string objectText(const Key& key, const std::string& ns, const Expected& expected,
                       const StringMap& extraLabels) {
  StringMap labels = expected.labels;
  labels.insert(extraLabels.begin(), extraLabels.end());
  std::string text = "{\"apiVersion\":" + quoted(apiVersionOf(key.kind)) +
                     ",\"kind\":" + quoted(std::string(toString(key.kind))) +
                     ",\"metadata\":{\"name\":" + quoted(key.name) +
                     ",\"namespace\":" + quoted(ns) + ",\"labels\":" + jsonObject(labels) +
                     ",\"annotations\":" + jsonObject(expected.annotations) + "}";
  if (key.kind == Kind::Widget)
    return text + ",\"spec\":" + jsonObject(expected.content, "spec.") + "}";
  if (key.kind == Kind::Secret) text += ",\"type\":\"Opaque\"";
  return text + ",\"data\":" + jsonObject(expected.content) + "}";
}

// A merge patch making `change`, with `uid` as the precondition (a patch whose metadata.uid
// differs from the object's is refused, so a patch never lands on another incarnation).
std::string patchText(Kind kind, const Change& change, const std::string& uid) {
  const std::string value = change.value ? quoted(*change.value) : "null";
  std::string metadata = "\"uid\":" + quoted(uid);
  if (change.section == Section::Labels) {
    metadata += ",\"labels\":{" + quoted(change.key) + ":" + value + "}";
  } else if (change.section == Section::Annotations) {
    metadata += ",\"annotations\":{" + quoted(change.key) + ":" + value + "}";
  }
  std::string text = "{\"metadata\":{" + metadata + "}";
  if (change.section == Section::Content) {
    const bool widget = kind == Kind::Widget;
    const std::string field =
        widget ? change.key.substr(std::string_view("spec.").size()) : change.key;
    text += std::string(widget ? ",\"spec\":{" : ",\"data\":{") + quoted(field) + ":" + value + "}";
  }
  return text + "}";
}

void apply(StringMap& map, const Change& change) {
  if (change.value) {
    map[change.key] = *change.value;
  } else {
    map.erase(change.key);
  }
}

void apply(Expected& expected, const Change& change) {
  switch (change.section) {
    case Section::Content: apply(expected.content, change); break;
    case Section::Labels: apply(expected.labels, change); break;
    case Section::Annotations: apply(expected.annotations, change); break;
  }
}

asio::awaitable<void> pause(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(asio::use_awaitable);
}

kube::Json parsed(const std::string& text) {
  kube::Result<kube::Json> json = kube::parseJson(text, "chaos workload");
  if (!json) throw std::logic_error("chaos workload built bad JSON: " + text);
  return std::move(*json);
}

}  // namespace

bool refusedByServer(const kube::Error& error) {
  // A 4xx answer (but a timeout or throttling) means the server refused and changed nothing.
  return error.kind == kube::ErrorKind::Api && error.httpStatus >= 400 && error.httpStatus < 500 &&
         error.httpStatus != 408 && error.httpStatus != 429;
}

Workload::Workload(kube::Client& source, kube::Client& target, Scope scope, WorkloadOptions options)
    : source_(source),
      target_(target),
      scope_(std::move(scope)),
      options_(options),
      random_(options.seed) {
  for (const std::string& ns : scope_.namespaces) {
    for (int i = 0; i < options_.namesPerKind; ++i) {
      const std::string n = std::to_string(i);
      for (const auto& [kind, name] : {std::pair{Kind::ConfigMap, "cm-" + n},
                                       {Kind::Secret, "sec-" + n},
                                       {Kind::Widget, "w-" + n},
                                       {Kind::Widget, std::string(kUpPrefix) + n}}) {
        keys_.push_back(Key{kind, ns, name});
        model_.at(keys_.back());
      }
    }
  }
}

std::size_t Workload::operations() const {
  std::size_t total = 0;
  for (const auto& [op, count] : counts_) total += count.ok + count.refused + count.unknown;
  return total;
}

asio::awaitable<void> Workload::run(Clock::time_point until) {
  const auto executor = co_await asio::this_coro::executor;
  int remaining = options_.workers;
  std::exception_ptr failure;
  // Cancelled by the last worker to finish: run() returns only after all of them, since they
  // use this object.
  asio::steady_timer allDone(executor, Clock::time_point::max());
  for (int i = 0; i < options_.workers; ++i) {
    asio::co_spawn(executor, worker(until), [&](std::exception_ptr error) {
      if (error && !failure) failure = error;
      if (--remaining == 0) allDone.cancel();
    });
  }
  while (remaining > 0) {
    boost::system::error_code ignored;
    co_await allDone.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> Workload::worker(Clock::time_point until) {
  const auto interval = std::chrono::milliseconds(
      static_cast<long>(1000.0 * options_.workers / options_.opsPerSecond));
  while (Clock::now() < until) {
    const Clock::time_point next = Clock::now() + interval;
    if (const std::optional<Key> key = pickKey()) {
      busy_.insert(*key);
      co_await operate(*key);
      busy_.erase(*key);
    }
    if (next > Clock::now()) {
      co_await pause(std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()));
    }
  }
}

std::optional<Key> Workload::pickKey() {
  std::uniform_int_distribution<std::size_t> pick(0, keys_.size() - 1);
  for (int tries = 0; tries < 16; ++tries) {
    const Key& key = keys_[pick(random_)];
    if (!busy_.contains(key)) return key;
  }
  return std::nullopt;
}

asio::awaitable<void> Workload::operate(const Key& key) {
  const int dice = static_cast<int>(random_() % 100);
  const Presence presence = model_.at(key).presence;
  if (presence == Presence::Unknown) {
    co_await refresh(key);
  } else if (presence == Presence::Absent) {
    const bool onTarget = originOf(key) == Origin::Target;
    co_await create(key, onTarget, onTarget ? "create-on-target" : "create");
  } else if (originOf(key) == Origin::Source) {
    co_await operateOnSourceObject(key, dice);
  } else {
    co_await operateOnTargetObject(key, dice);
  }
}

asio::awaitable<void> Workload::operateOnSourceObject(const Key& key, int dice) {
  if (dice < 30) {
    co_await patchHome(key, "update-data");
  } else if (dice < 42) {
    co_await patchHome(key, "update-labels");
  } else if (dice < 50 && key.kind != Kind::Widget) {
    co_await patchHome(key, "update-annotations");
  } else if (dice < 65) {
    co_await remove(key);
  } else if (dice < 77) {
    co_await recreate(key);
  } else {
    co_await editCopy(key);
  }
}

asio::awaitable<void> Workload::operateOnTargetObject(const Key& key, int dice) {
  if (dice < 40) {
    co_await patchHome(key, "update-data");
  } else if (dice < 75) {
    co_await patchHome(key, "update-labels");
  } else {
    co_await remove(key);
  }
}

std::string Workload::value() {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(random_()));
  return text;
}

kube::Client& Workload::home(const Key& key) {
  return originOf(key) == Origin::Source ? source_ : target_;
}

std::string Workload::homeNamespace(const Key& key) const {
  return originOf(key) == Origin::Source ? key.ns : targetNamespace(scope_.cluster, key.ns);
}

Workload::Outcome Workload::record(const std::string& op, const kube::Error* error) {
  OpCount& count = counts_[op];
  if (error == nullptr) {
    ++count.ok;
    return Outcome::Ok;
  }
  const bool refused = refusedByServer(*error);
  ++(refused ? count.refused : count.unknown);
  return refused ? Outcome::Refused : Outcome::Unknown;
}

asio::awaitable<Workload::Outcome> Workload::create(const Key& key, bool onTarget,
                                                    const std::string& op) {
  Expected wanted;
  wanted.presence = Presence::Present;
  StringMap extraLabels;
  if (key.kind == Kind::Widget) {
    wanted.content = {{"spec.source", value()}};
    if (onTarget) {
      wanted.content["spec.target"] = value();
      wanted.labels = {{"chaos-t", value()}};
      extraLabels = {{kOptIn, "true"}};
    } else {
      wanted.labels = {{"chaos-l", value()}};
    }
  } else {
    wanted.content = {{"a", value()}, {"b", value()}};
    wanted.labels = {{"chaos-l", value()}};
    wanted.annotations = {{"chaos-a", value()}};
  }
  const kube::Json object = parsed(objectText(key, homeNamespace(key), wanted, extraLabels));
  const kube::ResourceInfo resource = resourceOf(key.kind);
  const std::string ns = homeNamespace(key);
  kube::Result<kube::Json> created = co_await home(key).create(resource, ns, object);
  const Outcome outcome = record(op, created ? nullptr : &created.error());
  if (outcome == Outcome::Ok) {
    wanted.uid = std::string(kube::uidOf(*created));
    model_.at(key) = std::move(wanted);
    ++effective_;
  } else if (outcome == Outcome::Unknown) {
    model_.at(key).presence = Presence::Unknown;
  }
  co_return outcome;
}

asio::awaitable<Workload::Outcome> Workload::patchHome(const Key& key, const std::string& op) {
  Expected& expected = model_.at(key);
  const bool madeOnTarget = originOf(key) == Origin::Target;
  Change change;
  if (op == "update-data") {
    const bool widget = key.kind == Kind::Widget;
    change.key = widget ? (madeOnTarget ? "spec.target" : "spec.source")
                        : kDataKeys[random_() % std::size(kDataKeys)];
    // Sometimes a data key goes away (never the last one: a copy must hold something to check).
    if (!widget && expected.content.size() > 1 && random_() % 4 == 0) {
      change.value = std::nullopt;
    } else {
      change.value = value();
    }
  } else {
    change.section = op == "update-labels" ? Section::Labels : Section::Annotations;
    change.key = op == "update-labels" ? (madeOnTarget ? "chaos-t" : "chaos-l") : "chaos-a";
    change.value = value();
  }
  const std::string body = patchText(key.kind, change, expected.uid);
  const kube::ResourceInfo resource = resourceOf(key.kind);
  const std::string ns = homeNamespace(key);
  kube::Result<kube::Json> patched =
      co_await home(key).patch(resource, ns, key.name, kube::PatchType::Merge, body);
  const Outcome outcome = record(op, patched ? nullptr : &patched.error());
  if (outcome == Outcome::Ok) {
    apply(model_.at(key), change);
    ++effective_;
  } else if (outcome == Outcome::Unknown) {
    model_.at(key).presence = Presence::Unknown;
  }
  co_return outcome;
}

asio::awaitable<Workload::Outcome> Workload::remove(const Key& key) {
  kube::DeleteOptions options;
  options.uid = model_.at(key).uid;  // only the incarnation the model knows
  const kube::ResourceInfo resource = resourceOf(key.kind);
  const std::string ns = homeNamespace(key);
  kube::Result<void> removed = co_await home(key).remove(resource, ns, key.name, options);
  const Outcome outcome = record("delete", removed ? nullptr : &removed.error());
  if (outcome == Outcome::Ok) {
    model_.at(key) = Expected{};
    ++effective_;
  } else if (outcome == Outcome::Unknown) {
    model_.at(key).presence = Presence::Unknown;
  }
  co_return outcome;
}

// Delete, then create the same name again as soon as the server lets us (the deleted object
// may wait for its finalizer): the syncer must replace the copy, never mix the incarnations.
asio::awaitable<void> Workload::recreate(const Key& key) {
  if (co_await remove(key) != Outcome::Ok) co_return;
  const Clock::time_point giveUp = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < giveUp) {
    const Outcome outcome = co_await create(key, false, "recreate");
    if (outcome != Outcome::Refused) co_return;
    co_await pause(std::chrono::milliseconds(250));
  }
}

// On the target copy of a source object: for Widgets, the fields the target owns or shares (they
// must reach the source); for ConfigMaps and Secrets, drift the syncer must undo, or the copy
// deleted (the syncer must make it again).
asio::awaitable<void> Workload::editCopy(const Key& key) {
  const kube::ResourceInfo resource = resourceOf(key.kind);
  const std::string ns = targetNamespace(scope_.cluster, key.ns);
  if (key.kind != Kind::Widget) {
    if (random_() % 3 == 0) {
      kube::Result<void> removed = co_await target_.remove(resource, ns, key.name);
      if (record("delete-copy", removed ? nullptr : &removed.error()) == Outcome::Ok) ++effective_;
      co_return;
    }
    // Hex: valid base64 too, so that a Secret's drift is accepted like a ConfigMap's.
    const std::string body = "{\"data\":{\"a\":\"" + value() + "\"}}";
    kube::Result<kube::Json> patched =
        co_await target_.patch(resource, ns, key.name, kube::PatchType::Merge, body);
    if (record("edit-copy", patched ? nullptr : &patched.error()) == Outcome::Ok) ++effective_;
    co_return;
  }
  kube::Result<kube::Json> copy = co_await target_.get(resource, ns, key.name);
  if (!copy) {
    record("edit-copy", &copy.error());
    co_return;
  }
  const Observed observed = observedOf(*copy, key.kind);
  if (observed.sourceUid != model_.at(key).uid) {
    ++counts_["edit-copy"].refused;  // the copy of this incarnation is not there yet
    co_return;
  }
  const bool label = random_() % 2 == 0;
  const Change change{label ? Section::Labels : Section::Content, label ? "chaos-t" : "spec.target",
                      value()};
  const std::string body = patchText(key.kind, change, observed.uid);
  kube::Result<kube::Json> patched =
      co_await target_.patch(resource, ns, key.name, kube::PatchType::Merge, body);
  const Outcome outcome = record("edit-copy", patched ? nullptr : &patched.error());
  Expected& expected = model_.at(key);
  if (outcome == Outcome::Ok && expected.uid == observed.sourceUid) {
    apply(label ? expected.targetLabels : expected.targetContent, change);
    ++effective_;
  } else if (outcome == Outcome::Unknown) {
    targetFieldsUnknown_.insert(key);
  }
}

asio::awaitable<Workload::Outcome> Workload::refresh(const Key& key) {
  const kube::ResourceInfo resource = resourceOf(key.kind);
  const std::string ns = homeNamespace(key);
  kube::Result<kube::Json> read = co_await home(key).get(resource, ns, key.name);
  if (!read && !read.error().isNotFound()) {
    ++counts_["read-back"].unknown;
    co_return Outcome::Unknown;
  }
  ++counts_["read-back"].ok;
  model_.refresh(key, read ? std::optional(observedOf(*read, key.kind)) : std::nullopt);
  co_return Outcome::Ok;
}

// After an edit of a Widget copy whose outcome is unknown: the copy says what the target holds.
asio::awaitable<Workload::Outcome> Workload::refreshTargetFields(const Key& key) {
  const kube::ResourceInfo resource = resourceOf(key.kind);
  const std::string ns = targetNamespace(scope_.cluster, key.ns);
  kube::Result<kube::Json> read = co_await target_.get(resource, ns, key.name);
  if (!read && !read.error().isNotFound()) co_return Outcome::Unknown;
  Expected& expected = model_.at(key);
  const std::optional<Observed> copy =
      read ? std::optional(observedOf(*read, key.kind)) : std::nullopt;
  if (copy && copy->sourceUid == expected.uid) {
    expected.targetContent.clear();
    expected.targetLabels.clear();
    if (copy->content.contains("spec.target")) {
      expected.targetContent["spec.target"] = copy->content.at("spec.target");
    }
    if (copy->labels.contains("chaos-t"))
      expected.targetLabels["chaos-t"] = copy->labels.at("chaos-t");
  }
  co_return Outcome::Ok;
}

asio::awaitable<std::size_t> Workload::resolveUnknown() {
  std::size_t left = 0;
  for (const Key& key : model_.unknownKeys()) {
    if (co_await refresh(key) == Outcome::Unknown) ++left;
  }
  for (auto it = targetFieldsUnknown_.begin(); it != targetFieldsUnknown_.end();) {
    if (co_await refreshTargetFields(*it) == Outcome::Unknown) {
      ++left;
      ++it;
    } else {
      it = targetFieldsUnknown_.erase(it);
    }
  }
  co_return left;
}

}  // namespace bisync::chaos
