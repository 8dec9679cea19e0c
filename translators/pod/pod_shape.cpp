// shapeProblem: the type checks that let the rest of the plugin read a Pod spec without
// checking again. Only the fields the plugin reads or rewrites are checked; the rest is copied
// as it is and left to the host's API server.
#include <string>

#include "translators/pod/pod_spec.hpp"

namespace bisync::translators::pod {
namespace {

enum class Shape { Object, Array, String, Bool, Number };

std::string_view shapeName(Shape shape) {
  switch (shape) {
    case Shape::Object: return "an object";
    case Shape::Array: return "an array";
    case Shape::String: return "a string";
    case Shape::Bool: return "a boolean";
    case Shape::Number: return "a number";
  }
  return "";
}

bool hasShape(const JsonValue& value, Shape shape) {
  switch (shape) {
    case Shape::Object: return value.IsObject();
    case Shape::Array: return value.IsArray();
    case Shape::String: return value.IsString();
    case Shape::Bool: return value.IsBool();
    case Shape::Number: return value.IsNumber();
  }
  return false;
}

struct FieldShape {
  std::string_view name;
  Shape shape;
};

// Collects the first problem; every check after it is a no-op.
class ShapeCheck {
 public:
  // `object`'s members of `fields` that are present (null is absent) have their shape.
  void members(const JsonValue& object, const std::string& path,
               std::initializer_list<FieldShape> fields) {
    for (const FieldShape& field : fields) {
      const JsonValue* value = kube::member(object, field.name);
      if (value == nullptr || value->IsNull() || hasShape(*value, field.shape)) continue;
      fail(path + "/" + std::string(field.name) + " is not " + std::string(shapeName(field.shape)));
    }
  }
  // The member `name` of `object` when it is present and an object (checked by members()).
  static const JsonValue* object(const JsonValue& parent, std::string_view name) {
    const JsonValue* value = kube::member(parent, name);
    return value != nullptr && value->IsObject() ? value : nullptr;
  }
  // Each item of the array `name` of `parent` is an object; calls `each` with it and its path.
  template <class Each>
  void items(const JsonValue& parent, const std::string& path, std::string_view name, Each each) {
    const JsonValue* array = kube::member(parent, name);
    if (array == nullptr || !array->IsArray()) return;
    for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
      const std::string itemPath = path + "/" + std::string(name) + "/" + std::to_string(i);
      if (!(*array)[i].IsObject()) {
        fail(itemPath + " is not an object");
        continue;
      }
      each((*array)[i], itemPath);
    }
  }
  void fail(std::string problem) {
    if (problem_.empty()) problem_ = std::move(problem);
  }
  const std::string& problem() const { return problem_; }

 private:
  std::string problem_;
};

// `name`'s object member `nested` has a string `nameField` and a boolean `optional`.
void checkReference(ShapeCheck& check, const JsonValue& parent, const std::string& path,
                    std::string_view nested, std::string_view nameField) {
  if (const JsonValue* reference = ShapeCheck::object(parent, nested)) {
    check.members(*reference, path + "/" + std::string(nested),
                  {{nameField, Shape::String}, {"optional", Shape::Bool}});
  }
}

void checkContainer(ShapeCheck& check, const JsonValue& container, const std::string& path) {
  check.members(container, path,
                {{"name", Shape::String},
                 {"env", Shape::Array},
                 {"envFrom", Shape::Array},
                 {"ports", Shape::Array},
                 {"volumeMounts", Shape::Array},
                 {"securityContext", Shape::Object}});
  check.items(container, path, "env", [&check](const JsonValue& env, const std::string& at) {
    check.members(env, at, {{"valueFrom", Shape::Object}});
    if (const JsonValue* from = ShapeCheck::object(env, "valueFrom")) {
      checkReference(check, *from, at + "/valueFrom", "configMapKeyRef", "name");
      checkReference(check, *from, at + "/valueFrom", "secretKeyRef", "name");
    }
  });
  check.items(container, path, "envFrom", [&check](const JsonValue& from, const std::string& at) {
    checkReference(check, from, at, "configMapRef", "name");
    checkReference(check, from, at, "secretRef", "name");
  });
  check.items(container, path, "ports", [&check](const JsonValue& port, const std::string& at) {
    check.members(port, at, {{"hostPort", Shape::Number}, {"containerPort", Shape::Number}});
  });
  check.items(container, path, "volumeMounts",
              [&check](const JsonValue& mount, const std::string& at) {
                check.members(mount, at, {{"name", Shape::String}, {"mountPath", Shape::String}});
              });
  if (const JsonValue* security = ShapeCheck::object(container, "securityContext")) {
    const std::string at = path + "/securityContext";
    check.members(*security, at, {{"privileged", Shape::Bool}, {"capabilities", Shape::Object}});
    if (const JsonValue* capabilities = ShapeCheck::object(*security, "capabilities")) {
      check.members(*capabilities, at + "/capabilities", {{"add", Shape::Array}});
    }
  }
}

void checkVolume(ShapeCheck& check, const JsonValue& volume, const std::string& path) {
  check.members(volume, path,
                {{"name", Shape::String},
                 {"configMap", Shape::Object},
                 {"secret", Shape::Object},
                 {"persistentVolumeClaim", Shape::Object},
                 {"projected", Shape::Object}});
  if (kube::stringMember(volume, "name").empty()) check.fail(path + "/name is missing or empty");
  checkReference(check, volume, path, "configMap", "name");
  checkReference(check, volume, path, "secret", "secretName");
  checkReference(check, volume, path, "persistentVolumeClaim", "claimName");
  if (const JsonValue* projected = ShapeCheck::object(volume, "projected")) {
    const std::string at = path + "/projected";
    check.members(*projected, at, {{"sources", Shape::Array}});
    check.items(*projected, at, "sources", [&check](const JsonValue& source, const std::string& s) {
      checkReference(check, source, s, "configMap", "name");
      checkReference(check, source, s, "secret", "name");
    });
  }
}

}  // namespace

std::string shapeProblem(const JsonValue& spec) {
  ShapeCheck check;
  const std::string path = "/spec";
  check.members(spec, path,
                {{"volumes", Shape::Array},
                 {"imagePullSecrets", Shape::Array},
                 {"hostAliases", Shape::Array},
                 {"dnsConfig", Shape::Object},
                 {"dnsPolicy", Shape::String},
                 {"hostname", Shape::String},
                 {"subdomain", Shape::String},
                 {"hostNetwork", Shape::Bool},
                 {"hostPID", Shape::Bool},
                 {"hostIPC", Shape::Bool},
                 {"automountServiceAccountToken", Shape::Bool}});
  for (const std::string_view list : kContainerLists) {
    check.members(spec, path, {{list, Shape::Array}});
    check.items(spec, path, list, [&check](const JsonValue& container, const std::string& at) {
      checkContainer(check, container, at);
    });
  }
  check.items(spec, path, "volumes", [&check](const JsonValue& volume, const std::string& at) {
    checkVolume(check, volume, at);
  });
  check.items(spec, path, "imagePullSecrets",
              [&check](const JsonValue& secret, const std::string& at) {
                check.members(secret, at, {{"name", Shape::String}});
              });
  if (const JsonValue* dnsConfig = ShapeCheck::object(spec, "dnsConfig")) {
    check.members(
        *dnsConfig, path + "/dnsConfig",
        {{"nameservers", Shape::Array}, {"searches", Shape::Array}, {"options", Shape::Array}});
  }
  return check.problem();
}

}  // namespace bisync::translators::pod
