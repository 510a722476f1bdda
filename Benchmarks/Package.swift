// swift-tools-version:6.1
// Benchmarks for the MSCrypto target, kept in their own package so that the main build needs neither OpenSSL
// nor the malloc counter. Run from the repository root:
//   swift run -c release --package-path Benchmarks MSCryptoBenchmarks
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "swift-pptp-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "swift-pptp", path: "..")
    ],
    targets: [
        // The reference implementations measured in the same run: OpenSSL's libcrypto (RC4_set_key/RC4 and
        // SHA1_*, as /work/shared/reference/pptp_toy.c uses them) and the plain C RC4/SHA-1 of rc4_sha1.h; plus a
        // malloc/free counter interposed on glibc's allocator.
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
    ],
    swiftLanguageModes: [.v6]
)
