package generator

// javaRandom is java.util.Random's linear congruential generator, so that the
// generator draws the same numbers, in the same order, as Beam's and Flink's
// Nexmark generators, which seed a java.util.Random with each event's id.
type javaRandom struct{ seed int64 }

const (
	lcgMultiplier = 0x5DEECE66D
	lcgAddend     = 0xB
	lcgMask       = 1<<48 - 1
)

func newJavaRandom(seed int64) javaRandom {
	return javaRandom{seed: (seed ^ lcgMultiplier) & lcgMask}
}

// next returns the next bits random bits (Random.next).
func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*lcgMultiplier + lcgAddend) & lcgMask
	return int32(uint64(r.seed) >> (48 - bits))
}

// nextInt returns a uniform int32 (Random.nextInt()).
func (r *javaRandom) nextInt() int32 { return r.next(32) }

// nextIntN returns a uniform value in [0, bound) (Random.nextInt(bound)); bound > 0.
func (r *javaRandom) nextIntN(bound int32) int32 {
	v := r.next(31)
	m := bound - 1
	if bound&m == 0 { // a power of two
		return int32((int64(bound) * int64(v)) >> 31)
	}
	// Reject the values of the last, partial run of bound; int32 arithmetic
	// wraps as Java's does, which is how the rejection test works there.
	for u := v; ; u = r.next(31) {
		v = u % bound
		if u-v+m >= 0 {
			return v
		}
	}
}

// nextInt64 returns a uniform int64 (Random.nextLong()).
func (r *javaRandom) nextInt64() int64 {
	return int64(r.next(32))<<32 + int64(r.next(32))
}

// nextFloat64 returns a uniform value in [0, 1) (Random.nextDouble()).
func (r *javaRandom) nextFloat64() float64 {
	return float64(int64(r.next(26))<<27+int64(r.next(27))) * (1.0 / (1 << 53))
}

// nextLong is Beam's LongGenerator.nextLong: a value in [0, n), n > 0.
func (r *javaRandom) nextLong(n int64) int64 {
	if n < 1<<31-1 {
		return int64(r.nextIntN(int32(n)))
	}
	v := r.nextInt64() % n // Beam's (skewed) fallback for huge ranges
	if v < 0 {
		v = -v
	}
	return v
}
