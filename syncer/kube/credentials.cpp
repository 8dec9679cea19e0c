// CredentialProvider: static credentials, a re-read token file, and exec credential plugins.
//
// An exec plugin blocks the thread that runs it for up to its 30 s timeout, so the Client runs it
// on a worker thread (runExecPlugin() touches only its argument) and hands the answer to
// current(fromPlugin) back on its loop; CredentialProvider::current() alone runs it inline (tools
// and tests). The plugin is spawned with an argv list, never through a shell, in its own
// process group so that a timeout kills whatever it started too.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>
#include <utility>

#include "syncer/kube/base64.hpp"
#include "syncer/kube/files.hpp"
#include "syncer/kube/json.hpp"
#include "syncer/kube/kubeconfig.hpp"

extern char** environ;  // NOLINT: declared by <unistd.h> only with _GNU_SOURCE

namespace bisync::kube {

namespace {

using std::chrono::steady_clock;
using std::chrono::system_clock;

constexpr std::chrono::seconds kExecTimeout{30};
constexpr std::size_t kMaxPluginOutput = 1U << 20U;
constexpr std::size_t kMaxStderrInMessage = 2000;

// RFC 3339 as metav1.Time writes it: "2024-05-01T12:00:00Z", optionally with fractional
// seconds and a numeric offset.
std::optional<system_clock::time_point> parseRfc3339(std::string_view text) {
  auto number = [&](std::size_t pos, std::size_t width) -> std::optional<int> {
    if (pos + width > text.size()) return std::nullopt;
    int value = 0;
    for (std::size_t i = pos; i < pos + width; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto is = [&](std::size_t pos, std::string_view options) {
    return pos < text.size() && options.find(text[pos]) != std::string_view::npos;
  };
  const auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const auto hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second || !is(4, "-") || !is(7, "-") ||
      !is(10, "Tt") || !is(13, ":") || !is(16, ":") || *hour > 23 || *minute > 59 || *second > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;

  std::size_t pos = 19;
  std::chrono::nanoseconds fraction{0};
  if (is(pos, ".")) {
    const std::size_t start = ++pos;
    std::int64_t scale = 100'000'000;
    for (; is(pos, "0123456789"); ++pos, scale /= 10) {
      fraction += std::chrono::nanoseconds((text[pos] - '0') * scale);
    }
    if (pos == start) return std::nullopt;
  }
  std::chrono::minutes offset{0};
  if (is(pos, "Zz")) {
    ++pos;
  } else if (is(pos, "+-")) {
    const auto offsetHours = number(pos + 1, 2), offsetMinutes = number(pos + 4, 2);
    if (!offsetHours || !offsetMinutes || !is(pos + 3, ":")) return std::nullopt;
    offset = std::chrono::hours(*offsetHours) + std::chrono::minutes(*offsetMinutes);
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;
  const auto utc = std::chrono::sys_days(date) + std::chrono::hours(*hour) +
                   std::chrono::minutes(*minute) + std::chrono::seconds(*second) + fraction -
                   offset;
  return std::chrono::time_point_cast<system_clock::duration>(utc);
}

// A spawned plugin leading its own process group. Unless it was reaped, the destructor
// kills the whole group and reaps the child, so no path leaves a zombie or a stray plugin.
class ChildProcess {
 public:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }

  // True once the child has exited; `status` is its wait status, or -1 if it was lost.
  bool tryReap(int& status) {
    const pid_t result = ::waitpid(pid_, &status, WNOHANG);
    if (result == 0 || (result < 0 && errno == EINTR)) return false;
    if (result < 0) status = -1;
    pid_ = -1;
    return true;
  }

 private:
  pid_t pid_;
};

struct SpawnFileActions {
  SpawnFileActions() { ::posix_spawn_file_actions_init(&value); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  ~SpawnFileActions() { ::posix_spawn_file_actions_destroy(&value); }
  posix_spawn_file_actions_t value{};
};

struct SpawnAttributes {
  SpawnAttributes() { ::posix_spawnattr_init(&value); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&value); }
  posix_spawnattr_t value{};
};

std::vector<char*> pointersTo(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

struct PluginRun {
  int waitStatus = 0;
  std::string out;
  std::string err;
};

class PluginRunner {
 public:
  PluginRunner(const ExecConfig& exec, std::string origin)
      : exec_(exec), origin_(std::move(origin)) {}

  Error error(const std::string& message) const {
    std::string text = "exec plugin " + exec_.command + ": " + message;
    if (!exec_.installHint.empty()) text += " (" + trimmed(exec_.installHint) + ")";
    return configError(origin_, std::move(text));
  }

  Result<PluginRun> run(std::vector<std::string> environment) const {
    std::array<int, 2> outFds{-1, -1};
    std::array<int, 2> errFds{-1, -1};
    if (::pipe2(outFds.data(), O_CLOEXEC) != 0) return fail(error(std::strerror(errno)));
    UniqueFd outRead(outFds[0]);
    UniqueFd outWrite(outFds[1]);
    if (::pipe2(errFds.data(), O_CLOEXEC) != 0) return fail(error(std::strerror(errno)));
    UniqueFd errRead(errFds[0]);
    UniqueFd errWrite(errFds[1]);

    SpawnFileActions actions;
    ::posix_spawn_file_actions_addopen(&actions.value, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions.value, outWrite.get(), 1);
    ::posix_spawn_file_actions_adddup2(&actions.value, errWrite.get(), 2);
    SpawnAttributes attributes;
    sigset_t noSignals;
    sigset_t allSignals;
    sigemptyset(&noSignals);
    sigfillset(&allSignals);
    ::posix_spawnattr_setsigmask(&attributes.value, &noSignals);
    ::posix_spawnattr_setsigdefault(&attributes.value, &allSignals);
    ::posix_spawnattr_setpgroup(&attributes.value, 0);
    ::posix_spawnattr_setflags(
        &attributes.value, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> arguments{exec_.command};
    arguments.insert(arguments.end(), exec_.args.begin(), exec_.args.end());
    std::vector<char*> argv = pointersTo(arguments);
    std::vector<char*> envp = pointersTo(environment);
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, exec_.command.c_str(), &actions.value,
                                       &attributes.value, argv.data(), envp.data());
    if (spawned != 0) return fail(error(std::string("cannot run: ") + std::strerror(spawned)));
    ChildProcess child(pid);
    outWrite.reset();
    errWrite.reset();
    return collect(child, outRead.get(), errRead.get());
  }

 private:
  Result<PluginRun> collect(ChildProcess& child, int outFd, int errFd) const {
    const auto deadline = steady_clock::now() + kExecTimeout;
    const std::string timeoutMessage =
        "did not finish within " + std::to_string(kExecTimeout.count()) + "s and was killed";
    PluginRun result;
    std::array<pollfd, 2> fds{{{outFd, POLLIN, 0}, {errFd, POLLIN, 0}}};
    const std::array<std::string*, 2> sinks{&result.out, &result.err};
    std::array<char, 8192> buffer{};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
      if (left.count() <= 0) return fail(error(timeoutMessage));
      if (::poll(fds.data(), fds.size(), static_cast<int>(left.count()) + 1) < 0) {
        if (errno == EINTR) continue;
        return fail(error(std::string("poll: ") + std::strerror(errno)));
      }
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        const ssize_t n = ::read(fds[i].fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          fds[i].fd = -1;  // closed (or broken); the UniqueFd still owns it
          continue;
        }
        if (sinks[i]->size() + static_cast<std::size_t>(n) > kMaxPluginOutput) {
          return fail(error("wrote more than 1 MiB of output"));
        }
        sinks[i]->append(buffer.data(), static_cast<std::size_t>(n));
      }
    }
    while (!child.tryReap(result.waitStatus)) {
      if (steady_clock::now() >= deadline) return fail(error(timeoutMessage));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return result;
  }

  const ExecConfig& exec_;
  std::string origin_;
};

// The ExecCredential the plugin reads from KUBERNETES_EXEC_INFO.
std::string execInfo(const RestConfig& config) {
  const ExecConfig& exec = *config.exec;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("apiVersion");
  writer.String(exec.apiVersion);
  writer.Key("kind");
  writer.String("ExecCredential");
  writer.Key("spec");
  writer.StartObject();
  if (exec.provideClusterInfo) {
    writer.Key("cluster");
    writer.StartObject();
    writer.Key("server");
    writer.String(config.server);
    if (!config.tlsServerName.empty()) {
      writer.Key("tls-server-name");
      writer.String(config.tlsServerName);
    }
    if (config.insecureSkipTlsVerify) {
      writer.Key("insecure-skip-tls-verify");
      writer.Bool(true);
    }
    if (!config.caData.empty()) {
      writer.Key("certificate-authority-data");
      writer.String(encodeBase64(config.caData));
    }
    writer.EndObject();
  }
  writer.Key("interactive");
  writer.Bool(false);
  writer.EndObject();
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// Inherited environment, then the kubeconfig's env, then KUBERNETES_EXEC_INFO; a later
// definition replaces an earlier one of the same name.
std::vector<std::string> pluginEnvironment(const RestConfig& config) {
  std::vector<std::pair<std::string, std::string>> added = config.exec->env;
  added.emplace_back("KUBERNETES_EXEC_INFO", execInfo(config));
  std::set<std::string> names;
  for (const auto& variable : added) names.insert(variable.first);
  std::vector<std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (names.count(std::string(text.substr(0, text.find('=')))) == 0) {
      environment.emplace_back(text);
    }
  }
  for (auto it = added.begin(); it != added.end(); ++it) {
    const bool replacedLater = std::any_of(
        it + 1, added.end(), [&](const auto& later) { return later.first == it->first; });
    if (!replacedLater) environment.push_back(it->first + "=" + it->second);
  }
  return environment;
}

Result<Credentials> parseExecCredential(const PluginRunner& runner, const ExecConfig& exec,
                                        std::string_view output) {
  auto document = parseJson(output, "exec plugin output");
  if (!document) return fail(runner.error("output is not JSON: " + document.error().message));
  const std::string_view kind = stringMember(*document, "kind");
  const std::string_view apiVersion = stringMember(*document, "apiVersion");
  if (kind != "ExecCredential") {
    return fail(
        runner.error("output has kind \"" + std::string(kind) + "\", expected \"ExecCredential\""));
  }
  if (apiVersion != exec.apiVersion) {
    return fail(runner.error("output has apiVersion \"" + std::string(apiVersion) +
                             "\", expected \"" + exec.apiVersion + "\""));
  }
  const JsonValue* status = member(*document, "status");
  if (status == nullptr || !status->IsObject()) return fail(runner.error("output has no status"));
  Credentials credentials;
  credentials.bearerToken = std::string(stringMember(*status, "token"));
  credentials.clientCertData = std::string(stringMember(*status, "clientCertificateData"));
  credentials.clientKeyData = std::string(stringMember(*status, "clientKeyData"));
  if (credentials.clientCertData.empty() != credentials.clientKeyData.empty()) {
    return fail(runner.error("status needs both clientCertificateData and clientKeyData"));
  }
  if (credentials.bearerToken.empty() && credentials.clientCertData.empty()) {
    return fail(runner.error("status has neither a token nor a client certificate"));
  }
  const std::string_view expiry = stringMember(*status, "expirationTimestamp");
  if (!expiry.empty()) {
    credentials.expiry = parseRfc3339(expiry);
    if (!credentials.expiry) {
      return fail(runner.error("status.expirationTimestamp \"" + std::string(expiry) +
                               "\" is not an RFC 3339 time"));
    }
  }
  return credentials;
}

}  // namespace

CredentialProvider::CredentialProvider(RestConfig config) : config_(std::move(config)) {}

void CredentialProvider::invalidate() { cached_.reset(); }

bool CredentialProvider::cacheIsStale() const {
  if (!cached_) return true;
  if (cached_->expiry && system_clock::now() >= *cached_->expiry) return true;
  if (!config_.bearerTokenFile.empty()) {
    const std::optional<FileStamp> stamp = stampOf(config_.bearerTokenFile);
    if (!stamp || *stamp != tokenFileStamp_) return true;
  }
  return false;
}

std::optional<CredentialProvider::FileStamp> CredentialProvider::stampOf(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileStamp{
      static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
      static_cast<std::uint64_t>(info.st_ino), static_cast<std::int64_t>(info.st_size)};
}

Result<std::string> CredentialProvider::readTokenFile() {
  const std::string& path = config_.bearerTokenFile;
  auto failure = [&](const std::string& why) {
    return fail(configError(config_.origin, "tokenFile " + path + ": " + why));
  };
  // Stamp before reading: a file replaced meanwhile only shows a newer stamp next time, so
  // it is read again rather than missed.
  const std::optional<FileStamp> stamp = stampOf(path);
  if (!stamp) return failure(std::strerror(errno));
  std::string why;
  const std::optional<std::string> content = readWholeFile(path, why);
  if (!content) return failure(why);
  std::string token = trimmed(*content);
  if (token.empty()) return failure("the file is empty");
  tokenFileStamp_ = *stamp;
  return token;
}

bool CredentialProvider::pluginDue() const {
  return config_.exec && config_.bearerToken.empty() && config_.bearerTokenFile.empty() &&
         config_.clientCertData.empty() && cacheIsStale();
}

Result<Credentials> CredentialProvider::current() { return compose(std::nullopt); }

Result<Credentials> CredentialProvider::current(Result<Credentials> fromPlugin) {
  return compose(std::move(fromPlugin));
}

Result<Credentials> CredentialProvider::compose(std::optional<Result<Credentials>> fromPlugin) {
  if (!cacheIsStale()) return *cached_;
  Credentials credentials;
  credentials.bearerToken = config_.bearerToken;
  credentials.clientCertData = config_.clientCertData;
  credentials.clientKeyData = config_.clientKeyData;
  credentials.username = config_.username;
  credentials.password = config_.password;
  if (!config_.bearerTokenFile.empty()) {
    auto token = readTokenFile();
    if (!token) return fail(token.error());
    credentials.bearerToken = std::move(*token);
  }
  // The plugin is the user's authentication method only when no token or certificate of
  // its own is configured (a static Authorization header wins in client-go too).
  if (config_.exec && credentials.bearerToken.empty() && credentials.clientCertData.empty()) {
    Result<Credentials> plugin = fromPlugin ? std::move(*fromPlugin) : runExecPlugin(config_);
    if (!plugin) return fail(plugin.error());
    credentials.bearerToken = std::move(plugin->bearerToken);
    credentials.clientCertData = std::move(plugin->clientCertData);
    credentials.clientKeyData = std::move(plugin->clientKeyData);
    credentials.expiry = plugin->expiry;
  }
  cached_ = credentials;
  return credentials;
}

Result<Credentials> CredentialProvider::runExecPlugin(const RestConfig& config) {
  const ExecConfig& exec = *config.exec;
  const PluginRunner runner(exec, config.origin);
  auto run = runner.run(pluginEnvironment(config));
  if (!run) return fail(run.error());
  const int status = run->waitStatus;
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string what = status == -1 ? std::string("exit status unknown")
                       : WIFSIGNALED(status)
                           ? "killed by signal " + std::to_string(WTERMSIG(status))
                           : "exited with status " + std::to_string(WEXITSTATUS(status));
    const std::string err = trimmed(run->err).substr(0, kMaxStderrInMessage);
    if (!err.empty()) what += ": " + err;
    return fail(runner.error(what));
  }
  return parseExecCredential(runner, exec, run->out);
}

}  // namespace bisync::kube
