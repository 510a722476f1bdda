import Testing

@testable import MSCrypto

/// Interoperability with pppd 2.4.9 and the Linux kernel's ppp_mppe, from the golden captures in
/// ../shared/captures: the CHAP values are those of each capture's server-pppd.log, the MPPE packets the first
/// 24 encrypted bytes of GRE payloads in the .pcap (outer PPP protocol 0x00FD, then the MPPE header).
///
/// Each decrypted packet must be the start of the PPP frame the server's ppp0 saw: the protocol 0x0021 (two bytes:
/// the Linux kernel does not compress the protocol inside MPPE) and an IPv4 header between the tunnel addresses.
@Suite struct CaptureInteropTests {
    /// One captured MPPE packet: header and the first encrypted bytes.
    struct Captured {
        var header: UInt16
        var ciphertext: String
    }

    /// Decrypts `packets` in order and checks each against an IPv4 header from `source` to `destination`.
    private func expectIPv4(
        _ packets: [Captured],
        decryptor: inout MPPEDecryptor,
        source: [UInt8],
        destination: [UInt8],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for packet in packets {
            var bytes = hex(packet.ciphertext)
            let result = decryptor.decrypt(header: MPPEHeader(rawValue: packet.header), ciphertext: &bytes)
            #expect(result.isSuccess, "\(packet.header): \(result)", sourceLocation: sourceLocation)
            // RFC 3078 §3.1: the plaintext starts with the PPP protocol 0x0021, then RFC 791's version/IHL 0x45.
            #expect(Array(bytes.prefix(3)) == [0x00, 0x21, 0x45], "\(packet.header)", sourceLocation: sourceLocation)
            #expect(Array(bytes[14..<18]) == source, sourceLocation: sourceLocation)
            #expect(Array(bytes[18..<22]) == destination, sourceLocation: sourceLocation)
        }
    }

    static let serverTunnel: [UInt8] = [203, 0, 113, 1]

    /// Capture 01: MS-CHAPv2 (alice / Alice-Secret-1) and MPPE-128 stateless.
    @Test func msCHAPv2AndMPPE128MatchPppdCapture01() throws {
        let hash = NTPasswordHash(password: "Alice-Secret-1")
        let authenticatorChallenge = hex("0d3c4ed434e15d96d9630cfcc9d1d058")
        let peerChallenge = hex("2ead235b996893cee6da607f3eb3f473")
        let ntResponse = hex("7f3f41ea2a4876ff83a0608bd53184f4553527ce1ad6fec3")
        let computed = try MSCHAPv2.generateNTResponse(
            authenticatorChallenge: authenticatorChallenge,
            peerChallenge: peerChallenge,
            userName: "alice",
            passwordHash: hash
        )
        #expect(computed == ntResponse)
        let success = try MSCHAPv2.generateAuthenticatorResponse(
            passwordHash: hash,
            ntResponse: ntResponse,
            peerChallenge: peerChallenge,
            authenticatorChallenge: authenticatorChallenge,
            userName: "alice"
        )
        #expect(success.string == "S=2600A6CD0580392F8A51055477EB43E1A1578F10")

        let server = try MPPEKeys.msCHAPv2(
            passwordHash: hash,
            ntResponse: ntResponse,
            strength: .bits128,
            isServer: true
        )
        let client = try MPPEKeys.msCHAPv2(
            passwordHash: hash,
            ntResponse: ntResponse,
            strength: .bits128,
            isServer: false
        )
        var atServer = MPPEDecryptor(key: server.receive, mode: .stateless)
        self.expectIPv4(
            [
                Captured(header: 0x9000, ciphertext: "95643e2ee020001b06679f3a7e4ccd731f220ef18d7418fd"),
                Captured(header: 0x9001, ciphertext: "13ef4650ee63a4f9c255f6ff656219a18a6f64f909538d6c"),
                Captured(header: 0x9002, ciphertext: "8d7f9ffc8fa0b20cea226d64e8fea92c3e189d3a9fb3f6b1"),
                Captured(header: 0x9003, ciphertext: "a1214a32044d6d57cdb2a8f995a472882a772f6a0e5ab3c2"),
            ],
            decryptor: &atServer,
            source: [203, 0, 113, 11],
            destination: Self.serverTunnel
        )
        var atClient = MPPEDecryptor(key: client.receive, mode: .stateless)
        self.expectIPv4(
            [
                Captured(header: 0x9000, ciphertext: "0f512de9d7da6580e02243a4ae79e36405bbf29e95b28f83"),
                // 0x9001 skipped: one key change more before 0x9002.
                Captured(header: 0x9002, ciphertext: "702c4f314e6abed40ddec9de86c2216dcec1d4ef4dab0799"),
                Captured(header: 0x9003, ciphertext: "b828532476368012579552f21057f02c35b9076cff7b4787"),
            ],
            decryptor: &atClient,
            source: Self.serverTunnel,
            destination: [203, 0, 113, 11]
        )
    }

