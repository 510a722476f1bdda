import COpenSSLShim
import Glibc
import MSCrypto
import NIOCore
import PPP
import PPTP

// MARK: - Arguments

let arguments = CommandLine.arguments.dropFirst()
let quick = arguments.contains("--quick")
let runs = max(arguments.compactMap { Int($0) }.first ?? (quick ? 5 : 7), 5)
let only: String? = arguments.firstIndex(of: "--only").flatMap {
    arguments.index(after: $0) < arguments.endIndex ? arguments[arguments.index(after: $0)] : nil
}
let sizes = [64, 512, 1400]
/// Packets per measurement (a multiple of the batch); about 30–120 ms each.
let packetsPerMeasurement = quick ? 4096 : 16384
let batch = 16
let slotSize = 2048
/// Virtual time between two packets (1 µs: about 11 Gbit/s at 1400 bytes, so timers never fire mid-measurement
/// except the ones a real flow would fire).
let packetInterval = TimeAmount.microseconds(1)
