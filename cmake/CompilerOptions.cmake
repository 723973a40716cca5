# CompilerOptions.cmake -- the language level, default build type and warnings of every
# tidegate build; included by the top-level CMakeLists.txt and by bots/ built standalone.
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

# Warnings are errors in the project's own builds (scripts/test turns this on); off by
# default so that a user's build never fails on a newer compiler's warning.
option(TG_WERROR "Treat warnings as errors" OFF)
add_compile_options(-Wall -Wextra)
if(TG_WERROR)
  add_compile_options(-Werror)
endif()
