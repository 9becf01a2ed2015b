# The layers of include/contra (docs/architecture.md): a header may include headers of its own
# folder and of folders on lower layers, never one on its own layer or above. Folders on one layer
# are peers and do not know each other.
#   cmake -DROOT=<source dir> -P tests/check_layers.cmake
# Prints every include that breaks the order and fails if there is one.
set(contra_layers
  "core"
  "backend"
  "autograd"
  "nn loss optim data report search"
  "dist eval"
  "model"
  "io train bench"
  "tasks"
  "run")
# The umbrella headers (contra.hpp, cuda.hpp) sit above everything. Above backend/, code sees only
# the op contract (backend/ops.hpp): the implementations (backend/eigen, backend/reference) are
# included by the umbrellas alone, and backend/cuda only by CUDA headers (.cuh).

if(NOT ROOT)
  message(FATAL_ERROR "check_layers.cmake: pass -DROOT=<contra's source folder>")
endif()
set(include_root "${ROOT}/include/contra")

set(level 0)
foreach(layer IN LISTS contra_layers)
  string(REPLACE " " ";" folders "${layer}")
  foreach(folder IN LISTS folders)
    set(level_of_${folder} ${level})
  endforeach()
  math(EXPR level "${level} + 1")
endforeach()
string(REPLACE ";" " | " all_layers "${contra_layers}")

file(GLOB_RECURSE headers RELATIVE "${include_root}" "${include_root}/*.hpp" "${include_root}/*.cuh")
set(violations 0)
foreach(header IN LISTS headers)
  string(REGEX MATCH "^[^/]+" folder "${header}")
  if(folder STREQUAL header)  # contra.hpp, cuda.hpp: the umbrellas
    continue()
  endif()
  if(NOT DEFINED level_of_${folder})
    message(SEND_ERROR "${header}: the folder '${folder}' has no layer in tests/check_layers.cmake")
    math(EXPR violations "${violations} + 1")
    continue()
  endif()
  get_filename_component(dir "${include_root}/${header}" DIRECTORY)
  file(STRINGS "${include_root}/${header}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
  foreach(line IN LISTS lines)
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+)\"")
      get_filename_component(target "${dir}/${CMAKE_MATCH_1}" ABSOLUTE)
    elseif(line MATCHES "#[ \t]*include[ \t]*<contra/([^>]+)>")
      set(target "${include_root}/${CMAKE_MATCH_1}")
    else()
      continue()  # a system or third-party header
    endif()
    file(RELATIVE_PATH included "${include_root}" "${target}")
    string(REGEX MATCH "^[^/]+" target_folder "${included}")
    if(included MATCHES "^backend/(eigen|reference|cuda)/" AND NOT folder STREQUAL "backend")
      if(NOT (CMAKE_MATCH_1 STREQUAL "cuda" AND header MATCHES "\\.cuh$"))
        message("${header} includes ${included}: above backend/, only the op contract (backend/ops.hpp)")
        math(EXPR violations "${violations} + 1")
      endif()
    endif()
    if(target_folder STREQUAL folder)
      continue()
    endif()
    if(target_folder STREQUAL included OR NOT DEFINED level_of_${target_folder})
      message("${header} includes ${included}: an umbrella or unknown header")
      math(EXPR violations "${violations} + 1")
    elseif(NOT level_of_${target_folder} LESS level_of_${folder})
      message("${header} includes ${included}: ${target_folder}/ is not below ${folder}/")
      math(EXPR violations "${violations} + 1")
    endif()
  endforeach()
endforeach()

if(violations GREATER 0)
  message(FATAL_ERROR "${violations} include(s) break the layer order (bottom to top: ${all_layers})")
endif()
list(LENGTH headers count)
message("layers: ${count} headers, every include points to its own folder or a lower layer")
