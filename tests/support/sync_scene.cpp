#include "tests/support/sync_scene.hpp"

#include <exception>
#include <functional>
#include <future>
#include <sstream>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "syncer/kube/client.hpp"
#include "tests/support/objects.hpp"

namespace bisync::testing {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

kube::ClientOptions fixtureOptions() {
  kube::ClientOptions options;
  options.qps = 0;  // bulk set-up and polling; the daemon is the one under a rate limit
  options.requestTimeout = 10s;
  return options;
}

// `entries` become members of a fresh JSON object (used for data and stringData).
kube::JsonValue jsonMap(const StringMap& entries, kube::Json::AllocatorType& allocator) {
  kube::JsonValue map(rapidjson::kObjectType);
  for (const auto& [key, value] : entries) {
    map.AddMember(kube::JsonValue(key, allocator), kube::JsonValue(value, allocator), allocator);
  }
  return map;
}

std::string mergePatch(const StringMap& data) {
  kube::Json patch(rapidjson::kObjectType);
  patch.AddMember("data", jsonMap(data, patch.GetAllocator()), patch.GetAllocator());
  return kube::toJson(patch);
}

}  // namespace

StringMap stringMapAt(const kube::JsonValue& object, std::string_view pointer) {
  StringMap result;
  const kube::JsonValue* map = kube::at(object, pointer);
  if (map == nullptr || !map->IsObject()) return result;
  for (const auto& entry : map->GetObject()) {
    if (entry.value.IsString()) result[entry.name.GetString()] = entry.value.GetString();
  }
  return result;
}

std::string lookup(const StringMap& map, const std::string& key) {
  const auto found = map.find(key);
  return found == map.end() ? "<absent>" : found->second;
}

ObjectView viewOf(const kube::JsonValue& object) {
  return {std::string(kube::nameOf(object)),
          std::string(kube::uidOf(object)),
          std::string(kube::resourceVersionOf(object)),
          std::string(kube::stringMember(object, "type")),
          stringMapAt(object, "/data"),
          stringMapAt(object, "/metadata/labels"),
          stringMapAt(object, "/metadata/annotations")};
}

std::string describe(const StringMap& map) {
  std::ostringstream out;
  out << "{";
  for (const auto& [key, value] : map) {
    out << " " << key << "=" << (value.size() > 60 ? value.substr(0, 60) + "..." : value);
  }
  out << " }";
  return out.str();
}

std::string describe(const ObjectView& view) {
  return view.name.substr(0, 60) + " uid=" + view.uid + " rv=" + view.resourceVersion +
         " data=" + describe(view.data) + " labels=" + describe(view.labels) +
         " annotations=" + describe(view.annotations);
}

kube::Json configMap(const std::string& ns, const std::string& name, const StringMap& data) {
  kube::Json object = configMapObject(ns, name, "k", "");
  object.RemoveMember("data");
  object.AddMember("data", jsonMap(data, object.GetAllocator()), object.GetAllocator());
  return object;
}

kube::Json secret(const std::string& ns, const std::string& name, const std::string& type,
                  const StringMap& stringData) {
  kube::Json object = configMap(ns, name, {});
  auto& allocator = object.GetAllocator();
  object["kind"].SetString("Secret", allocator);
  object.RemoveMember("data");
  object.AddMember("type", kube::JsonValue(type, allocator), allocator);
  object.AddMember("stringData", jsonMap(stringData, allocator), allocator);
  return object;
}

std::vector<kube::Json> numberedConfigMaps(const std::string& ns, int count,
                                           const std::string& value) {
  std::vector<kube::Json> objects;
  for (int i = 0; i < count; ++i) {
    std::ostringstream name;
    name << "cm-" << (i < 10 ? "00" : i < 100 ? "0" : "") << i;
    objects.push_back(configMap(ns, name.str(), {{"k", value}, {"index", std::to_string(i)}}));
  }
  return objects;
}

SyncScene::SyncScene(std::string_view clusterPrefix, int sourceNamespaces)
    : SyncScene(sharedTestbed(), clusterPrefix, sourceNamespaces) {}

SyncScene::SyncScene(Testbed& testbed, std::string_view clusterPrefix, int sourceNamespaces)
    : api_(testbed, fixtureOptions()), cluster_(uniqueName(clusterPrefix)) {
  for (int i = 0; i < sourceNamespaces; ++i) {
    sources_.push_back(std::make_unique<ScopedNamespace>(api_.loop(), api_.source(), "s"));
    targets_.push_back(targetNs(static_cast<std::size_t>(i)));
  }
}

