# Shared compile settings as INTERFACE targets (Abseil style) and the two helpers every
# component folder uses: bisync_add_library() and bisync_add_test().

add_library(bisync_warnings INTERFACE)
target_compile_options(bisync_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual)
# g++ 12 at -O2 flags Asio's coroutine frames, which pair their own operator new and delete,
# as mismatched (a false positive once the frame deallocation is inlined).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(bisync_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
if(BISYNC_WERROR)
  target_compile_options(bisync_warnings INTERFACE -Werror)
endif()

add_library(bisync_sanitizers INTERFACE)
if(BISYNC_SANITIZE)
  target_compile_options(bisync_sanitizers INTERFACE -fsanitize=${BISYNC_SANITIZE}
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(bisync_sanitizers INTERFACE -fsanitize=${BISYNC_SANITIZE})
endif()

# RapidJSON ships no CMake target; its headers live in /usr/include (never add that path).
add_library(bisync_rapidjson INTERFACE)
target_compile_definitions(bisync_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)

# Asio is compiled once (syncer/kube/asio_impl.cpp) to keep 2-core builds fast.
add_library(bisync_asio INTERFACE)
target_compile_definitions(bisync_asio INTERFACE BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED)
target_link_libraries(bisync_asio INTERFACE Boost::headers Threads::Threads)

add_library(bisync_common INTERFACE)
target_link_libraries(bisync_common INTERFACE bisync_warnings bisync_sanitizers)
target_include_directories(bisync_common INTERFACE ${PROJECT_SOURCE_DIR})

# bisync_add_library(NAME SOURCES ... DEPS ...): a component library. Headers are included
# by their path from the repository root, e.g. "syncer/kube/client.hpp".
function(bisync_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_link_libraries(${name} PUBLIC bisync_common ${ARG_DEPS})
endfunction()

# bisync_add_test(NAME LABEL SOURCES ... DEPS ... [DISCOVER]): a Catch2 test binary.
# DISCOVER registers each test case with CTest (unit tests: they start without any server);
# without it the whole binary is one CTest test, so a testbed fixture starts once per run.
function(bisync_add_test name)
  cmake_parse_arguments(ARG "DISCOVER" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE bisync_common Catch2::Catch2 ${ARG_DEPS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  if(ARG_DISCOVER)
    catch_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
  else()
    add_test(NAME ${name} COMMAND ${name} --reporter console --durations yes)
    set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
  endif()
endfunction()
