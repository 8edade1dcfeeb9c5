/*
 * endian.h - big-endian (network order) integers in byte buffers.
 *
 * The binary frames of the protocol (update and diagnostic chunks) and the
 * rollout hash read and write their integers most significant byte first.
 * These helpers work byte by byte, so they need no alignment and give the
 * same bytes on any host. p must hold 2, 4 or 8 bytes.
 */
#ifndef PF_ENDIAN_H
#define PF_ENDIAN_H

#include <stdint.h>

static inline uint16_t pf_load_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t pf_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t pf_load_be64(const uint8_t *p)
{
    return (uint64_t)pf_load_be32(p) << 32 | pf_load_be32(p + 4);
}

static inline void pf_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void pf_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void pf_store_be64(uint8_t *p, uint64_t v)
{
    pf_store_be32(p, (uint32_t)(v >> 32));
    pf_store_be32(p + 4, (uint32_t)v);
}

#endif
