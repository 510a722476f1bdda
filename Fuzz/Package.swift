// swift-tools-version:6.1
// libFuzzer targets for the wire decoders, kept out of the main package so that its build needs no
// `-sanitize=fuzzer` (as swift-nio-ssh and swift-nio-http2 do). See README.md at the repository root.
import PackageDescription

let fuzzTargets = [
    "FuzzControlStream", "FuzzGRE", "FuzzPPP", "FuzzHDLC", "FuzzCapture", "FuzzSession", "FuzzTunnel", "FuzzSecrets",
]

let package = Package(
    name: "swift-pptp-fuzz",
    platforms: [.macOS(.v14)],
    products: fuzzTargets.map { .executable(name: $0, targets: [$0]) } + [
        .executable(name: "FuzzCorpus", targets: ["FuzzCorpus"])
    ],
    dependencies: [
        .package(name: "swift-pptp", path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: fuzzTargets.map {
        .executableTarget(
            name: $0,
            dependencies: [.product(name: "PPTPFuzzing", package: "swift-pptp")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    } + [
        // Extracts seed corpora from the golden captures; built and run without the sanitizer.
        .executableTarget(
            name: "FuzzCorpus",
            dependencies: [
                .product(name: "PPTPCapture", package: "swift-pptp"),
                .product(name: "PPTP", package: "swift-pptp"),
                .product(name: "PPP", package: "swift-pptp"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
