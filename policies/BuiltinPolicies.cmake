# bisync_builtin_policies(OUTPUT): generates OUTPUT, a .cpp file defining builtinPolicyFiles()
# with the text of every policies/defaults/*.yaml as a raw string literal, so that the daemon does
# not need the source tree. Editing one of them re-runs CMake (CMAKE_CONFIGURE_DEPENDS), adding
# one re-globs. Used by policies/CMakeLists.txt and the fuzz build (tests/fuzz).
set(BISYNC_POLICIES_DIR ${CMAKE_CURRENT_LIST_DIR})

function(bisync_builtin_policies output)
  file(GLOB policy_files CONFIGURE_DEPENDS ${BISYNC_POLICIES_DIR}/defaults/*.yaml)
  list(SORT policy_files)
  set(delimiter "bisync_policy")
  set(BISYNC_BUILTIN_POLICY_ENTRIES "")
  foreach(policy_file ${policy_files})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${policy_file})
    file(READ ${policy_file} policy_text)
    get_filename_component(policy_name ${policy_file} NAME)
    string(FIND "${policy_text}" ")${delimiter}\"" delimiter_at)
    if(NOT delimiter_at EQUAL -1)
      message(FATAL_ERROR "${policy_file} contains the raw string delimiter "
        "')${delimiter}\"'; change the delimiter in ${CMAKE_CURRENT_FUNCTION_LIST_FILE}")
    endif()
    string(APPEND BISYNC_BUILTIN_POLICY_ENTRIES
      "      {\"${policy_name}\", R\"${delimiter}(${policy_text})${delimiter}\"},\n")
  endforeach()
  configure_file(${BISYNC_POLICIES_DIR}/builtin_policies.cpp.in ${output} @ONLY)
endfunction()
