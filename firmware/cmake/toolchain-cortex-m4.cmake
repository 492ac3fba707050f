# Cortex-M4F: Armv7E-M with DSP instructions and a single-precision FPU.
set(TR_CPU_FLAGS "-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16")
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
