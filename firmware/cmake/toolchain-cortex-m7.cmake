# Cortex-M7: Armv7E-M with DSP; FPv5 single precision is common to every M7 part (the double
# precision unit of some parts is not needed: the audio path is fixed point).
set(TR_CPU_FLAGS "-mcpu=cortex-m7 -mfloat-abi=hard -mfpu=fpv5-sp-d16")
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
