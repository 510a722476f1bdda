import COpenSSLShim
import Glibc
import MSCrypto
import NIOCore
import PPP
import PPTP

// MARK: - Statistics and formatting

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format(_ value: Double, _ digits: Int = 0) -> String {
    guard value.isFinite else { return "–" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    var text = digits == 0 ? String(Int(rounded)) : String(rounded)
    if digits > 0, let dot = text.firstIndex(of: ".") {
        let decimals = text.distance(from: dot, to: text.endIndex) - 1
        text += String(repeating: "0", count: max(0, digits - decimals))
    }
    return text
}

func summary(_ values: [Double], _ digits: Int = 0) -> String {
    "\(format(median(values), digits)) [\(format(values.min() ?? .nan, digits))–\(format(values.max() ?? .nan, digits))]"
}

/// Packets per second in thousands or millions, from ns/packet.
func rate(_ nanoseconds: Double) -> String {
    let perSecond = 1e9 / nanoseconds
    return perSecond >= 1e6 ? "\(format(perSecond / 1e6, 2)) M" : "\(format(perSecond / 1e3, 0)) k"
}
