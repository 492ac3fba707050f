# Cortex-M33: Armv8-M Mainline with DSP extension and FPv5 single precision.
set(TR_CPU_FLAGS "-mcpu=cortex-m33 -mfloat-abi=hard -mfpu=fpv5-sp-d16")
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
