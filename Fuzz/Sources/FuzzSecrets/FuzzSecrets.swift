import PPTPFuzzing

/// libFuzzer entry point: `FuzzEntryPoints.secrets` on every input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start, count > 0 else {
        FuzzEntryPoints.secrets([])
        return 0
    }
    FuzzEntryPoints.secrets(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}

/// SwiftPM links executables with `main` renamed to `<Target>_main`; hand control to libFuzzer's driver there.
@_cdecl("FuzzSecrets_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzOneInput)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