    /// Capture 02: MS-CHAPv2 (bob / Bob-Pass-40) and MPPE-40 stateless.
    @Test func mppe40MatchesPppdCapture02() throws {
        let hash = NTPasswordHash(password: "Bob-Pass-40")
        let ntResponse = hex("70da5f086e8fe7e349b865cea21b57f232e9e6f84a9be95f")
        #expect(
            MSCHAPv2.verifyNTResponse(
                ntResponse,
                authenticatorChallenge: hex("0e592dbcc8072c33962ca29b04bd0e62"),
                peerChallenge: hex("a041cc406809339ecaeda96e6991b0db"),
                userName: Array("bob".utf8),
                passwordHash: hash
            )
        )
        let server = try MPPEKeys.msCHAPv2(
            passwordHash: hash,
            ntResponse: ntResponse,
            strength: .bits40,
            isServer: true
        )
        let client = try MPPEKeys.msCHAPv2(
            passwordHash: hash,
            ntResponse: ntResponse,
            strength: .bits40,
            isServer: false
        )
        var atServer = MPPEDecryptor(key: server.receive, mode: .stateless)
        self.expectIPv4(
            [
                Captured(header: 0x9000, ciphertext: "c217afbd779c94784ab5851936eb497e750dcb818e84cb14"),
                Captured(header: 0x9001, ciphertext: "4afd016c996f39c7552f5d2a09cfd4833d27547f497ba860"),
            ],
            decryptor: &atServer,
            source: [203, 0, 113, 12],
            destination: Self.serverTunnel
        )
        var atClient = MPPEDecryptor(key: client.receive, mode: .stateless)
        self.expectIPv4(
            [Captured(header: 0x9000, ciphertext: "b688b4768975431b2423ce1d90e15f499a1becaf5f37087e")],
            decryptor: &atClient,
            source: Self.serverTunnel,
            destination: [203, 0, 113, 12]
        )
    }

    /// Capture 05: MS-CHAPv1 (erin / Erin-MSCHAPv1) and MPPE-128 stateless with pppd's NT-hash keys, the same
    /// key in both directions (so the first packets of each direction share keystream, as the capture shows).
    @Test func msCHAPv1AndMPPE128MatchPppdCapture05() throws {
        let hash = NTPasswordHash(password: "Erin-MSCHAPv1")
        let challenge = hex("177f19b5ad53b530")
        let value = try MSCHAPv1.responseValue(challenge: challenge, passwordHash: hash)
        #expect(
            value
                == hex(
                    "000000000000000000000000000000000000000000000000c46579e8ed8066027b6aede755db8eb74d7f13526cafd9b401"
                )
        )
        let keys = try MPPEKeys.msCHAPv1(passwordHash: hash, challenge: challenge, strength: .bits128)
        var atServer = MPPEDecryptor(key: keys.receive, mode: .stateless)
        self.expectIPv4(
            [
                Captured(header: 0x9000, ciphertext: "a0f4c66d6267066ba4b5f66bd8d20e8ea1b421f0f00ee85b"),
                Captured(header: 0x9001, ciphertext: "25d1853f03307d4a9e8708976ea123802e34586785224554"),
            ],
            decryptor: &atServer,
            source: [203, 0, 113, 16],
            destination: Self.serverTunnel
        )
        var atClient = MPPEDecryptor(key: keys.send, mode: .stateless)
        self.expectIPv4(
            [Captured(header: 0x9000, ciphertext: "a0f4c66d62671d7ee4b5f66b07a10e8ea1a521f0f01fe05b")],
            decryptor: &atClient,
            source: Self.serverTunnel,
            destination: [203, 0, 113, 16]
        )
    }

    /// Capture 10: client→server GRE packets 20 and 21 (coherency counts 9 and 10) arrived swapped. With a
    /// late-key cache the decryptor still decrypts count 9 after count 10; without one it reports it late.
    @Test func lateKeyCacheDecryptsReorderedPacketOfCapture10() throws {
        let hash = NTPasswordHash(password: "Alice-Secret-1")
        let ntResponse = hex("10ac94a849a885c03a7173a3fb05a9693bdc1c151c6b655c")
        let server = try MPPEKeys.msCHAPv2(
            passwordHash: hash,
            ntResponse: ntResponse,
            strength: .bits128,
            isServer: true
        )
        // In capture order (the ones up to count 8 are ICMP echo requests and the TCP handshake).
        let inOrder = [
            Captured(header: 0x9000, ciphertext: "1097c6634df45fe7d2c4946dd4ddfbd6f77ebec25e1f3660"),
            Captured(header: 0x9001, ciphertext: "644701c05554e5ca19c626ef1ec8391f7159c071c5519644"),
            Captured(header: 0x9002, ciphertext: "c7c159b42789b649d2f2745ce4131966197021bdfeaecb71"),
            Captured(header: 0x9003, ciphertext: "bbe8d53970515bdb0da6804bb0de0292df82a543c22d7489"),
            Captured(header: 0x9004, ciphertext: "e7350a643441789cd00fc2ca7cf84f8d94c3ba035141ef8f"),
            Captured(header: 0x9005, ciphertext: "bcb7829d1f665f69df3ac748f9d7f2c796b060f557b56d51"),
            Captured(header: 0x9006, ciphertext: "2be18a77c5f1150e5cebfdd4a0e9955b6e5db27ad998f624"),
            Captured(header: 0x9007, ciphertext: "d2244a5db8b05cfa53ad8ef79cae12790f3492e74db0909f"),
            Captured(header: 0x9008, ciphertext: "ab38b81d46e8fbf12dbc5c79078ca822169fe04d890a092e"),
            Captured(header: 0x900A, ciphertext: "33829ee1ff477724236b604f9d666755780b1bf53536e192"),
        ]
        let late = Captured(header: 0x9009, ciphertext: "82bb5e51c37192e605ce0b149a3bed150bc2051e1bab08f3")
        let next = Captured(header: 0x900B, ciphertext: "de1d31f58d1bf2ad639ad4577c956be3b34090782776a54f")
        let client: [UInt8] = [203, 0, 113, 11]

        var withCache = MPPEDecryptor(key: server.receive, mode: .stateless, lateKeyCacheSize: 8)
        self.expectIPv4(inOrder, decryptor: &withCache, source: client, destination: Self.serverTunnel)
        var bytes = hex(late.ciphertext)
        #expect(withCache.decrypt(header: MPPEHeader(rawValue: late.header), ciphertext: &bytes) == .success(.late))
        #expect(Array(bytes.prefix(3)) == [0x00, 0x21, 0x45])
        #expect(Array(bytes[14..<18]) == client)
        self.expectIPv4([next], decryptor: &withCache, source: client, destination: Self.serverTunnel)

        var withoutCache = MPPEDecryptor(key: server.receive, mode: .stateless)
        self.expectIPv4(inOrder, decryptor: &withoutCache, source: client, destination: Self.serverTunnel)
        bytes = hex(late.ciphertext)
        let result = withoutCache.decrypt(header: MPPEHeader(rawValue: late.header), ciphertext: &bytes)
        #expect(result == .failure(.late(coherencyCount: 9, behind: 1)))
        self.expectIPv4([next], decryptor: &withoutCache, source: client, destination: Self.serverTunnel)
    }
}
