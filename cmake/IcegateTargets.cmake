# Shared compile settings for every icegate target.
add_library(icegate_options INTERFACE)
target_compile_options(icegate_options INTERFACE -Wall -Wextra -Wpedantic)
if(ICEGATE_WERROR)
  target_compile_options(icegate_options INTERFACE -Werror)
endif()
if(ICEGATE_SANITIZE)
  target_compile_options(icegate_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(icegate_options INTERFACE -fsanitize=address,undefined)
endif()

# icegate_library(NAME SOURCES... DEPS ...): one library per code folder.
function(icegate_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  if(NOT ARG_SOURCES)
    # A folder whose code has not landed yet: headers only.
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${name} INTERFACE icegate_options ${ARG_PUBLIC_DEPS})
    return()
  endif()
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC icegate_options ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# icegate_test(NAME SOURCES... DEPS ...): a GoogleTest executable registered with ctest.
function(icegate_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE icegate_options ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    ICEGATE_SOURCE_DIR="${PROJECT_SOURCE_DIR}" ICEGATE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()

# icegate_fuzz_target(NAME SOURCE DEPS...): a libFuzzer target when ICEGATE_FUZZ is on (clang),
# otherwise the same entry point linked with a plain main that replays the committed seed
# corpus in tests/fuzz/corpus/NAME; that replay runs as a ctest either way.
function(icegate_fuzz_target name source)
  set(deps ${ARGN})
  set(corpus ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
  add_executable(fuzz_${name} ${source})
  target_link_libraries(fuzz_${name} PRIVATE icegate_options ${deps})
  if(ICEGATE_FUZZ)
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    add_test(NAME fuzz.${name} COMMAND fuzz_${name} -runs=0 ${corpus})
  else()
    target_sources(fuzz_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus_runner.cpp)
    add_test(NAME fuzz.${name} COMMAND fuzz_${name} ${corpus})
  endif()
endfunction()
