# tandem_gtest(<target> [PREFIX <p>] [TIMEOUT <s>] [ENVIRONMENT <k=v>...] [LABELS <l>...])
#
# Registers a GoogleTest program with CTest as one test per GoogleTest suite ("Stream",
# "AllDevices/BackendOps"), each running that suite's cases in one process. Failures still name
# the case (GoogleTest prints it), `ctest -R` still selects by suite, and CTest runs suites in
# parallel. Why not one CTest test per case (gtest_discover_tests): each case then pays a
# process start-up — the runtime's libraries, OpenCL, XRT, MPI. On two cores the 1,140 cases
# took 287 s one process each; test_backend_ops' 877 run in 2 s in one process. Per suite, the
# whole CTest run takes 130 s.
#
# The suites are listed after each build by running the program with --gtest_list_tests (as
# gtest_discover_tests does), so a new suite needs no CMake change.
function(tandem_gtest target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PREFIX;TIMEOUT" "ENVIRONMENT;LABELS")
  if(NOT arg_TIMEOUT)
    set(arg_TIMEOUT 600)
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake)
  add_custom_command(TARGET ${target} POST_BUILD BYPRODUCTS ${out}
    COMMAND ${CMAKE_COMMAND} -D "exe=$<TARGET_FILE:${target}>" -D "out=${out}" -D "prefix=${arg_PREFIX}"
            -D "timeout=${arg_TIMEOUT}" -D "environment=${arg_ENVIRONMENT}" -D "labels=${arg_LABELS}"
            -P ${PROJECT_SOURCE_DIR}/cmake/TandemGTestList.cmake
    VERBATIM)
  # CTest reads the file when it starts; until the first build it does not exist (CTest then
  # says so, naming the program to build).
  set(include ${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake)
  file(WRITE ${include}
       "if(EXISTS \"${out}\")\n  include(\"${out}\")\nelse()\n"
       "  add_test(${arg_PREFIX}${target}_NOT_BUILT \"${target} was not built: build it first\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
endfunction()
