import PPTP

/// The control-message stream of one direction of a control connection, with resynchronisation after a hole in
/// the capture or a framing error.
///
/// RFC 2637 §1.4 tells a real peer to close the connection when the framing is lost; a decoder of a capture
/// instead hunts for the next plausible message header (a Length of 12…220, PPTP Message Type 1 and the Magic
/// Cookie 0x1A2B3C4D) and carries on from there.
struct ControlStream: Sendable {
    /// One result of feeding bytes.
    enum Output: Sendable {
        case message(ControlMessage)
        case rejected(PPTPWireError)
        case framingLost(PPTPWireError)
        case resynchronised(skippedOctets: Int)
    }

    private var decoder = ControlStreamDecoder()
    /// Octets held while hunting for a message header; nil while in sync.
    private var hunting: [UInt8]?
    private var skipped = 0

    /// The stream lost octets (a hole the capture never filled): hunt for the next header.
    mutating func gap() {
        if hunting == nil {
            hunting = []
            skipped = decoder.bufferedBytes
        }
        decoder = ControlStreamDecoder()
    }

    /// Appends in-order octets and returns what they completed.
    mutating func append(_ bytes: [UInt8]) -> [Output] {
        var outputs: [Output] = []
        if hunting != nil {
            hunting?.append(contentsOf: bytes)
            guard resynchronise(into: &outputs) else { return outputs }
        } else {
            decoder.append(bytes)
        }
        drain(into: &outputs)
        return outputs
    }

    private mutating func drain(into outputs: inout [Output]) {
        // Each round either decodes a message, waits for more, or loses framing and resynchronises on strictly
        // fewer octets, so this ends.
        while true {
            do {
                guard let output = try decoder.next() else { return }
                switch output {
                case .message(let message): outputs.append(.message(message))
                case .rejected(let error): outputs.append(.rejected(error))
                }
            } catch {
                outputs.append(.framingLost(error))
                // Hunt for the next header from the octet after the one the framing failed on: a message may
                // follow the damage in the same segment.
                let unframed = decoder.unframedOctets
                decoder = ControlStreamDecoder()
                hunting = Array(unframed.dropFirst())
                skipped = min(unframed.count, 1)
                guard resynchronise(into: &outputs) else { return }
            }
        }
    }

    /// Looks for a plausible message header in the hunted octets; on success the decoder restarts there.
    private mutating func resynchronise(into outputs: inout [Output]) -> Bool {
        guard let buffer = hunting else { return true }
        var index = 0
        while index + 8 <= buffer.count {
            let length = Int(buffer[index]) << 8 | Int(buffer[index + 1])
            let type = Int(buffer[index + 2]) << 8 | Int(buffer[index + 3])
            if (12...220).contains(length), type == 1, buffer[index + 4] == 0x1A, buffer[index + 5] == 0x2B,
                buffer[index + 6] == 0x3C, buffer[index + 7] == 0x4D
            {
                outputs.append(.resynchronised(skippedOctets: skipped + index))
                decoder = ControlStreamDecoder()
                decoder.append(buffer[index...])
                hunting = nil
                skipped = 0
                return true
            }
            index += 1
        }
        // Keep the last seven octets: a header may start among them.
        let keep = min(buffer.count, 7)
        skipped += buffer.count - keep
        hunting = Array(buffer.suffix(keep))
        return false
    }
}
