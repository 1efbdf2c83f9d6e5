//! CEF extension keys to columns: the key table (AMA's mapping), the fast lookup by short keys,
//! and the columns the special rules read back.

use super::*;

/// CEF key → (column, its index in [`COLUMNS`]): a perfect-hash map, as this lookup runs for
/// every key of every record. Keys handled by special rules (`deviceDirection`, `externalId`,
/// `cn1`–`cn3`) map to the column they fill first. A test checks every index against its name.
pub(super) static KEYS: phf::Map<&'static str, (&'static str, usize)> = phf::phf_map! {
    "act" => ("DeviceAction", 0),
    "app" => ("ApplicationProtocol", 1),
    "c6a1" => ("DeviceCustomIPv6Address1", 103),
    "c6a1Label" => ("DeviceCustomIPv6Address1Label", 107),
    "c6a2" => ("DeviceCustomIPv6Address2", 104),
    "c6a2Label" => ("DeviceCustomIPv6Address2Label", 108),
    "c6a3" => ("DeviceCustomIPv6Address3", 105),
    "c6a3Label" => ("DeviceCustomIPv6Address3Label", 109),
    "c6a4" => ("DeviceCustomIPv6Address4", 106),
    "c6a4Label" => ("DeviceCustomIPv6Address4Label", 110),
    "cat" => ("DeviceEventCategory", 2),
    "cfp1" => ("DeviceCustomFloatingPoint1", 95),
    "cfp1Label" => ("DeviceCustomFloatingPoint1Label", 99),
    "cfp2" => ("DeviceCustomFloatingPoint2", 96),
    "cfp2Label" => ("DeviceCustomFloatingPoint2Label", 100),
    "cfp3" => ("DeviceCustomFloatingPoint3", 97),
    "cfp3Label" => ("DeviceCustomFloatingPoint3Label", 101),
    "cfp4" => ("DeviceCustomFloatingPoint4", 98),
    "cfp4Label" => ("DeviceCustomFloatingPoint4Label", 102),
    "cn1" => ("FieldDeviceCustomNumber1", 89),
    "cn1Label" => ("DeviceCustomNumber1Label", 92),
    "cn2" => ("FieldDeviceCustomNumber2", 90),
    "cn2Label" => ("DeviceCustomNumber2Label", 93),
    "cn3" => ("FieldDeviceCustomNumber3", 91),
    "cn3Label" => ("DeviceCustomNumber3Label", 94),
    "cnt" => ("EventCount", 3),
    "cs1" => ("DeviceCustomString1", 77),
    "cs1Label" => ("DeviceCustomString1Label", 83),
    "cs2" => ("DeviceCustomString2", 78),
    "cs2Label" => ("DeviceCustomString2Label", 84),
    "cs3" => ("DeviceCustomString3", 79),
    "cs3Label" => ("DeviceCustomString3Label", 85),
    "cs4" => ("DeviceCustomString4", 80),
    "cs4Label" => ("DeviceCustomString4Label", 86),
    "cs5" => ("DeviceCustomString5", 81),
    "cs5Label" => ("DeviceCustomString5Label", 87),
    "cs6" => ("DeviceCustomString6", 82),
    "cs6Label" => ("DeviceCustomString6Label", 88),
    "destinationDnsDomain" => ("DestinationDnsDomain", 4),
    "destinationServiceName" => ("DestinationServiceName", 5),
    "destinationTranslatedAddress" => ("DestinationTranslatedAddress", 6),
    "destinationTranslatedPort" => ("DestinationTranslatedPort", 7),
    "deviceCustomDate1" => ("DeviceCustomDate1", 111),
    "deviceCustomDate1Label" => ("DeviceCustomDate1Label", 113),
    "deviceCustomDate2" => ("DeviceCustomDate2", 112),
    "deviceCustomDate2Label" => ("DeviceCustomDate2Label", 114),
    "deviceDirection" => ("CommunicationDirection", 128),
    "deviceDnsDomain" => ("DeviceDnsDomain", 8),
    "deviceExternalId" => ("DeviceExternalID", 9),
    "deviceFacility" => ("DeviceFacility", 10),
    "deviceInboundInterface" => ("DeviceInboundInterface", 11),
    "deviceNtDomain" => ("DeviceNtDomain", 12),
    "deviceOutboundInterface" => ("DeviceOutboundInterface", 13),
    "devicePayloadId" => ("DevicePayloadId", 14),
    "deviceProcessName" => ("ProcessName", 15),
    "deviceTranslatedAddress" => ("DeviceTranslatedAddress", 16),
    "dhost" => ("DestinationHostName", 17),
    "dmac" => ("DestinationMACAddress", 18),
    "dntdom" => ("DestinationNTDomain", 19),
    "dpid" => ("DestinationProcessId", 20),
    "dpriv" => ("DestinationUserPrivileges", 21),
    "dproc" => ("DestinationProcessName", 22),
    "dpt" => ("DestinationPort", 23),
    "dst" => ("DestinationIP", 24),
    "dtz" => ("DeviceTimeZone", 25),
    "duid" => ("DestinationUserID", 26),
    "duser" => ("DestinationUserName", 27),
    "dvc" => ("DeviceAddress", 28),
    "dvchost" => ("DeviceName", 29),
    "dvcmac" => ("DeviceMacAddress", 30),
    "dvcpid" => ("ProcessID", 31),
    "end" => ("EndTime", 126),
    "externalId" => ("ExtID", 127),
    "fileCreateTime" => ("FileCreateTime", 59),
    "fileHash" => ("FileHash", 60),
    "fileId" => ("FileID", 61),
    "fileModificationTime" => ("FileModificationTime", 62),
    "filePath" => ("FilePath", 63),
    "filePermission" => ("FilePermission", 64),
    "fileType" => ("FileType", 65),
    "flexDate1" => ("FlexDate1", 115),
    "flexDate1Label" => ("FlexDate1Label", 116),
    "flexNumber1" => ("FlexNumber1", 117),
    "flexNumber1Label" => ("FlexNumber1Label", 119),
    "flexNumber2" => ("FlexNumber2", 118),
    "flexNumber2Label" => ("FlexNumber2Label", 120),
    "flexString1" => ("FlexString1", 121),
    "flexString1Label" => ("FlexString1Label", 123),
    "flexString2" => ("FlexString2", 122),
    "flexString2Label" => ("FlexString2Label", 124),
    "fname" => ("FileName", 66),
    "fsize" => ("FileSize", 67),
    "in" => ("ReceivedBytes", 32),
    "msg" => ("Message", 34),
    "oldFileCreateTime" => ("OldFileCreateTime", 68),
    "oldFileHash" => ("OldFileHash", 69),
    "oldFileId" => ("OldFileID", 70),
    "oldFileModificationTime" => ("OldFileModificationTime", 71),
    "oldFileName" => ("OldFileName", 72),
    "oldFilePath" => ("OldFilePath", 73),
    "oldFilePermission" => ("OldFilePermission", 74),
    "oldFileSize" => ("OldFileSize", 75),
    "oldFileType" => ("OldFileType", 76),
    "out" => ("SentBytes", 33),
    "outcome" => ("EventOutcome", 35),
    "proto" => ("Protocol", 36),
    "reason" => ("Reason", 37),
    "request" => ("RequestURL", 38),
    "requestClientApplication" => ("RequestClientApplication", 39),
    "requestContext" => ("RequestContext", 40),
    "requestCookies" => ("RequestCookies", 41),
    "requestMethod" => ("RequestMethod", 42),
    "rt" => ("ReceiptTime", 43),
    "shost" => ("SourceHostName", 44),
    "smac" => ("SourceMACAddress", 45),
    "sntdom" => ("SourceNTDomain", 46),
    "sourceDnsDomain" => ("SourceDnsDomain", 47),
    "sourceServiceName" => ("SourceServiceName", 48),
    "sourceTranslatedAddress" => ("SourceTranslatedAddress", 49),
    "sourceTranslatedPort" => ("SourceTranslatedPort", 50),
    "spid" => ("SourceProcessId", 51),
    "spriv" => ("SourceUserPrivileges", 52),
    "sproc" => ("SourceProcessName", 53),
    "spt" => ("SourcePort", 54),
    "src" => ("SourceIP", 55),
    "start" => ("StartTime", 125),
    "suid" => ("SourceUserID", 56),
    "suser" => ("SourceUserName", 57),
    "type" => ("EventType", 58),
};

