# Tests beyond the unit tests: end-to-end cases on the real binary, and the
# check that every command's --help matches its page in docs/cli/.
add_test(NAME e2e/cases COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/run.sh $<TARGET_FILE:keel>)
add_test(NAME e2e/help-docs COMMAND bash ${PROJECT_SOURCE_DIR}/tests/e2e/help_docs.sh $<TARGET_FILE:keel>)
add_test(NAME lint/banned COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lint_banned.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(e2e/cases e2e/help-docs lint/banned PROPERTIES LABELS "e2e;quick")
# (Not under sanitizers: a plain program cannot link an instrumented libkeel.so.)
if(NOT KEEL_SANITIZE)
  add_test(NAME install/prefix
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install_test.sh ${PROJECT_BINARY_DIR})
  set_tests_properties(install/prefix PROPERTIES LABELS "install")
endif()
add_test(NAME lint/umbrella COMMAND bash ${PROJECT_SOURCE_DIR}/tests/lint_umbrella.sh ${PROJECT_SOURCE_DIR})
set_tests_properties(lint/umbrella PROPERTIES LABELS "quick")
