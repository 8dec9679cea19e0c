#include "tests/chaos/model.hpp"

#include <set>

namespace bisync::chaos {

namespace {

constexpr std::string_view kTargetLabel = "chaos-t";
constexpr std::string_view kTargetField = "spec.target";

std::string describe(const StringMap& map, std::string_view prefix) {
  std::string out;
  for (const auto& [key, value] : map) {
    if (!out.empty()) out += ", ";
    out += std::string(prefix) + key + "=" + (value.size() > 40 ? value.substr(0, 40) : value);
  }
  return out;
}

// What a side must hold of an object made on the source: the source's fields, and for Widgets
// the target's fields of this incarnation.
Expected merged(const Expected& expected) {
  Expected all = expected;
  all.content.insert(expected.targetContent.begin(), expected.targetContent.end());
  all.labels.insert(expected.targetLabels.begin(), expected.targetLabels.end());
  return all;
}

// Annotations travel for ConfigMaps and Secrets only (the Widget policy leaves them out).
bool sameContent(Kind kind, const Expected& expected, const Observed& observed) {
  return observed.content == expected.content && observed.labels == expected.labels &&
         (kind == Kind::Widget || observed.annotations == expected.annotations);
}

class Checker {
 public:
  Checker(const Snapshot& source, const Snapshot& target) : source_(source), target_(target) {}

  void checkPresent(const Key& key, const Expected& expected) {
    const Expected want = merged(expected);
    const bool madeOnSource = originOf(key) == Origin::Source;
    const Snapshot& home = madeOnSource ? source_ : target_;
    const Snapshot& other = madeOnSource ? target_ : source_;
    const Observed* original = find(home, key);
    const std::string homeSide = madeOnSource ? "source" : "target";
    if (original == nullptr || original->uid != expected.uid || original->deleting) {
      lost(key, homeSide, "the object the workload made is gone or replaced", want, original);
      return;
    }
    if (!sameContent(key.kind, want, *original)) {
      lost(key, homeSide, "a change the workload made is not there", want, original);
    }
    const Observed* copy = find(other, key);
    const std::string& sourceUid = madeOnSource ? original->uid : (copy ? copy->uid : "");
    const Observed* targetSide = madeOnSource ? copy : original;
    if (copy == nullptr || copy->deleting) {
      lost(key, madeOnSource ? "target" : "source", "no copy", want, copy);
    } else if (targetSide->sourceUid != sourceUid) {
      lost(key, "target", "the target object is not tied to the source incarnation (source-uid)",
           want, targetSide);
    } else if (!sameContent(key.kind, want, *copy)) {
      lost(key, madeOnSource ? "target" : "source", "the copy differs", want, copy);
    }
  }

  void checkAbsent(const Key& key) {
    for (const auto& [snapshot, side] : {std::pair{&source_, "source"}, {&target_, "target"}}) {
      const Observed* found = find(*snapshot, key);
      if (found == nullptr) continue;
      if (found->deleting && std::string_view(side) == "source") {
        ++verdict_.stuck;
        add(key, side, "deleted but still there (finalizers held)", "gone", describe(*found));
      } else {
        ++verdict_.orphans;
        add(key, side, "must not exist (deleted, or never made)", "gone", describe(*found));
      }
    }
  }

  // Objects the model never heard of: everything in the workload's namespaces is its own.
  void checkUnknownObjects(const Model& model) {
    for (const auto& [snapshot, side] : {std::pair{&source_, "source"}, {&target_, "target"}}) {
      for (const auto& [key, observed] : *snapshot) {
        if (model.find(key) != nullptr) continue;
        ++verdict_.orphans;
        add(key, side, "an object the workload never made", "none", describe(observed));
      }
    }
  }

  void checkDuplicates() {
    std::map<std::string, std::vector<Key>> bySourceUid;
    for (const auto& [key, observed] : target_) {
      if (!observed.sourceUid.empty()) bySourceUid[observed.sourceUid].push_back(key);
    }
    for (const auto& [uid, keys] : bySourceUid) {
      if (keys.size() < 2) continue;
      ++verdict_.duplicates;
      std::string names;
      for (const Key& key : keys) names += (names.empty() ? "" : ", ") + chaos::describe(key);
      add(keys.front(), "target", "several copies of source uid " + uid, "one copy", names);
    }
  }

  Verdict take() { return std::move(verdict_); }

 private:
  static const Observed* find(const Snapshot& snapshot, const Key& key) {
    const auto found = snapshot.find(key);
    return found == snapshot.end() ? nullptr : &found->second;
  }

  void lost(const Key& key, const std::string& side, const std::string& problem,
            const Expected& want, const Observed* actual) {
    ++verdict_.lost;
    add(key, side, problem, "uid " + want.uid + ": " + describe(want),
        actual == nullptr ? "absent" : describe(*actual));
  }

