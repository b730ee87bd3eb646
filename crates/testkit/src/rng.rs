/// splitmix64 (Steele, Lea and Flood): small, seeded, the same everywhere.
///
/// `Rng::new(seed)` starts from `seed` itself; callers that want a stream
/// different from another test's for the same seed mix the seed themselves.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub const fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    // Not `Iterator::next`: the stream never ends, and every call site
    // would unwrap.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`, up to a modulo bias that is irrelevant for the
    /// small `n` tests use. `n` must not be 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A fair coin: the lowest bit of the next value.
    pub fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// The reference splitmix64 stream (Vigna's splitmix64.c) for seed 1234567.
    #[test]
    fn matches_the_reference_stream() {
        let mut r = Rng::new(1234567);
        let got: Vec<u64> = (0..5).map(|_| r.next()).collect();
        assert_eq!(
            got,
            [
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821,
            ]
        );
        assert_eq!(Rng::new(0).next(), 0xe220_a839_7b1d_cdaf);
    }

    /// Every helper is a function of `next`, so a seed gives one sequence
    /// whichever helpers a test calls.
    #[test]
    fn helpers_draw_one_value_each() {
        let mut plain = Rng::new(42);
        let mut r = Rng::new(42);
        assert_eq!(r.below(10), plain.next() % 10);
        assert_eq!(*r.pick(&[1, 2, 3]), [1, 2, 3][(plain.next() % 3) as usize]);
        assert_eq!(r.bool(), plain.next() & 1 == 1);
        assert_eq!(r.chance(30), plain.next() % 100 < 30);
        assert_eq!(r.next(), plain.next());
    }

    #[test]
    fn below_stays_below() {
        let mut r = Rng::new(7);
        for n in 1..100 {
            assert!(r.below(n) < n);
        }
        assert!((0..1000).all(|_| !r.chance(0) && r.chance(100)));
    }
}
