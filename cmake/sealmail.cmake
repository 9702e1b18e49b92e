# sealmail_component(NAME DEPS <targets...> [TEST_DEPS <targets...>])
#
# One static library per folder under src/: every *.cc in the folder that is not
# a *_test.cc or *_fuzz.cc. Tests are the folder's *_test.cc files, built into one
# gtest binary <name>_test registered with CTest. Linking only the listed DEPS
# keeps the layering of ../shared/DESIGN.md honest: a call into a higher tier
# fails to link.
function(sealmail_component name)
  cmake_parse_arguments(C "" "" "DEPS;TEST_DEPS" ${ARGN})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "_(test|fuzz)\\.cc$")
  add_library(sm_${name} STATIC ${srcs})
  target_include_directories(sm_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(sm_${name} PUBLIC ${C_DEPS})
  if(SEALMAIL_TESTS)
    file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
    if(tests)
      add_executable(${name}_test ${tests})
      target_link_libraries(${name}_test PRIVATE sm_${name} ${C_TEST_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
      target_compile_definitions(${name}_test PRIVATE
        SEALMAIL_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
        SEALMAIL_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
      gtest_discover_tests(${name}_test DISCOVERY_TIMEOUT 60
        PROPERTIES ENVIRONMENT "SEALMAIL_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
    endif()
  endif()
endfunction()
