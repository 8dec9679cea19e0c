// Runs an io_context on a background thread so that test code (on the main thread) can call
// the loop-affine client and informers: run() posts a coroutine to the loop and blocks until
// it finishes, rethrowing its exception.
#pragma once

#include <future>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace bisync::testing {

class LoopThread {
 public:
  LoopThread() : work_(io_.get_executor()), thread_([this] { io_.run(); }) {}
  ~LoopThread() {
    work_.reset();
    io_.stop();
    thread_.join();
  }
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  boost::asio::io_context& io() { return io_; }

  template <class T>
  T run(boost::asio::awaitable<T> task) {
    return boost::asio::co_spawn(io_, std::move(task), boost::asio::use_future).get();
  }

  // Runs a plain function on the loop thread (to read loop-affine state safely).
  template <class F>
  auto call(F&& function) {
    return run(invoke(std::forward<F>(function)));
  }

 private:
  template <class F>
  static auto invoke(F function) -> boost::asio::awaitable<decltype(function())> {
    co_return function();
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace bisync::testing
