import PPP
import PPTPNetwork
import Testing

@Suite struct IPv4PrefixTests {
    @Test func parsesCIDRAndClearsHostBits() throws {
        let prefix = try #require(IPv4Prefix("203.0.113.77/24"))
        #expect(prefix.address == IPv4Address(203, 0, 113, 0))
        #expect(prefix.length == 24)
        #expect(prefix.contains(IPv4Address(203, 0, 113, 200)))
        #expect(!prefix.contains(IPv4Address(203, 0, 114, 1)))
        #expect(IPv4Prefix("192.0.2.1")?.length == 32)
        #expect(IPv4Prefix("0.0.0.0/0") == IPv4Prefix.any)
    }

    @Test func rejectsMalformedCIDR() {
        for text in ["", "1.2.3.4/", "1.2.3.4/33", "1.2.3/8", "1.2.3.4/-1", "1.2.3.4/+1", "a.b.c.d/1"] {
            #expect(IPv4Prefix(text) == nil, "\(text)")
        }
    }
}
