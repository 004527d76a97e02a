# A small seeded random generator for the simulated world, identical in
# CPython and MicroPython: a 32-bit xorshift in integers, and a Gaussian made
# from integers only (the sum of eight 16-bit uniforms, an Irwin-Hall
# approximation with tails to +-4.9 sigma), so the same seed gives the same
# noise, bit for bit, in both interpreters.  Fakes draw their noise into
# tables once at construction and read the tables in the fast path.
#
# Usage:
#     rng = Rng(42)
#     rng.uniform()                 # [0, 1)
#     rng.gauss()                   # mean 0, standard deviation 1
#     table = rng.gauss_table(4093, sigma=2.5)

_M32 = 0xFFFFFFFF
# standard deviation of a sum of eight uniforms on 0..65535, doubled (see gauss)
_IH_SCALE = 2.0 * 53510.98113804296
_IH_MEAN2 = 8 * 65535


class Rng:
    def __init__(self, seed=1):
        # splitmix-style scramble so nearby seeds give unrelated streams
        z = (int(seed) * 0x9E3779B9 + 0x7F4A7C15) & _M32
        z = ((z ^ (z >> 16)) * 0x85EBCA6B) & _M32
        z = ((z ^ (z >> 13)) * 0xC2B2AE35) & _M32
        z ^= z >> 16
        self._x = z or 0x6D2B79F5

    def next_u32(self):
        x = self._x
        x ^= (x << 13) & _M32
        x ^= x >> 17
        x ^= (x << 5) & _M32
        self._x = x
        return x

    def uniform(self):
        """A float in [0, 1)."""
        return self.next_u32() / 4294967296.0

    def uniform_range(self, lo, hi):
        return lo + (hi - lo) * self.uniform()

    def randint(self, lo, hi):
        """An int in [lo, hi] (inclusive)."""
        return lo + self.next_u32() % (hi - lo + 1)

    def gauss(self):
        """Approximately standard normal; exactly reproducible across interpreters."""
        s = 0
        for _ in range(4):
            u = self.next_u32()
            s += (u & 0xFFFF) + (u >> 16)
        return (2 * s - _IH_MEAN2) / _IH_SCALE

    def gauss_table(self, n, sigma=1.0):
        """A list of n Gaussian values with standard deviation sigma."""
        return [self.gauss() * sigma for _ in range(n)]
