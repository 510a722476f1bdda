// swift-tools-version:6.1
// Benchmarks kept in their own package so that the main build needs neither OpenSSL nor the malloc counter.
// Run from the repository root (bench/run runs them all and writes docs/benchmarks.md):
//   swift run -c release --package-path Benchmarks MSCryptoBenchmarks
//   swift run -c release --package-path Benchmarks DataPathBenchmarks
//   swift build -c release --package-path Benchmarks --product SessionLoadGenerator   (run by bench/sessions.sh)
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-pptp-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "swift-pptp", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // The reference implementations measured in the same run: OpenSSL's libcrypto (RC4_set_key/RC4 and
        // SHA1_*, as /work/shared/reference/pptp_toy.c uses them) and the plain C RC4/SHA-1 of rc4_sha1.h; the
        // per-packet work of pptp_toy.c's data path (reference_datapath.c); plus a malloc/free counter interposed
        // on glibc's allocator.
        .target(
            name: "COpenSSLShim",
            cSettings: [.define("OPENSSL_SUPPRESS_DEPRECATED")],
            linkerSettings: [.linkedLibrary("crypto")]
        ),
        .executableTarget(
            name: "MSCryptoBenchmarks",
            dependencies: [
                "COpenSSLShim",
                .product(name: "MSCrypto", package: "swift-pptp"),
            ],
            swiftSettings: upcoming
        ),
        // The in-process data path: TunnelSession.send / receiveGRE between a client and a server brought up by a
        // real PPP negotiation, against the C reference's per-packet work.
        .executableTarget(
            name: "DataPathBenchmarks",
            dependencies: [
                "COpenSSLShim",
                .product(name: "MSCrypto", package: "swift-pptp"),
                .product(name: "PPP", package: "swift-pptp"),
                .product(name: "PPTP", package: "swift-pptp"),
                .product(name: "PPTPNetwork", package: "swift-pptp"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
        // The session load generator (issue 8, benchmark 3): many PPTP sessions from one process, driving our
        // ControlConnection and TunnelSession engines (SessionTable per source address) from one epoll loop.
        .executableTarget(
            name: "SessionLoadGenerator",
            dependencies: [
                .product(name: "PPP", package: "swift-pptp"),
                .product(name: "PPTP", package: "swift-pptp"),
                .product(name: "PPTPNetwork", package: "swift-pptp"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: upcoming
        ),
    ],
    swiftLanguageModes: [.v6]
)
