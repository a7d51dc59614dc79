/* b4k: bert4keras for the Unix shell. Umbrella version header. */
#ifndef B4K_H
#define B4K_H

#define B4K_VERSION "0.1.0"

#endif
