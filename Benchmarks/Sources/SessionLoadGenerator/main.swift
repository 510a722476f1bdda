// Session load generator (issue 8, benchmark 3): N PPTP sessions with MS-CHAPv2 + MPPE-128 brought up to one server
// from one process and held until SIGTERM. See Options.usage, bench/sessions.sh and docs/benchmarks.md.
import Glibc
import PPTPNetwork
import Synchronization

let parsed = Options.parse(Array(CommandLine.arguments.dropFirst()))
let options: Options
switch parsed {
case .success(let value):
    options = value
case .failure(let message):
    if message.isEmpty {
        printOut(Options.usage)
        exit(0)
    }
    printError("SessionLoadGenerator: \(message)\n\n\(Options.usage)")
    exit(2)
}
guard let password = readPassword(options.passwordFile) else {
    printError("SessionLoadGenerator: cannot read a password from \(options.passwordFile)")
    exit(2)
}
let files = raiseOpenFileLimit()
if files < options.connections + options.sources.count + 64 {
    printError(
        "SessionLoadGenerator: RLIMIT_NOFILE is \(files), too low for \(options.connections) control connections; use --calls-per-connection"
    )
    exit(2)
}

_ = terminationRequested.load(ordering: .relaxed)  // initialised before a signal can touch it
let onSignal: @convention(c) (Int32) -> Void = { _ in terminationRequested.store(true, ordering: .relaxed) }
signal(SIGTERM, onSignal)
signal(SIGINT, onSignal)
signal(SIGPIPE, SIG_IGN)

do {
    let generator = try LoadGenerator(options: options, password: password)
    generator.run()
} catch {
    printError("SessionLoadGenerator: \(error)")
    exit(1)
}
