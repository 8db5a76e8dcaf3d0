/** LINKTYPE_* values (tcpdump.org link-layer header types) that wardwatch decodes. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** DLT_RAW as written by some systems (12 on most, 14 on OpenBSD) instead of LINKTYPE_RAW. */
export const DLT_RAW_12 = 12;
export const DLT_RAW_14 = 14;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;
