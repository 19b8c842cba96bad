//! Real voices shipped by Debian packages, found under `/usr/share` when installed:
//!
//! | package(s)                          | folder                                          | speaker id                 |
//! |-------------------------------------|-------------------------------------------------|----------------------------|
//! | `asterisk-core-sounds-en-wav`       | `asterisk/sounds/en_US_f_Allison`               | `asterisk-allison`         |
//! | `asterisk-core-sounds-es-wav`       | `asterisk/sounds/es_MX_f_Allison`               | `asterisk-allison`         |
//! | `asterisk-core-sounds-fr-wav`       | `asterisk/sounds/fr_CA_f_June`                  | `asterisk-june`            |
//! | `asterisk-core-sounds-it-wav`       | `asterisk/sounds/it_IT_m_Carlo`                 | `asterisk-carlo`           |
//! | `asterisk-core-sounds-ru-wav`       | `asterisk/sounds/ru_RU_f_IvrvoiceRU`            | `asterisk-ivrvoiceru`      |
//! | `klettres-data`                     | `klettres/<lang>/{alpha,syllab}`                | `klettres-<lang>`          |
//! | `ktuberling-data`                   | `ktuberling/sounds/<lang>[@variant]`            | `ktuberling-<lang>`        |
//!
//! Asterisk voice folders are named `<locale>_<f|m>_<Name>`; the speaker id is `asterisk-` plus
//! the lower-cased name, so the English and Spanish prompts (both recorded by Allison Smith,
//! per the packages' copyright files) share one speaker; French is June Wallack, Italian Carlo
//! Flora, Russian the ivrvoice.ru voice. The language symlinks (`en`, `en_US`, ...) are skipped,
//! and so are the non-speech prompts (tones, beeps, `tt-monkeys`, `silence/`). KLettres and
//! KTuberling have one voice per language folder (an assumption: the packages do not credit
//! speakers); KTuberling's script variants (`sr@latin`, `sr@ijekavian`, ...) are one speaker,
//! and byte-identical files within a voice are kept once. Asterisk is 8 kHz and the KDE sounds
//! 44.1 kHz: load them with [`crate::speech::audio::load_mono`] to get 16 kHz.

mod discover;

pub use discover::{
    discover_debian_voices, installed_debian_voices, DebianVoices, VoiceSet, DEBIAN_PACKAGES,
    DEFAULT_DEBIAN_ROOT,
};
