/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF): the same value
   as zlib's crc32(), which the host side uses as its independent reference. */
#ifndef TR_CRC32_H
#define TR_CRC32_H
#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: pass crc = 0 for a new message, then the previous return value. */
uint32_t tr_crc32_update(uint32_t crc, const uint8_t *data, size_t n);

#endif
