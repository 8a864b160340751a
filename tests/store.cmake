# Store tests on PostgreSQL.
#
# The unit-test glob already runs tests/unit/store/test_meta on SQLite, where
# its PostgreSQL half is skipped (KEEL_TEST_PG_URL unset). This file adds the
# same binary once more under tests/pg_harness.sh, which starts a throwaway
# PostgreSQL server (as the postgres user when run as root), exports
# KEEL_TEST_PG_URL, runs the test and stops and removes the server afterwards.
#
# Include it from the top-level CMakeLists.txt inside if(BUILD_TESTING), after
# the unit-test loop (the test_meta target must exist):
#
#     include(${PROJECT_SOURCE_DIR}/tests/store.cmake)
#
# Configure with -DKEEL_TEST_PG=OFF on a machine without a PostgreSQL server
# package; PG_BINDIR (environment) points the harness at another install.

option(KEEL_TEST_PG "Run the store tests on a throwaway PostgreSQL server too" ON)

# The SIGKILL test with 200 kills on each backend (the unit run does 20),
# labelled "long" so a quick run can leave it out (ctest -LE long).
if(TARGET test_meta)
  if(KEEL_TEST_PG)
    set(_crash_cmd bash ${CMAKE_CURRENT_LIST_DIR}/pg_harness.sh $<TARGET_FILE:test_meta>)
  else()
    set(_crash_cmd $<TARGET_FILE:test_meta>)
  endif()
  add_test(NAME store/sigkill-200 COMMAND ${_crash_cmd})
  set_tests_properties(store/sigkill-200 PROPERTIES
                       LABELS "long;pg"
                       TIMEOUT 900
                       ENVIRONMENT "KEEL_TEST_CRASH_ITERATIONS=200;KEEL_TEST_FILTER=*sigkill*")
endif()

if(KEEL_TEST_PG AND TARGET test_meta)
  add_test(NAME unit/store/test_meta_pg
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/pg_harness.sh $<TARGET_FILE:test_meta>)
  set_tests_properties(unit/store/test_meta_pg PROPERTIES
                       LABELS "unit;pg"
                       TIMEOUT 600
                       ENVIRONMENT "KEEL_SOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}/..")
endif()
