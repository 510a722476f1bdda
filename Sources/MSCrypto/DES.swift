/// Single-block DES encryption (FIPS 46-3, ECB mode), only as far as MS-CHAP needs it.
///
/// MS-CHAP uses DES as a one-way function: ChallengeResponse (RFC 2433 §A.7, RFC 2759 §8.5) encrypts an 8-byte
/// challenge under three 7-byte slices of the password hash, and the password-change blocks (RFC 2759 §8.13)
/// encrypt hash halves. The 7-byte (56-bit) keys are spread over 8 bytes with a parity bit in the low bit of each
/// byte (RFC 2759 §8.6, §9.3). Decryption is not needed and not provided. This code is not constant-time (table
/// lookups); it only ever runs a few times per authentication.
public enum DES {
    /// Spreads a 7-byte key over 8 bytes, seven key bits per byte in the high bits, and sets the low bit of each
    /// byte so that every byte has odd parity (RFC 2759 §9.3, RFC 2433 §B.3).
    public static func expandKey(_ key: [UInt8]) throws(MSCryptoError) -> [UInt8] {
        try requireLength(key, 7, .desKey)
        return bytes(of: expandKey(key56: word(of: key)))
    }

    /// DES-encrypts one 8-byte block under an 8-byte key whose parity bits are ignored (FIPS 46-3).
    public static func encrypt(block: [UInt8], key: [UInt8]) throws(MSCryptoError) -> [UInt8] {
        try requireLength(block, 8, .desBlock)
        try requireLength(key, 8, .desKey)
        return bytes(of: encrypt(word(of: block), key: word(of: key)))
    }

    /// DesEncrypt of RFC 2759 §8.6 / RFC 2433 §A.4: encrypts the 8-byte `clear` under the 7-byte `key`, inserting
    /// the parity bits first.
    public static func desEncrypt(clear: [UInt8], key: [UInt8]) throws(MSCryptoError) -> [UInt8] {
        try requireLength(clear, 8, .desBlock)
        try requireLength(key, 7, .desKey)
        return bytes(of: encrypt(word(of: clear), key: expandKey(key56: word(of: key))))
    }

    /// Spreads the low 56 bits of `key56` (the first key byte in bits 55…48) over 64 bits with odd parity.
    static func expandKey(key56: UInt64) -> UInt64 {
        var out: UInt64 = 0
        for index in 0..<8 {
            // Byte `index` takes key bits 7·index … 7·index+6, counting from the most significant of the 56.
            let seven = UInt8(truncatingIfNeeded: key56 >> UInt64(49 - 7 * index)) & 0x7F
            var byte = seven << 1
            // Odd parity: set the low bit when the seven key bits hold an even number of ones.
            if seven.nonzeroBitCount % 2 == 0 {
                byte |= 1
            }
            out = out << 8 | UInt64(byte)
        }
        return out
    }

    /// Encrypts `block` (first byte most significant) under `key` (same order; parity bits ignored).
    static func encrypt(_ block: UInt64, key: UInt64) -> UInt64 {
        let subkeys = keySchedule(key)
        let permuted = permute(block, width: 64, by: initialPermutation)
        var left = UInt32(truncatingIfNeeded: permuted >> 32)
        var right = UInt32(truncatingIfNeeded: permuted)
        // FIPS 46-3: sixteen rounds L' = R, R' = L xor f(R, K).
        for subkey in subkeys {
            (left, right) = (right, left ^ feistel(right, subkey))
        }
        // The last round's halves are swapped back (R16 L16) before the final permutation.
        let preoutput = UInt64(right) << 32 | UInt64(left)
        return permute(preoutput, width: 64, by: finalPermutation)
    }

    /// The cipher function f(R, K): expand, mix in the subkey, substitute through the S-boxes, permute.
    private static func feistel(_ right: UInt32, _ subkey: UInt64) -> UInt32 {
        let mixed = permute(UInt64(right), width: 32, by: expansion) ^ subkey
        var substituted: UInt32 = 0
        for box in 0..<8 {
            let six = Int(truncatingIfNeeded: mixed >> UInt64(42 - 6 * box)) & 0x3F
            // Row from the outer bits b1 b6, column from the inner bits b2…b5.
            let row = (six & 0x20) >> 4 | (six & 0x01)
            let column = (six >> 1) & 0x0F
            substituted = substituted << 4 | UInt32(sBoxes[box][row * 16 + column])
        }
        return UInt32(truncatingIfNeeded: permute(UInt64(substituted), width: 32, by: permutationP))
    }

    /// The sixteen 48-bit subkeys: PC-1, then per round a left rotation of both 28-bit halves and PC-2.
    private static func keySchedule(_ key: UInt64) -> [UInt64] {
        let selected = permute(key, width: 64, by: permutedChoice1)
        var c = UInt32(truncatingIfNeeded: selected >> 28) & 0x0FFF_FFFF
        var d = UInt32(truncatingIfNeeded: selected) & 0x0FFF_FFFF
        var subkeys: [UInt64] = []
        subkeys.reserveCapacity(16)
        for shift in rotations {
            c = ((c << shift) | (c >> (28 - shift))) & 0x0FFF_FFFF
            d = ((d << shift) | (d >> (28 - shift))) & 0x0FFF_FFFF
            subkeys.append(permute(UInt64(c) << 28 | UInt64(d), width: 56, by: permutedChoice2))
        }
        return subkeys
    }

    /// Builds a word whose bits, most significant first, are the input bits named by `table` (FIPS numbering:
    /// bit 1 is the most significant of the `width` input bits).
    private static func permute(_ input: UInt64, width: Int, by table: [UInt8]) -> UInt64 {
        var out: UInt64 = 0
        for position in table {
            out = out << 1 | (input >> UInt64(width - Int(position))) & 1
        }
        return out
    }

    /// The bytes as one big-endian word (first byte most significant); `bytes` has at most 8 elements.
    private static func word(of bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// The 8 bytes of `word`, most significant first.
    private static func bytes(of word: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * $0)) }
    }

    // MARK: FIPS 46-3 tables

    private static let initialPermutation: [UInt8] = [
        58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
        62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
        57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
        61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
    ]

    private static let finalPermutation: [UInt8] = [
        40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31,
        38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21, 61, 29,
        36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27,
        34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49, 17, 57, 25,
    ]

    private static let expansion: [UInt8] = [
        32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9,
        8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17,
        16, 17, 18, 19, 20, 21, 20, 21, 22, 23, 24, 25,
        24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
    ]

    private static let permutationP: [UInt8] = [
        16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
        2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
    ]

    private static let permutedChoice1: [UInt8] = [
        57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
        10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
        63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
        14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
    ]

    private static let permutedChoice2: [UInt8] = [
        14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10,
        23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
        41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48,
        44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
    ]

    /// Left rotations of C and D before each round.
    private static let rotations: [UInt32] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1]

    /// S1…S8, each 4 rows of 16 columns.
    private static let sBoxes: [[UInt8]] = [
        [
            14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
            0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
            4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
            15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
        ],
        [
            15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
            3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
            0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
            13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
        ],
        [
            10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
            13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
            13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
            1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
        ],
        [
            7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
            13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
            10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
            3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
        ],
        [
            2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
            14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
            4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
            11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
        ],
        [
            12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
            10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
            9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
            4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
        ],
        [
            4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
            13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
            1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
            6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
        ],
        [
            13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
            1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
            7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
            2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
        ],
    ]
}