/// The column a CEF key fills, if it is a mapped key.
#[inline]
pub(super) fn column_for_key(key: &str) -> Option<usize> {
    match short_key(key.as_bytes()) {
        Some(word) if !SHORT_KEYS.slots.is_empty() => SHORT_KEYS.column(word, key.len()),
        _ => KEY_INDEX.get(key).copied(),
    }
}

/// A key of at most eight bytes as one integer. Most CEF keys are this short (`src`, `dpt`,
/// `cs1Label`). From four bytes on, the first four and the last four (overlapping below
/// eight) make the word; shorter keys are zero-padded. Either way two keys of the same length
/// give different words, so a lookup compares the length too.
#[inline]
pub(super) fn short_key(key: &[u8]) -> Option<u64> {
    let four = |at: usize| {
        key.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    match key.len() {
        0..=3 => Some(
            key.iter()
                .enumerate()
                .fold(0u64, |word, (i, &b)| word | u64::from(b) << (8 * i)),
        ),
        4..=8 => Some(u64::from(four(0)?) | u64::from(four(key.len() - 4)?) << 32),
        _ => None,
    }
}

/// The short keys of [`KEYS`] in a table indexed by a perfect hash of their [`short_key`]
/// word: one multiply, one shift, one load and one compare per lookup, with no probing and
/// no call to `memcmp`. A string-keyed hash map cost 4 % of the daemon in the load benchmark
/// (a hashing loop, a probe and `memcmp` per pair), and phf's SipHash more. No crate builds
/// a perfect hash over integers at startup, and the search is a few lines: multipliers are
/// tried from a fixed sequence until one puts every key in a slot of its own.
pub(super) struct ShortKeys {
    pub(super) multiplier: u64,
    /// (word, column index, key length); length 0 marks an empty slot.
    pub(super) slots: Box<[(u64, u16, u8)]>,
}

/// Slots of [`ShortKeys`]: 2^10 for about a hundred keys, so that a collision-free
/// multiplier turns up within a few hundred tries (16 KB of table).
pub(super) const SHORT_KEY_BITS: u32 = 10;

impl ShortKeys {
    fn slot(multiplier: u64, word: u64) -> usize {
        usize::try_from(word.wrapping_mul(multiplier) >> (64 - SHORT_KEY_BITS)).unwrap_or(0)
    }

    /// The table for `keys` (word, column, length), or `None` if no multiplier of the
    /// sequence separates them.
    fn build(keys: &[(u64, usize, usize)]) -> Option<ShortKeys> {
        // SplitMix64: a fixed, well-spread sequence, so every run builds the same table.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            let multiplier = (z ^ (z >> 31)) | 1;
            let mut slots = vec![(0u64, 0u16, 0u8); 1 << SHORT_KEY_BITS].into_boxed_slice();
            let placed = keys.iter().all(|&(word, column, len)| {
                match slots.get_mut(Self::slot(multiplier, word)) {
                    Some(slot) if slot.2 == 0 => {
                        *slot = (
                            word,
                            u16::try_from(column).unwrap_or(u16::MAX),
                            u8::try_from(len).unwrap_or(0),
                        );
                        true
                    }
                    _ => false,
                }
            });
            if placed {
                return Some(ShortKeys { multiplier, slots });
            }
        }
        None
    }

    #[inline]
    fn column(&self, word: u64, len: usize) -> Option<usize> {
        let (stored, column, stored_len) = *self.slots.get(Self::slot(self.multiplier, word))?;
        (stored == word && usize::from(stored_len) == len && len > 0).then_some(usize::from(column))
    }
}

