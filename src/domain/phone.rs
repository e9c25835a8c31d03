//! Phone numbers as people write them, read into Wazzup's digits-only international form, and
//! masked for logs.

use std::fmt;
use std::str::FromStr;

use rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumber, PhoneNumberFormat, PhoneNumberType, Region};

/// Why a phone number was not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone could not be read as a phone number")]
    Unparseable,
    #[error("phone is not a valid number")]
    Invalid,
}

/// A valid phone number in Wazzup's form: the international number, digits only
/// (`+7 (926) 333-45-67` becomes `79263334567`).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

/// A phone in Wazzup's form read back (from a queued change): it must still be valid.
impl TryFrom<String> for Phone {
    type Error = PhoneError;

    fn try_from(digits: String) -> Result<Self, PhoneError> {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PhoneError::Unparseable);
        }
        Self::parse(&format!("+{digits}"), Region::RU)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> String {
        phone.0
    }
}

impl Phone {
    /// Parses a phone as people write it. Numbers without a leading `+` (or `00`-style
    /// international prefix) are read as national numbers of `default_region`.
    pub fn parse(raw: &str, default_region: Region) -> Result<Self, PhoneError> {
        let compact = compact(raw);
        let number = PhoneNumber::parse(compact.as_deref().unwrap_or(raw), Some(default_region))
            .map_err(|_| PhoneError::Unparseable)?;
        if !number.is_valid() {
            return Err(PhoneError::Invalid);
        }
        let e164 = number.format_as(PhoneNumberFormat::E164);
        let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
        Ok(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but its first two and last two digits hidden, for logs and
    /// messages: `79263334567` becomes `79*******67`.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

impl PhoneRegion {
    /// Loads the phone library's metadata and compiles what reading this region's numbers
    /// needs (its fixed-line and mobile patterns, written nationally and internationally), so
    /// that the first request carrying a phone does not pay for it: about 8 ms, once per
    /// container. Blocking; call at start, beside the other start-up work.
    pub fn warm_up(self) {
        for kind in [PhoneNumberType::FixedLine, PhoneNumberType::Mobile] {
            let Ok(example) =
                PHONE_NUMBER_UTIL.get_example_number_for_type_and_region(self.0, kind)
            else {
                continue;
            };
            for format in [PhoneNumberFormat::National, PhoneNumberFormat::E164] {
                let _ = Phone::parse(&example.format_as(format), self.0);
            }
        }
    }
}

/// The longest number (as written) read in its compact form, well inside the phone library's
/// own limit on what it reads at all (250 characters).
const COMPACT_MAX_LEN: usize = 40;

/// The fewest digits of a number read in its compact form: below that, how the library tells a
/// short number from no number at all may depend on the separators.
const COMPACT_MIN_DIGITS: usize = 7;

/// The number as `+` (when written with one) and its digits alone, when it is written only with
/// ASCII digits and the separators `( ) - .` and spaces: `+7 (926) 333-45-67` becomes
/// `+79263334567`. The phone library reads such a number by its digits alone too, but its
/// patterns (is it a number; does it carry an extension) run over every character written, and
/// reading a phone is most of a webhook's CPU (docs/performance.md): the compact form is the
/// same number for about a third less work. Anything else (letters, an extension, `tel:`,
/// other scripts, a second `+`) is read as written.
fn compact(raw: &str) -> Option<String> {
    let written = raw.trim();
    if written.len() > COMPACT_MAX_LEN {
        return None;
    }
    let (plus, rest) = match written.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", written),
    };
    let separator = |b: u8| matches!(b, b' ' | b'(' | b')' | b'-' | b'.');
    if !rest.bytes().all(|b| b.is_ascii_digit() || separator(b)) {
        return None;
    }
    let digits = rest.bytes().filter(u8::is_ascii_digit).count();
    if digits < COMPACT_MIN_DIGITS {
        return None;
    }
    let mut compact = String::with_capacity(plus.len() + digits);
    compact.push_str(plus);
    compact.extend(rest.chars().filter(char::is_ascii_digit));
    Some(compact)
}

/// Masks any phone-like text so that it can be logged: only the first two and last two
/// characters survive, and short input is hidden whole.
pub fn mask_phone(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 2 || i >= n - 2 { *c } else { '*' })
        .collect()
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// The phone region used for numbers written without a country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(pub Region);

impl FromStr for PhoneRegion {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let upper = s.trim().to_ascii_uppercase();
        Region::from_str(&upper)
            .map(PhoneRegion)
            .map_err(|_| format!("'{s}' is not an ISO 3166-1 alpha-2 region code such as RU or US"))
    }
}

impl Default for PhoneRegion {
    fn default() -> Self {
        PhoneRegion(Region::RU)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_become_wazzup_digits() {
        let ru = PhoneRegion::default().0;
        for (raw, want) in [
            ("+7 (926) 333-45-67", "79263334567"),
            ("8 (926) 123-45-67", "79261234567"),
            ("89261234567", "79261234567"),
            ("+7 495 555-35-35", "74955553535"),
            ("8-800-555-35-35", "78005553535"),
            ("+44 20 7183 8750", "442071838750"),
            ("+1 (202) 456-1111", "12024561111"),
        ] {
            assert_eq!(Phone::parse(raw, ru).unwrap().as_str(), want, "{raw}");
        }
    }

    /// What people paste from other systems: other digit scripts, a full-width plus,
    /// extensions, letters, `tel:` links and unusual separators. The phone library is built with
    /// regex-lite (see Cargo.toml): these read as they do with the full regex engine.
    #[test]
    fn phones_written_unusually_read_as_with_the_full_regex_engine() {
        let ru = PhoneRegion::default().0;
        for (raw, want) in [
            (
                "\u{FF0B}\u{FF17} \u{FF19}\u{FF12}\u{FF16} 333 45 67",
                Some("79263334567"),
            ),
            (
                "\u{0668}\u{0669}\u{0662}\u{0666}\u{0661}\u{0662}\u{0663}\u{0664}\u{0665}\u{0666}\u{0667}",
                Some("79261234567"),
            ),
            ("+7 926 333-45-67 ext. 123", Some("79263334567")),
            ("+7 926 333-45-67 доб. 5", Some("79263334567")),
            ("+1-800-FLOWERS", Some("18003569377")),
            ("tel:+7-926-333-45-67", Some("79263334567")),
            ("+7.926.333.45.67", Some("79263334567")),
            ("+7/926/333/45/67", Some("79263334567")),
            ("00 44 20 7183 8750", None),
            ("+7 926 333-45-6", None),
            ("++7 926 333 45 67", Some("79263334567")),
        ] {
            let got = Phone::parse(raw, ru).ok();
            assert_eq!(got.as_ref().map(Phone::as_str), want, "{raw}");
        }
    }

    /// The library's own reading of `raw`, without the compact form.
    fn as_written(raw: &str, region: Region) -> Result<String, PhoneError> {
        let number = PhoneNumber::parse(raw, Some(region)).map_err(|_| PhoneError::Unparseable)?;
        if !number.is_valid() {
            return Err(PhoneError::Invalid);
        }
        Ok(number
            .format_as(PhoneNumberFormat::E164)
            .chars()
            .filter(char::is_ascii_digit)
            .collect())
    }

    /// Reading a number in its compact form gives what reading it as written gives: the same
    /// number, or the same refusal, over numbers of several countries written in every way the
    /// compact form accepts, and over what it must leave alone.
    #[test]
    fn compact_numbers_read_as_written_numbers_do() {
        let numbers = [
            "79263334567",
            "89261234567",
            "74955553535",
            "88005553535",
            "442071838750",
            "4402071838750",
            "12024561111",
            "2024561111",
            "390612345678",
            "3906123456",
            "33612345678",
            "0612345678",
            "4915123456789",
            "8102071838750",
            "810442071838750",
            "7926333456",
            "792633345678",
            "70000000000",
            "1234567",
            "999999999999999999",
        ];
        let mut compacted = 0;
        for region in [Region::RU, Region::US, Region::GB, Region::IT, Region::DE] {
            for digits in numbers {
                let spaced: String = digits
                    .chars()
                    .enumerate()
                    .flat_map(|(i, c)| {
                        let sep = [" ", "-", ".", "", "(", ")"][i % 6];
                        sep.chars().chain(std::iter::once(c))
                    })
                    .collect();
                for raw in [
                    digits.to_owned(),
                    format!("+{digits}"),
                    format!("+ {digits}"),
                    format!("+({}) {}", &digits[..1], &digits[1..]),
                    format!(" {spaced} "),
                    format!("+{spaced}"),
                    format!("{spaced}-"),
                    format!("({}) {}", &digits[..3], &digits[3..]),
                    format!("{digits}.)"),
                    format!("++{digits}"),
                    format!("{digits} x12"),
                    format!("{digits}#"),
                    format!("{} {}", digits, " ".repeat(40)),
                ] {
                    compacted += usize::from(compact(&raw).is_some());
                    assert_eq!(
                        Phone::parse(&raw, region).map(|p| p.as_str().to_owned()),
                        as_written(&raw, region),
                        "{raw:?} in {region:?}"
                    );
                }
            }
        }
        assert!(
            compacted > 300,
            "the compact form was tried {compacted} times"
        );
        assert_eq!(
            compact("+7 (926) 333-45-67").as_deref(),
            Some("+79263334567")
        );
        assert_eq!(compact("8 926 333 45 67").as_deref(), Some("89263334567"));
        for left_alone in [
            "+7 926 333-45-67 ext. 123",
            "tel:+79263334567",
            "12-34",
            "++79263334567",
        ] {
            assert_eq!(compact(left_alone), None, "{left_alone}");
        }
    }

    #[test]
    fn warming_up_leaves_parsing_unchanged() {
        let ru = PhoneRegion::default();
        ru.warm_up();
        "us".parse::<PhoneRegion>().unwrap().warm_up();
        assert_eq!(
            Phone::parse("8 (926) 123-45-67", ru.0).unwrap().as_str(),
            "79261234567"
        );
    }

    #[test]
    fn default_region_decides_numbers_without_country_code() {
        let us = "us".parse::<PhoneRegion>().unwrap().0;
        assert_eq!(
            Phone::parse("(202) 456-1111", us).unwrap().as_str(),
            "12024561111"
        );
        assert!("Narnia".parse::<PhoneRegion>().is_err());
    }

    #[test]
    fn nonsense_phones_are_refused() {
        let ru = PhoneRegion::default().0;
        assert_eq!(Phone::parse("12", ru), Err(PhoneError::Invalid));
        assert_eq!(Phone::parse("12345", ru), Err(PhoneError::Invalid));
        assert!(Phone::parse("call me", ru).is_err());
        assert!(Phone::parse("", ru).is_err());
    }

    #[test]
    fn masked_phones_hide_the_middle() {
        let phone = Phone::parse("+7 (926) 333-45-67", Region::RU).unwrap();
        assert_eq!(phone.masked(), "79*******67");
        assert_eq!(format!("{phone:?}"), "Phone(79*******67)");
        assert_eq!(mask_phone("12345"), "*****");
    }
}
