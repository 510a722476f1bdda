import Glibc
import NIOCore
import PPP
import PPTP
import PPTPCapture

// Writes seed corpora for the fuzz targets from the golden captures:
//   swift run --package-path Fuzz FuzzCorpus Tests/Fixtures/captures Fuzz/Corpus
// control/: each direction's control stream; gre/: each GRE packet; ppp/: each PPP frame; hdlc/: PPP frames in
// async-HDLC framing; capture/: the first 4 KiB of each capture.
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    print("usage: FuzzCorpus CAPTURES-DIRECTORY OUTPUT-DIRECTORY")
    exit(64)
}
let input = arguments[1]
let output = arguments[2]

func write(_ bytes: [UInt8], _ folder: String, _ name: String) {
    _ = mkdir(output, 0o755)
    _ = mkdir(output + "/" + folder, 0o755)
    try? CaptureFile.write(ByteBuffer(bytes: bytes), to: "\(output)/\(folder)/\(name)")
}

var paths: [String] = []
if let directory = opendir(input) {
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard !name.hasPrefix(".") else { continue }
        let path = "\(input)/\(name)/\(name).pcap"
        if access(path, R_OK) == 0 { paths.append(path) }
    }
    closedir(directory)
}
var count = 0
for path in paths.sorted() {
    guard let result = try? CaptureReader.readAll(path: path) else { continue }
    let file = String(path.split(separator: "/").last ?? "capture")
    let name = file.hasSuffix(".pcap") ? String(file.dropLast(5)) : file
    var toServer: [UInt8] = []
    var toClient: [UInt8] = []
    var packet = 0
    for event in result.events {
        switch event {
        case .controlData(_, let direction, let bytes, _, _):
            if direction == .toServer { toServer += bytes } else { toClient += bytes }
        case .gre(_, _, let payload, _, _):
            packet += 1
            write(payload, "gre", "\(name)-\(packet)")
            if let gre = try? GREPacket(parsing: ByteBuffer(bytes: payload)), gre.payload.readableBytes > 0 {
                let frame = Array(gre.payload.readableBytesView)
                write(frame, "ppp", "\(name)-\(packet)")
                write(HDLCEncoder(accm: 0).encode(frame + [0, 0]), "hdlc", "\(name)-\(packet)")
            }
        default:
            break
        }
    }
    write(toServer, "control", "\(name)-to-server")
    write(toClient, "control", "\(name)-to-client")
    if let bytes = try? CaptureFile.read(path: path) {
        write(Array(bytes.readableBytesView.prefix(4096)), "capture", name)
    }
    count += 1
}
print("seed corpora from \(count) captures written to \(output)")