SyncScene::~SyncScene() {
  // Best effort: the server may be down after a failure.
  const auto quietly = [](const std::function<void()>& step) {
    try {
      step();
    } catch (const std::exception&) {
    }
  };
  for (const std::string& ns : targets_) {
    quietly([&] { api_.run(api_.target().remove(kube::resources::namespaces(), "", ns)); });
  }
  quietly([&] {
    api_.run(
        api_.target().remove(kube::resources::configMaps(), stateNamespace(), ownershipRecord()));
  });
}

std::vector<std::string> SyncScene::daemonArgs(const std::vector<std::string>& extra) const {
  std::string namespaces;
  for (const auto& source : sources_) {
    namespaces += (namespaces.empty() ? "" : ",") + source->name();
  }
  std::vector<std::string> args = {"--cluster-name",
                                   cluster_,
                                   "--namespaces",
                                   namespaces,
                                   "--resources",
                                   "configmaps,secrets",
                                   "-v",
                                   "2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

kube::Result<kube::Json> SyncScene::tryCreateTargetNamespace(const std::string& name,
                                                             bool managed) {
  std::string sourceNs;
  for (std::size_t i = 0; managed && i < sources_.size(); ++i) {
    if (targetNs(i) == name) sourceNs = ns(i);
  }
  if (managed && sourceNs.empty()) {
    return kube::fail(kube::configError(name, "not the target namespace of the scene's sources"));
  }
  kube::Json object = namespaceObject(name);
  auto created = api_.run(api_.target().create(kube::resources::namespaces(), "", object));
  if (!created) return created;
  targets_.push_back(name);
  if (managed) {
    if (auto handed = handOverNamespace(name, std::string(kube::uidOf(*created)), sourceNs);
        !handed) {
      return kube::fail(handed.error());
    }
  }
  return created;
}

kube::Result<void> SyncScene::handOverNamespace(const std::string& name, const std::string& uid,
                                                const std::string& sourceNs) {
  // The way docs/security.md tells host admins to do it: the script in examples/.
  const std::string kubeconfig = testbed().server(Side::Target).kubeconfig;
  const CommandResult result =
      runCommand({"bash", std::string(BISYNC_EXAMPLES_DIR) + "/hand-over-namespace.sh", cluster_,
                  stateNamespace(), name, sourceNs, "--kubeconfig", kubeconfig});
  if (!result.ok()) {
    return kube::fail(kube::configError("hand-over-namespace.sh", result.summary()));
  }
  // The script read the uid itself; it must be the namespace the caller means.
  auto record = api_.run(
      api_.target().get(kube::resources::configMaps(), stateNamespace(), ownershipRecord()));
  if (!record) return kube::fail(record.error());
  const std::string entry(kube::stringAt(*record, "/data/namespace." + name));
  if (entry.find(uid) == std::string::npos) {
    return kube::fail(
        kube::configError("hand-over-namespace.sh", "recorded " + entry + ", not uid " + uid));
  }
  return {};
}

std::size_t SyncScene::countEvents(Side side, const std::string& ns, std::string_view reason,
                                   std::string_view involved, std::string& seen) {
  auto events = api_.run(api_.client(side).list(kube::resources::events(), ns));
  if (!events) {
    seen += " events: " + events.error().describe() + ";";
    return 0;
  }
  std::size_t found = 0;
  for (const kube::JsonValue& item : events->items().GetArray()) {
    if (kube::stringAt(item, "/reason") == reason &&
        kube::stringAt(item, "/involvedObject/name") == involved) {
      ++found;
      seen +=
          " [" + std::string(reason) + ": " + std::string(kube::stringAt(item, "/message")) + "]";
    }
  }
  seen += " " + std::to_string(found) + " " + std::string(reason) + " event(s) about " +
          std::string(involved) + ";";
  return found;
}

kube::Result<kube::Json> SyncScene::tryCreate(Side side, const kube::ResourceInfo& resource,
                                              const kube::Json& object) {
  const std::string ns(kube::namespaceOf(object));
  return api_.run(api_.client(side).create(resource, ns, object));
}

kube::Result<kube::Json> SyncScene::tryPatchData(const kube::ResourceInfo& resource,
                                                 const std::string& ns, const std::string& name,
                                                 const StringMap& data) {
  return api_.run(
      api_.source().patch(resource, ns, name, kube::PatchType::Merge, mergePatch(data)));
}

kube::Result<void> SyncScene::tryRemove(const kube::ResourceInfo& resource, const std::string& ns,
                                        const std::string& name) {
  return api_.run(api_.source().remove(resource, ns, name));
}

tl::expected<Views, std::string> SyncScene::tryCreateAll(const kube::ResourceInfo& resource,
                                                         const std::vector<kube::Json>& objects) {
  constexpr std::size_t kWorkers = 16;
  std::vector<std::optional<ObjectView>> created(objects.size());
  std::vector<std::future<std::string>> workers;
  for (std::size_t w = 0; w < kWorkers; ++w) {
    workers.push_back(asio::co_spawn(
        api_.loop().io(),
        [&, w]() -> asio::awaitable<std::string> {
          for (std::size_t i = w; i < objects.size(); i += kWorkers) {
            const std::string ns(kube::namespaceOf(objects[i]));
            auto answer = co_await api_.source().create(resource, ns, objects[i]);
            if (!answer) co_return answer.error().describe();
            created[i] = viewOf(*answer);
          }
          co_return std::string();
        },
        asio::use_future));
  }
  // Every worker is awaited before returning: they write to `created`.
  std::string failure;
  for (auto& worker : workers) {
    std::string workerFailure = worker.get();
    if (failure.empty()) failure = std::move(workerFailure);
  }
  if (!failure.empty()) return tl::make_unexpected(std::move(failure));
  Views views;
  for (const auto& view : created) views[view->name] = *view;
  return views;
}

std::optional<Views> SyncScene::list(Side side, const kube::ResourceInfo& resource,
                                     const std::string& ns, std::string& seen) {
  auto listed = api_.run(api_.client(side).list(resource, ns));
  if (!listed) {
    seen += "list " + resource.resource + " in " + ns + ": " + listed.error().describe() + "; ";
    return std::nullopt;
  }
  Views views;
  for (const kube::JsonValue& item : listed->items().GetArray()) {
    views[std::string(kube::nameOf(item))] = viewOf(item);
  }
  return views;
}

std::string copyProblems(const ObjectView& copy, const ObjectView& source,
                         const std::string& cluster, const std::string& sourceNs) {
  std::string problems;
  auto expect = [&](const std::string& what, const std::string& seen, const std::string& want) {
    if (seen != want) problems += what + " is " + seen + ", want " + want + "; ";
  };
  if (copy.data != source.data) {
    problems += "data " + describe(copy.data) + " != source " + describe(source.data) + "; ";
  }
  expect("type", copy.type, source.type);
  expect("label managed-by", lookup(copy.labels, kManagedBy), cluster);
  expect("label source-namespace", lookup(copy.labels, kSourceNamespace), sourceNs);
  if (source.name.size() <= 63) {
    expect("label source-name", lookup(copy.labels, kSourceName), source.name);
  } else if (const auto label = copy.labels.find(kSourceName);
             label == copy.labels.end() || label->second.size() > 63) {
    problems += "label source-name is absent or longer than a label value may be; ";
  }
  expect("annotation source-cluster", lookup(copy.annotations, kSourceCluster), cluster);
  expect("annotation source-namespace", lookup(copy.annotations, kSourceNamespace), sourceNs);
  expect("annotation source-name", lookup(copy.annotations, kSourceName), source.name);
  expect("annotation source-uid", lookup(copy.annotations, kSourceUid), source.uid);
  if (lookup(copy.annotations, kLastSynced).rfind("sha256:", 0) != 0) {
    problems += "annotation last-synced is " + lookup(copy.annotations, kLastSynced) + "; ";
  }
  return problems;
}

std::size_t countCorrectCopies(const Views& sources, const Views& targets, const SyncScene& scene,
                               const std::string& sourceNs, std::string& seen) {
  std::size_t correct = 0;
  int reported = 0;
  for (const auto& [name, source] : sources) {
    const auto copy = targets.find(name);
    std::string problems = copy == targets.end()
                               ? std::string("missing")
                               : copyProblems(copy->second, source, scene.cluster(), sourceNs);
    if (problems.empty()) {
      ++correct;
    } else if (reported++ < 3) {
      seen += "[" + sourceNs + "/" + name.substr(0, 60) + ": " + problems + "] ";
    }
  }
  return correct;
}

WaitOutcome waitLogged(DaemonProcess& daemon, std::string what, std::chrono::milliseconds timeout,
                       const std::function<bool(std::string& seen)>& check,
                       std::chrono::milliseconds interval) {
  WaitOutcome outcome = waitFor(std::move(what), timeout, check, interval);
  if (!outcome) outcome.lastSeen += "\n" + daemon.describe();
  return outcome;
}

WaitOutcome waitForCopies(DaemonProcess& daemon, SyncScene& scene,
                          const kube::ResourceInfo& resource, const Views& sources,
                          std::chrono::seconds timeout, std::size_t i) {
  return waitLogged(
      daemon,
      "correct copies of " + std::to_string(sources.size()) + " " + resource.resource + " in " +
          scene.targetNs(i),
      timeout,
      [&](std::string& seen) {
        auto targets = scene.list(Side::Target, resource, scene.targetNs(i), seen);
        if (!targets) return false;
        const std::size_t correct = countCorrectCopies(sources, *targets, scene, scene.ns(i), seen);
        seen = std::to_string(correct) + "/" + std::to_string(sources.size()) + " correct; " + seen;
        return correct == sources.size();
      },
      200ms);
}

}  // namespace bisync::testing
