#include "tests/support/process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <tuple>
#include <utility>

#include "tests/support/signal_teardown.hpp"

extern char** environ;

namespace bisync::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

[[noreturn]] void throwErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::pair<Fd, Fd> makePipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throwErrno("pipe2");
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

std::string resolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return name;
  }
  const char* path = std::getenv("PATH");
  std::stringstream folders(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string folder; std::getline(folders, folder, ':');) {
    fs::path candidate = fs::path(folder.empty() ? "." : folder) / name;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate.string();
    }
  }
  return name;
}

// argv/envp as the C arrays execve wants; built before fork (no allocation in the child).
struct ExecArgs {
  std::string program;
  std::vector<std::string> argStrings, envStrings;
  std::vector<char*> argv, envp;

  ExecArgs(const std::vector<std::string>& args, const std::vector<std::string>& env)
      : program(resolveProgram(args.at(0))), argStrings(args) {
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string entry(*e);
      std::string name = entry.substr(0, entry.find('='));
      bool overridden = false;
      for (const auto& o : env) {
        overridden = overridden || o.substr(0, o.find('=')) == name;
      }
      if (!overridden) {
        envStrings.push_back(std::move(entry));
      }
    }
    envStrings.insert(envStrings.end(), env.begin(), env.end());
    for (auto& s : argStrings) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : envStrings) envp.push_back(s.data());
    envp.push_back(nullptr);
  }
};

// Forks and execs. In the child only async-signal-safe calls: the parent may have threads.
// stdinFd/stdoutFd/stderrFd are dup2'ed onto 0/1/2 (-1: keep ours).
pid_t forkExec(const ExecArgs& args, int stdinFd, int stdoutFd, int stderrFd) {
  auto [errRead, errWrite] = makePipe();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    throwErrno("fork");
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) {
      ::signal(sig, SIG_DFL);
    }
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    const std::array<int, 3> targets{stdinFd, stdoutFd, stderrFd};
    for (int i = 0; i < 3; ++i) {
      if (targets[i] >= 0 && ::dup2(targets[i], i) < 0) {
        ::_exit(127);
      }
    }
    // Close every inherited descriptor but the error pipe (close-on-exec).
    const auto errFd = static_cast<unsigned>(errWrite.get());
    if (errFd > 3) {
      ::close_range(3, errFd - 1, 0);
    }
    ::close_range(errFd + 1, ~0U, 0);
    ::execve(args.program.c_str(), args.argv.data(), args.envp.data());
    const int error = errno;
    [[maybe_unused]] auto written = ::write(errWrite.get(), &error, sizeof error);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: the child may not have run yet when we signal it
  errWrite.reset();
  int error = 0;
  ssize_t n = 0;
  do {
    n = ::read(errRead.get(), &error, sizeof error);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof error) {
    ::waitpid(pid, nullptr, 0);
    throw std::system_error(error, std::generic_category(), "cannot run " + args.program);
  }
  return pid;
}

Fd openLog(const std::string& logFile) {
  const char* path = logFile.empty() ? "/dev/null" : logFile.c_str();
  Fd fd(::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (fd.get() < 0) {
    throwErrno("open " + std::string(path));
  }
  return fd;
}

}  // namespace

ChildProcess ChildProcess::spawn(const ProcessSpec& spec) {
  const ExecArgs args(spec.argv, spec.env);
  Fd devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  Fd log = openLog(spec.logFile);
  ChildProcess child;
  child.pid_ = forkExec(args, devNull.get(), log.get(), log.get());
  registerChildGroup(child.pid_);
  return child;
}

ChildProcess::~ChildProcess() { kill(); }

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), waitStatus_(std::exchange(other.waitStatus_, {})) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill();
    pid_ = std::exchange(other.pid_, -1);
    waitStatus_ = std::exchange(other.waitStatus_, {});
  }
  return *this;
}

void ChildProcess::reap(int options) {
  if (pid_ < 0 || waitStatus_) {
    return;
  }
  int status = 0;
  pid_t result = 0;
  do {
    result = ::waitpid(pid_, &status, options);
  } while (result < 0 && errno == EINTR);
  if (result == pid_ || (result < 0 && errno == ECHILD)) {
    waitStatus_ = result == pid_ ? status : -1;
    // Grandchildren (none expected) would keep the group alive: finish it off.
    ::kill(-pid_, SIGKILL);
    unregisterChildGroup(pid_);
  }
}

bool ChildProcess::running() {
  reap(WNOHANG);
  return pid_ >= 0 && !waitStatus_;
}

