// swift-tools-version:6.1
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-pptp",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pptp", targets: ["pptp"]),
        .library(name: "MSCrypto", targets: ["MSCrypto"]),
        .library(name: "PPP", targets: ["PPP"]),
        .library(name: "PPTP", targets: ["PPTP"]),
        .library(name: "PPTPCapture", targets: ["PPTPCapture"]),
        .library(name: "PPTPFuzzing", targets: ["PPTPFuzzing"]),
        .library(name: "PPTPNetwork", targets: ["PPTPNetwork"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ],
    targets: [
        // MD4, DES, RC4, NT hash, MS-CHAPv1/v2 (RFC 2433/2759), MPPE keys and cipher (RFC 3078/3079).
        .target(
            name: "MSCrypto",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        // PPP wire codecs (RFC 1661/1662 and the control protocols) and the PPP engines.
        .target(
            name: "PPP",
            dependencies: ["MSCrypto", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: upcoming
        ),
        // PPTP control messages and enhanced GRE (RFC 2637), control/call machines, GRE sequencing.
        .target(
            name: "PPTP",
            dependencies: ["PPP", "MSCrypto", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: upcoming
        ),
        // pcap/pcapng reading, IP/TCP reassembly, decoding and decryption of captured sessions.
        .target(
            name: "PPTPCapture",
            dependencies: ["PPTP", "PPP", "MSCrypto", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: upcoming
        ),
        // The bodies of the libFuzzer targets of Fuzz/, replayed by the regression tests.
        .target(
            name: "PPTPFuzzing",
            dependencies: ["PPTPCapture", "PPTP", "PPP", "MSCrypto", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: upcoming
        ),
        // Linux declarations that Swift's Glibc module hides (mmsg, setns, epoll_pwait2, TUNSETIFF).
        .target(name: "CPPTPNetwork"),
        // The only code with system calls: raw GRE socket, TUN, netlink routes/addresses, DNS, namespaces.
        .target(
            name: "PPTPNetwork",
            dependencies: [
                "CPPTPNetwork", "PPTP", "PPP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: upcoming
        ),
        // The server: configuration, users, address pool, limits, and the composition that runs it.
        .target(
            name: "PPTPServer",
            dependencies: [
                "PPTPNetwork", "PPTP", "PPP", "MSCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: upcoming
        ),
        // The client: connect, routes, DNS, reconnect, diagnoses.
        .target(
            name: "PPTPClient",
            dependencies: [
                "PPTPNetwork", "PPTP", "PPP", "MSCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // Throw-away namespaces with `pptp serve` and `pptp connect`: for `pptp demo`, end-to-end
        // tests and benchmarks.
        .target(
            name: "PPTPTestbed",
            dependencies: ["PPTPNetwork", "PPP", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "pptp",
            dependencies: [
                "PPTPCapture", "PPTPServer", "PPTPClient", "PPTPNetwork", "PPTPTestbed", "PPTP", "PPP", "MSCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PPTPServerTests",
            dependencies: [
                "PPTPServer", "PPTPNetwork", "PPTP", "PPP", "MSCrypto",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PPTPClientTests",
            dependencies: [
                "PPTPClient", "PPTPNetwork", "PPTP", "PPP",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["PPTPTestbed", "PPTPNetwork", "PPTP", "PPP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PPTPNetworkTests",
            dependencies: [
                "PPTPNetwork", "PPTP", "PPP", .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "MSCryptoTests",
            dependencies: ["MSCrypto", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PPPTests",
            dependencies: ["PPP", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PPTPTests",
            dependencies: ["PPTP", "PPP", .product(name: "PropertyBased", package: "swift-property-based")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PPTPCaptureTests",
            dependencies: [
                "PPTPCapture", "PPTPFuzzing", "PPTP", "PPP", "MSCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            exclude: ["FuzzRegressions"],
            swiftSettings: upcoming
        ),
    ],
    swiftLanguageModes: [.v6]
)