  void add(const Key& key, std::string side, std::string problem, std::string expected,
           std::string actual) {
    verdict_.divergences.push_back(
        {key, std::move(side), std::move(problem), std::move(expected), std::move(actual)});
  }

  const Snapshot& source_;
  const Snapshot& target_;
  Verdict verdict_;
};

}  // namespace

std::string_view toString(Kind kind) {
  switch (kind) {
    case Kind::ConfigMap: return "ConfigMap";
    case Kind::Secret: return "Secret";
    case Kind::Widget: return "Widget";
    case Kind::Pod: return "Pod";
    case Kind::Deployment: return "Deployment";
    case Kind::Node: return "Node";
  }
  return "?";
}

std::string describe(const Key& key) {
  if (key.ns.empty()) return std::string(toString(key.kind)) + " " + key.name;
  return std::string(toString(key.kind)) + " " + key.ns + "/" + key.name;
}

Origin originOf(const Key& key) {
  return key.kind == Kind::Widget && key.name.starts_with(kUpPrefix) ? Origin::Target
                                                                     : Origin::Source;
}

bool isWorkloadName(Kind kind, std::string_view name) {
  switch (kind) {
    case Kind::ConfigMap: return name.starts_with("cm-");
    case Kind::Secret: return name.starts_with("sec-");
    case Kind::Widget: return name.starts_with("w-") || name.starts_with(kUpPrefix);
    default: return false;
  }
}

const Expected* Model::find(const Key& key) const {
  const auto found = expected_.find(key);
  return found == expected_.end() ? nullptr : &found->second;
}

void Model::refresh(const Key& key, const std::optional<Observed>& read) {
  Expected& expected = expected_[key];
  if (!read || read->deleting) {
    expected = Expected{};
    return;
  }
  const bool sameIncarnation = expected.uid == read->uid;
  const Expected before = expected;
  expected = Expected{};
  expected.presence = Presence::Present;
  expected.uid = read->uid;
  expected.content = read->content;
  expected.labels = read->labels;
  expected.annotations = read->annotations;
  // A source-made Widget: the target's fields are the target's; what the workload wrote there
  // stays expected while the incarnation is the same (the source may not show it yet).
  if (key.kind == Kind::Widget && originOf(key) == Origin::Source) {
    expected.content.erase(std::string(kTargetField));
    expected.labels.erase(std::string(kTargetLabel));
    if (sameIncarnation) {
      expected.targetContent = before.targetContent;
      expected.targetLabels = before.targetLabels;
    }
  }
}

std::vector<Key> Model::unknownKeys() const {
  std::vector<Key> keys;
  for (const auto& [key, expected] : expected_) {
    if (expected.presence == Presence::Unknown) keys.push_back(key);
  }
  return keys;
}

Verdict verify(const Model& model, const Snapshot& source, const Snapshot& target) {
  Checker checker(source, target);
  for (const auto& [key, expected] : model.all()) {
    if (expected.presence == Presence::Present) {
      checker.checkPresent(key, expected);
    } else {
      checker.checkAbsent(key);
    }
  }
  checker.checkUnknownObjects(model);
  checker.checkDuplicates();
  return checker.take();
}

std::string describe(const Observed& observed) {
  std::string out = "uid " + observed.uid + " rv " + observed.resourceVersion;
  for (const std::string& part :
       {describe(observed.content, ""), describe(observed.labels, "labels."),
        describe(observed.annotations, "annotations.")}) {
    if (!part.empty()) out += "; " + part;
  }
  if (!observed.sourceUid.empty()) out += "; source-uid " + observed.sourceUid;
  if (observed.deleting)
    out += "; deleting, finalizers " + std::to_string(observed.finalizers.size());
  return out;
}

std::string describe(const Expected& expected) {
  std::string out;
  for (const std::string& part :
       {describe(expected.content, ""), describe(expected.labels, "labels."),
        describe(expected.annotations, "annotations.")}) {
    if (!part.empty()) out += (out.empty() ? "" : "; ") + part;
  }
  return out.empty() ? "(no fields)" : out;
}

std::string widgetPolicy() {
  return "apiVersion: kube-bisync.io/v1alpha1\n"
         "kind: SyncPolicy\n"
         "resource: {group: " +
         std::string(kWidgetGroup) +
         ", version: v1, kind: Widget}\n"
         "direction: bidirectional\n"
         "createOnSource: true\n"
         "fields:\n"
         "  - {path: /spec/source, owner: source}\n"
         "  - {path: /spec/target, owner: target}\n"
         "  - {path: /metadata/labels/*, owner: both, onConflict: source-wins}\n";
}

}  // namespace bisync::chaos