pub(super) static SHORT_KEYS: std::sync::LazyLock<ShortKeys> = std::sync::LazyLock::new(|| {
    let keys: Vec<(u64, usize, usize)> = KEYS
        .entries()
        .filter_map(|(key, (_, column))| Some((short_key(key.as_bytes())?, *column, key.len())))
        .collect();
    // Found in a few hundred tries for the keys of the CEF table (a unit test checks); an
    // empty table would only send every short key down the slower map.
    ShortKeys::build(&keys).unwrap_or(ShortKeys {
        multiplier: 1,
        slots: Box::new([]),
    })
});

/// [`KEYS`] with a fast hash, for keys longer than eight bytes: phf's SipHash cost more than
/// the rest of a key's handling (profile of the load benchmark); Fx hashes a key in a few
/// instructions, and the keys are fixed, so no untrusted input chooses them.
pub(super) static KEY_INDEX: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, usize>> =
    std::sync::LazyLock::new(|| {
        KEYS.entries()
            .map(|(key, (_, index))| (*key, *index))
            .collect()
    });

/// Indices of the columns the special rules read back.
pub(super) struct SpecialColumns {
    pub(super) action: Option<usize>,
    pub(super) direction: Option<usize>,
    /// Columns that hold an IP address.
    pub(super) addresses: [Option<usize>; 5],
    pub(super) source_ip: Option<usize>,
    pub(super) source_port: Option<usize>,
    pub(super) destination_ip: Option<usize>,
    pub(super) destination_port: Option<usize>,
}

pub(super) static SPECIAL: std::sync::LazyLock<SpecialColumns> =
    std::sync::LazyLock::new(|| SpecialColumns {
        action: column_index("DeviceAction"),
        direction: column_index("CommunicationDirection"),
        addresses: [
            "SourceIP",
            "DestinationIP",
            "SourceTranslatedAddress",
            "DestinationTranslatedAddress",
            "DeviceAddress",
        ]
        .map(column_index),
        source_ip: column_index("SourceIP"),
        source_port: column_index("SourcePort"),
        destination_ip: column_index("DestinationIP"),
        destination_port: column_index("DestinationPort"),
    });
