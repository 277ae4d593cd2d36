//! Secret generation.

use rand::distr::{Alphanumeric, SampleString};

use super::Secret;

/// Length of generated secrets: 40 alphanumerics carry about 238 bits.
pub const GENERATED_LENGTH: usize = 40;

/// A fresh random secret from the thread-local CSPRNG (ChaCha, seeded from the OS).
/// Alphanumeric only, so it needs no escaping anywhere; escaping still covers user-supplied values.
pub fn generate() -> Secret {
    Secret::new(Alphanumeric.sample_string(&mut rand::rng(), GENERATED_LENGTH))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::validate_value;

    #[test]
    fn generated_secrets_are_long_unique_and_valid() {
        let a = generate();
        let b = generate();
        assert_eq!(a.expose().len(), GENERATED_LENGTH);
        assert_ne!(a, b);
        assert!(validate_value(a.expose(), true).is_empty());
    }
}
