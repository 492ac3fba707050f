# Cortex-M55: Armv8.1-M with Helium (MVE integer and float); -mcpu=cortex-m55 enables MVE.
set(TR_CPU_FLAGS "-mcpu=cortex-m55 -mfloat-abi=hard")
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
