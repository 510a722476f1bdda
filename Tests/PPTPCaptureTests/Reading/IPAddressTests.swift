import PropertyBased
import Testing

@testable import PPTPCapture

@Suite struct IPAddressTests {
    @Test(arguments: [
        // RFC 5952 §4 and §5 examples, plus the edges of the "::" rule.
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // §4.2.2: one zero group is not shortened
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // §4.2.3: the longest run
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // §4.2.3: the first of equal runs
        ("2001:DB8::AbCd", "2001:db8::abcd"),  // §4.3: lower case
        ("0:0:0:0:0:0:0:0", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),  // §5: IPv4-mapped
        ("::192.0.2.1", "::c000:201"),
        ("fe80::1:2:3:4", "fe80::1:2:3:4"),
        ("192.0.2.1", "192.0.2.1"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
    ])
    func printsTheCanonicalForm(input: String, expected: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == expected)
        #expect(IPAddress(expected) == address)
        #expect(IPAddress(octets: address.octets) == address)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-4", "::1::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::",
        "12345::", "g::", ":1", "1:", ":::", "1.2.3.4::", "::1.2.3", "fe80::1%eth0", "2001:db8::/32",
    ])
    func rejectsMalformedText(input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func roundTripsEveryAddressThroughText() async {
        await propertyCheck(count: 500, input: Gen.uint64(), Gen.uint64(), Gen.int(in: 0...3)) { high, low, shape in
            // Mix in zero runs so that "::" is exercised.
            let masks: [UInt64] = [.max, 0xFFFF_0000_FFFF_FFFF, 0x0000_0000_FFFF_0000, 0]
            let address = IPAddress.v6(high: high & masks[shape], low: low & masks[(shape + 1) % 4])
            #expect(IPAddress(address.description) == address)
            let v4 = IPAddress.v4(UInt32(truncatingIfNeeded: high))
            #expect(IPAddress(v4.description) == v4)
        }
    }

    @Test func ordersIPv4BeforeIPv6() {
        #expect(IPAddress.v4(10, 0, 0, 1) < IPAddress.v4(10, 0, 0, 2))
        #expect(IPAddress.v4(255, 255, 255, 255) < IPAddress.v6(high: 0, low: 0))
        #expect(IPAddress.v4(1, 2, 3, 4).octets == [1, 2, 3, 4])
        #expect(IPAddress(octets: [1, 2, 3]) == nil)
    }
}

@Suite struct CaptureTimestampTests {
    @Test func carriesNanosecondsAndPrintsNineDigits() {
        let time = CaptureTimestamp(seconds: 5, nanoseconds: 2_000_000_001)
        #expect(time == CaptureTimestamp(seconds: 7, nanoseconds: 1))
        #expect(time.description == "7.000000001")
        #expect(time.timeInterval == 7.000000001)
    }

    @Test func addsAndSubtractsDurations() {
        let time = CaptureTimestamp(seconds: 10, nanoseconds: 900_000_000)
        #expect(time.advanced(by: .milliseconds(200)) == CaptureTimestamp(seconds: 11, nanoseconds: 100_000_000))
        #expect(time.advanced(by: .milliseconds(-950)) == CaptureTimestamp(seconds: 9, nanoseconds: 950_000_000))
        #expect(time.duration(to: CaptureTimestamp(seconds: 12, nanoseconds: 0)) == .milliseconds(1100))
        #expect(CaptureTimestamp(seconds: 12, nanoseconds: 0).duration(to: time) == .milliseconds(-1100))
        // Saturates instead of trapping.
        #expect(CaptureTimestamp(seconds: .max, nanoseconds: 0).advanced(by: .seconds(10)).seconds == .max)
        #expect(CaptureTimestamp(seconds: .min, nanoseconds: 0).advanced(by: .seconds(-10)).seconds == .min)
        #expect(
            CaptureTimestamp(seconds: .min, nanoseconds: 0).duration(
                to: CaptureTimestamp(seconds: .max, nanoseconds: 0)
            ) == .seconds(Int64.max)
        )
    }
}
