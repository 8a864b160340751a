# No raw PII in the store (issue 4, item 9): `keel data add` under a hash and
# a redact policy, then every object decompressed and the database read raw,
# searched for each PII value of the input (tests/pii_store/run.sh). Uses the
# zstd program when installed, else compiles a small decompressor on libzstd.
# CMakeLists.txt includes every tests/*.cmake inside if(BUILD_TESTING).
add_test(NAME pii/store-no-raw-values
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/pii_store/run.sh $<TARGET_FILE:keel>)
set_tests_properties(pii/store-no-raw-values PROPERTIES LABELS "pii;quick" TIMEOUT 300)
