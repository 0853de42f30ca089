# LibTorch from the PyTorch wheel (the one LibTorch of this project; scripts/setup.sh installs it
# into .venv/). Defines the interface target hld_torch that every LibTorch part links.
#
#   HLD_TORCH_DIR  the wheel's package folder (…/site-packages/torch); by default asked of
#                  HLD_PYTHON (.venv/bin/python when it exists, else python3).
#
# With a CUDA toolkit on the machine (the GPU machine) the wheel's own TorchConfig is used: torch,
# torch_cuda, NCCL. Without one, find_package(Torch) stops in Caffe2's public/cuda.cmake, so the CPU
# build imports the two libraries it needs, libtorch_cpu and libc10, itself (never libtorch.so,
# which pulls libtorch_cuda.so), with the compile definitions torch_cpu declares in the wheel's
# Caffe2Targets.cmake. Gloo's headers (the wheel ships ProcessGroupGloo.hpp, not gloo/*.h) come
# from HLD_GLOO_INCLUDE_DIR (scripts/gloo_headers.sh unpacks the ones that match the wheel's gloo).

set(HLD_TORCH_MIN_VERSION 2.11)  # the pinned CPU wheel and the GPU machine's torch
set(HLD_TORCH_MAX_VERSION 2.13)  # LibTorch 2.14 needs C++20

if(NOT HLD_TORCH_DIR)
  if(NOT HLD_PYTHON)
    if(EXISTS "${CMAKE_SOURCE_DIR}/.venv/bin/python")
      set(HLD_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python")
    else()
      find_program(HLD_PYTHON NAMES python3 python REQUIRED)
    endif()
  endif()
  # find_spec, not import: importing torch loads its CUDA libraries, which the build does not need.
  execute_process(
    COMMAND "${HLD_PYTHON}" -c
            "import importlib.util as u, os; s = u.find_spec('torch'); print(os.path.dirname(s.origin) if s else '')"
    OUTPUT_VARIABLE HLD_TORCH_DIR OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _py_rc)
  if(NOT _py_rc EQUAL 0 OR NOT HLD_TORCH_DIR)
    message(FATAL_ERROR "No PyTorch wheel for ${HLD_PYTHON}: run scripts/setup.sh (it installs the pinned torch "
                        "of requirements.txt into .venv/), or pass -DHLD_TORCH_DIR=…/site-packages/torch")
  endif()
  set(HLD_TORCH_DIR "${HLD_TORCH_DIR}" CACHE PATH "the PyTorch wheel's package folder (site-packages/torch)")
endif()

file(STRINGS "${HLD_TORCH_DIR}/version.py" _tv REGEX "^__version__")  # '2.11.0+cu130'
string(REGEX MATCH "'([0-9]+\\.[0-9]+\\.[0-9]+)" _m "${_tv}")
set(HLD_TORCH_VERSION "${CMAKE_MATCH_1}")
string(REGEX MATCH "^[0-9]+\\.[0-9]+" _mm "${HLD_TORCH_VERSION}")
if(NOT HLD_TORCH_VERSION OR _mm VERSION_LESS HLD_TORCH_MIN_VERSION OR _mm VERSION_GREATER HLD_TORCH_MAX_VERSION)
  message(FATAL_ERROR "LibTorch ${HLD_TORCH_VERSION} in ${HLD_TORCH_DIR}: hld-train supports "
                      "${HLD_TORCH_MIN_VERSION} to ${HLD_TORCH_MAX_VERSION} (requirements.txt pins the tested one)")
endif()

add_library(hld_torch INTERFACE)
find_package(CUDAToolkit QUIET)
if(CUDAToolkit_FOUND AND EXISTS "${HLD_TORCH_DIR}/lib/libtorch_cuda.so")
  list(APPEND CMAKE_PREFIX_PATH "${HLD_TORCH_DIR}/share/cmake")
  find_package(Torch REQUIRED)
  target_link_libraries(hld_torch INTERFACE ${TORCH_LIBRARIES})
  set(HLD_TORCH_CUDA ON)
else()
  set(_lib "${HLD_TORCH_DIR}/lib")
  add_library(hld_c10 SHARED IMPORTED)
  set_target_properties(hld_c10 PROPERTIES IMPORTED_LOCATION "${_lib}/libc10.so")
  add_library(hld_torch_cpu SHARED IMPORTED)
  set_target_properties(hld_torch_cpu PROPERTIES IMPORTED_LOCATION "${_lib}/libtorch_cpu.so")
  # torch_cpu's own interface definitions (USE_DISTRIBUTED, USE_C10D_GLOO, ...), as the wheel lists them.
  file(STRINGS "${HLD_TORCH_DIR}/share/cmake/Caffe2/Caffe2Targets.cmake" _defs
       REGEX "INTERFACE_COMPILE_DEFINITIONS \"USE_DISTRIBUTED")
  string(REGEX MATCH "\"([^\"]*)\"" _m "${_defs}")
  target_compile_definitions(hld_torch INTERFACE ${CMAKE_MATCH_1})
  target_include_directories(hld_torch SYSTEM INTERFACE "${HLD_TORCH_DIR}/include"
                                                         "${HLD_TORCH_DIR}/include/torch/csrc/api/include")
  target_link_libraries(hld_torch INTERFACE hld_torch_cpu hld_c10)
  set(HLD_TORCH_CUDA OFF)
endif()
# The wheel is built with the C++11 ABI (as Debian's libraries are).
target_compile_definitions(hld_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)

# The wheel bundles fmt 12 headers in its include folder; spdlog (Debian) is built against Debian's
# fmt 9. A folder ahead of the wheel's headers makes <fmt/...> mean Debian's fmt everywhere.
if(TARGET fmt::fmt)
  get_target_property(HLD_FMT_INCLUDE_DIR fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
endif()
if(NOT HLD_FMT_INCLUDE_DIR OR NOT EXISTS "${HLD_FMT_INCLUDE_DIR}/fmt/format.h")
  find_path(HLD_FMT_INCLUDE_DIR fmt/format.h REQUIRED)
endif()
set(_fmt_first "${CMAKE_BINARY_DIR}/fmt-first")
file(MAKE_DIRECTORY "${_fmt_first}")
file(CREATE_LINK "${HLD_FMT_INCLUDE_DIR}/fmt" "${_fmt_first}/fmt" SYMBOLIC)
target_include_directories(hld_torch BEFORE INTERFACE "${_fmt_first}")

# c10d: Gloo on CPU needs gloo's headers, matching the wheel's gloo.
set(_pg "${HLD_TORCH_DIR}/include/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp")
if(EXISTS "${_pg}")
  find_path(HLD_GLOO_INCLUDE_DIR gloo/rendezvous/store.h
            PATHS "${CMAKE_SOURCE_DIR}/.deps/gloo/root/usr/include" NO_DEFAULT_PATH)
  if(NOT HLD_GLOO_INCLUDE_DIR)
    message(FATAL_ERROR "gloo headers matching the wheel's gloo are missing: run scripts/gloo_headers.sh "
                        "(or pass -DHLD_GLOO_INCLUDE_DIR=DIR holding gloo/)")
  endif()
  target_include_directories(hld_torch SYSTEM INTERFACE "${HLD_GLOO_INCLUDE_DIR}")
  target_compile_definitions(hld_torch INTERFACE USE_C10D_GLOO=1 USE_DISTRIBUTED=1)
endif()
message(STATUS "LibTorch ${HLD_TORCH_VERSION} from ${HLD_TORCH_DIR} (CUDA: ${HLD_TORCH_CUDA})")
