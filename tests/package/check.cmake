# The installed package, component by component: installs the build tree into WORK/prefix and
# builds and runs tests/package's consumer against each component in COMPONENTS. The core
# consumer is configured with nlohmann_json, ZLIB and LibArchive hidden from CMake: a program
# that only trains models needs Eigen alone.
#   cmake -DBUILD=<build dir> -DSOURCE=<contra source> -DWORK=<scratch dir> -DCOMPONENTS="core data io" -P check.cmake
foreach(var BUILD SOURCE WORK COMPONENTS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check.cmake: pass -D${var}=...")
  endif()
endforeach()
string(REPLACE " " ";" COMPONENTS "${COMPONENTS}")
file(REMOVE_RECURSE "${WORK}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD}" --prefix "${WORK}/prefix"
                OUTPUT_QUIET RESULT_VARIABLE failed)
if(failed)
  message(FATAL_ERROR "cmake --install failed")
endif()
foreach(component IN LISTS COMPONENTS)
  set(hidden "")
  if(component STREQUAL "core")
    set(hidden -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=ON
               -DCMAKE_DISABLE_FIND_PACKAGE_LibArchive=ON)
  endif()
  set(dir "${WORK}/${component}")
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}/tests/package" -B "${dir}" -G Ninja
                          -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O0 -DCMAKE_PREFIX_PATH=${WORK}/prefix
                          -DCOMPONENT=${component} -DCMAKE_CUDA_ARCHITECTURES=90 ${hidden}
                  RESULT_VARIABLE failed OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(failed)
    message(FATAL_ERROR "${component}: configuring the consumer failed:\n${out}")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --build "${dir}" RESULT_VARIABLE failed OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(failed)
    message(FATAL_ERROR "${component}: building the consumer failed:\n${out}")
  endif()
  execute_process(COMMAND "${dir}/consumer" RESULT_VARIABLE failed OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(failed)
    message(FATAL_ERROR "${component}: the consumer failed:\n${out}")
  endif()
  message("${out}")
endforeach()
