import Glibc

/// Raises the soft RLIMIT_NOFILE to the hard limit (a server holds one TCP connection per control
/// connection; the usual soft limit of 1 024 would cap it long before its session limit). Returns
/// the soft limit in force afterwards (0 if it cannot be read).
public func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    return Int(clamping: limit.rlim_cur)
}
