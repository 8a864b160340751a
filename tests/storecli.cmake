# Tests of the store commands (keel data add/list/show/diff/get, runs, show,
# compare, lineage, fsck, gc, export, import): a small tracked-run program
# (keel_track_loop, until `keel train` exists) and the crash, full-disk and
# round-trip scripts under tests/store/. Include it from the top-level
# CMakeLists.txt inside if(BUILD_TESTING):
#
#     include(${PROJECT_SOURCE_DIR}/tests/storecli.cmake OPTIONAL)

add_executable(keel_track_loop ${CMAKE_CURRENT_LIST_DIR}/e2e/helpers/track_loop.c)
target_link_libraries(keel_track_loop PRIVATE keel_static)

set(_store_env "KEEL=$<TARGET_FILE:keel>;KEEL_TRACK_LOOP=$<TARGET_FILE:keel_track_loop>;KEEL_SOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}/..")

add_test(NAME store/cli-sqlite COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/store/cli.sh)
set_tests_properties(store/cli-sqlite PROPERTIES LABELS "store;quick" TIMEOUT 300
                     ENVIRONMENT "${_store_env}")

add_test(NAME store/crash-20 COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/store/crash.sh 20)
set_tests_properties(store/crash-20 PROPERTIES LABELS "store;quick" TIMEOUT 600
                     ENVIRONMENT "${_store_env}")
add_test(NAME store/crash-200 COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/store/crash.sh 200)
set_tests_properties(store/crash-200 PROPERTIES LABELS "store;long" TIMEOUT 1800
                     ENVIRONMENT "${_store_env}")

add_test(NAME store/full-disk COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/store/full_disk.sh)
set_tests_properties(store/full-disk PROPERTIES LABELS "store;quick" TIMEOUT 300
                     ENVIRONMENT "${_store_env}")

if(KEEL_TEST_PG)
  add_test(NAME store/cli-postgresql
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/pg_harness.sh
                   bash ${CMAKE_CURRENT_LIST_DIR}/store/cli.sh)
  set_tests_properties(store/cli-postgresql PROPERTIES LABELS "store;pg" TIMEOUT 600
                       ENVIRONMENT "${_store_env}")
endif()