std::string ChildProcess::describeStatus() {
  if (pid_ < 0) {
    return "not started";
  }
  if (running()) {
    return "running";
  }
  const int status = *waitStatus_;
  if (status >= 0 && WIFEXITED(status)) {
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  if (status >= 0 && WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return "gone";
}

void ChildProcess::signal(int sig) {
  if (running()) {
    ::kill(-pid_, sig);
  }
}

bool ChildProcess::waitExit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  signal(SIGCONT);
  if (!waitExit(grace)) {
    kill();
  }
}

void ChildProcess::kill() {
  if (pid_ < 0) {
    return;
  }
  signal(SIGKILL);
  reap(0);
}

ProcessLauncher::ProcessLauncher() : thread_([this] { loop(); }) {}

ProcessLauncher::~ProcessLauncher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ProcessLauncher::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
    if (tasks_.empty()) {
      return;
    }
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

ChildProcess ProcessLauncher::spawn(const ProcessSpec& spec) {
  std::packaged_task<ChildProcess()> task([&spec] { return ChildProcess::spawn(spec); });
  auto result = task.get_future();
  {
    std::lock_guard lock(mutex_);
    tasks_.emplace_back([&task] { task(); });
  }
  wake_.notify_all();
  return result.get();
}

std::string CommandResult::summary() const {
  std::string text = timedOut ? std::string("timed out")
                              : (exitCode >= 0 ? "exit " + std::to_string(exitCode) : "killed");
  std::string detail = err.empty() ? out : err;
  while (!detail.empty() && std::isspace(static_cast<unsigned char>(detail.back()))) {
    detail.pop_back();
  }
  if (detail.size() > 2000) {
    detail = "..." + detail.substr(detail.size() - 2000);
  }
  return detail.empty() ? text : text + ": " + detail;
}

CommandResult runCommand(const std::vector<std::string>& argv, const CommandOptions& options) {
  const ExecArgs args(argv, options.env);
  Fd devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto [outRead, outWrite] = makePipe();
  auto [errRead, errWrite] = makePipe();
  ChildProcess child;
  child.pid_ =
      forkExec(args, devNull.get(), outWrite.get(), options.captureStderr ? errWrite.get() : -1);
  registerChildGroup(child.pid_);
  outWrite.reset();
  errWrite.reset();
  if (!options.captureStderr) {
    errRead.reset();
  }

  CommandResult result;
  const auto deadline = Clock::now() + options.timeout;
  std::array<char, 65536> buffer{};
  while (outRead.get() >= 0 || errRead.get() >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      result.timedOut = true;
      break;
    }
    std::array<pollfd, 2> fds{pollfd{outRead.get(), POLLIN, 0}, pollfd{errRead.get(), POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::min<long long>(left, 1000))) < 0 &&
        errno != EINTR) {
      throwErrno("poll");
    }
    for (auto [pfd, fd, text] :
         {std::tuple{fds[0], &outRead, &result.out}, std::tuple{fds[1], &errRead, &result.err}}) {
      if (pfd.fd < 0 || pfd.revents == 0) {
        continue;
      }
      const ssize_t n = ::read(pfd.fd, buffer.data(), buffer.size());
      if (n > 0) {
        text->append(buffer.data(), static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fd->reset();
      }
    }
  }
  if (result.timedOut) {
    child.kill();
  } else if (!child.waitExit(std::max(
                 std::chrono::milliseconds(1000),
                 std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())))) {
    result.timedOut = true;
    child.kill();
  }
  const int status = child.waitStatus_.value_or(-1);
  result.exitCode = !result.timedOut && status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TempDir::TempDir(const fs::path& parent, const std::string& prefix) {
  fs::create_directories(parent);
  std::string pattern = (parent / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throwErrno("mkdtemp " + pattern);
  }
  path_ = pattern;
  registerTempFolder(path_.string());
}

TempDir::~TempDir() { remove(); }

TempDir::TempDir(TempDir&& other) noexcept
    : path_(std::exchange(other.path_, {})), keep_(other.keep_) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
    keep_ = other.keep_;
  }
  return *this;
}

void TempDir::remove() noexcept {
  if (path_.empty()) {
    return;
  }
  unregisterTempFolder(path_.string());
  if (!keep_) {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  path_.clear();
}

int pickFreePort() {
  static std::mutex mutex;
  static std::set<int> handedOut;
  static std::mt19937 random{std::random_device{}()};
  std::lock_guard lock(mutex);
  std::uniform_int_distribution<int> range(20000, 32000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = range(random);
    if (handedOut.contains(port)) {
      continue;
    }
    Fd socket(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    // No SO_REUSEADDR: a port with connections in TIME_WAIT counts as taken.
    if (::bind(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
      handedOut.insert(port);
      return port;
    }
  }
  throw std::runtime_error("no free loopback port in 20000-32000");
}

std::string randomHex(std::size_t bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::random_device device;
  std::string text;
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto byte = static_cast<unsigned>(device()) & 0xffU;
    text += kDigits[byte >> 4U];
    text += kDigits[byte & 0xfU];
  }
  return text;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string());
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void writeFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::string fileTail(const fs::path& path, std::size_t lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "";
  }
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) {
      last.pop_front();
    }
  }
  std::string text;
  for (const auto& line : last) {
    text += line + '\n';
  }
  return text;
}

}  // namespace bisync::testing
