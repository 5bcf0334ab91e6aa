# RpTest.cmake: test registration (libssh add_cmocka_test).
# rp_add_test() builds a cmocka executable and registers it with CTest; rp_test_env()
# is the environment every rapporteur test runs under (sanitizer options, fixture paths).

include_guard(GLOBAL)

# The environment of every test: sanitizer options from STYLE.md section 8 and the
# source-tree locations tests read fixtures from.
set(RP_TEST_ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1"
    "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0"
    "RP_TEST_DATA=${PROJECT_SOURCE_DIR}/tests/fixtures"
    "RP_SRC=${PROJECT_SOURCE_DIR}")

# rp_test_env(<test> [extra VAR=value ...]): give an already registered test the
# standard environment, plus any extra entries.
function(rp_test_env test)
    set_tests_properties(${test} PROPERTIES ENVIRONMENT "${RP_TEST_ENVIRONMENT};${ARGN}")
endfunction()

# rp_add_test(<name> SOURCES <src>... [LIBS <lib>...] [LABELS <label>...] [ENV <VAR=v>...])
#
# Builds executable <name> from SOURCES, links rapporteur_lib, cmocka and LIBS, adds the
# private src/ and tests/support/ include directories, and registers it as CTest test
# <name> with LABELS (default: unit) and the standard environment plus ENV.
function(rp_add_test name)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES;LIBS;LABELS;ENV")
    if(NOT ARG_SOURCES)
        message(FATAL_ERROR "rp_add_test(${name}): SOURCES is required")
    endif()
    if(NOT ARG_LABELS)
        set(ARG_LABELS unit)
    endif()

    add_executable(${name} ${ARG_SOURCES})
    rp_target_warnings(${name})
    target_include_directories(${name} PRIVATE "${PROJECT_SOURCE_DIR}/src"
                                               "${PROJECT_SOURCE_DIR}/tests/support")
    # Fallback for running the binary by hand, outside CTest.
    target_compile_definitions(${name}
        PRIVATE "RP_TEST_DATA_DEFAULT=\"${PROJECT_SOURCE_DIR}/tests/fixtures\"")
    target_link_libraries(${name} PRIVATE rapporteur_lib PkgConfig::CMOCKA ${ARG_LIBS})
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY
                                             "${PROJECT_BINARY_DIR}/tests")

    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
    rp_test_env(${name} ${ARG_ENV})
endfunction()
