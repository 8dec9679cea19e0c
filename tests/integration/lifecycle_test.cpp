// The production-controller drills of docs/operations.md ("Failure drills"), one test case per
// drill, each named after it, all against the real testbed with the real kube-bisync daemon as a
// child process: leader election and failover, finalizer-guarded deletion, limits, target
// namespace lifecycle, disabling a kind, permission failures, and the least-privilege RBAC of
// examples/deploy. Waits poll with a deadline; what must not happen is checked over a window
// whose name says so.
//
// Each group of drills keeps its helpers in a namespace of its own.
#include <chrono>
#include <string>

#include "tests/support/catch.hpp"
#include "tests/support/daemon_process.hpp"
#include "tests/support/sync_scene.hpp"
#include "tests/support/testbed.hpp"

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Drift and namespace lifecycle drills, limits.
namespace limit_drills {}  // namespace limit_drills

// ---------------------------------------------------------------------------------------------
// Finalizer-guarded deletion, recreation, direction none.
namespace finalizer_drills {}  // namespace finalizer_drills

// ---------------------------------------------------------------------------------------------
// Leader election and failover.
namespace leader_drills {}  // namespace leader_drills

// ---------------------------------------------------------------------------------------------
// Least-privilege RBAC of examples/deploy, permission failures.
namespace rbac_drills {}  // namespace rbac_drills

// ---------------------------------------------------------------------------------------------
// Forbidden answers on either side: reported, degraded, resumed.
namespace forbidden_drills {}  // namespace forbidden_drills
